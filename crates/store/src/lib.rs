//! keyset-store: values, the order-preserving key codec, the schema catalog,
//! versioned maps (memtables over sorted runs, `lsm`), read views, shards,
//! batches and (with durability) the WAL and snapshots.
//!
//! The store knows keys and rows, not queries: it offers ordered ranges over
//! raw keys in both directions and a serialized commit path. Planning,
//! paging and cursors live in the layers above and never reach around it.

pub mod batch;
pub mod bin;
pub mod catalog;
pub mod codec;
pub mod durable;
pub mod error;
pub mod key;
pub mod lsm;
pub mod maintenance;
pub mod map;
pub mod remote;
pub mod row;
pub mod store;
pub mod table;
pub mod value;
pub mod view;

pub use batch::{resolve_delete, resolve_put, Batch, BatchOp, RowInput, WriteOp};
pub use catalog::{Catalog, ColumnDef, IndexDef, IndexSpec, TableDef, TableSpec};
pub use codec::CodecError;
pub use durable::{
    CheckpointInfo, DurableStore, Options as DurableOptions, RecoveryReport, SyncMode,
};
pub use error::{Result, StoreError};
pub use key::{
    DecodedDataKey, DecodedIndexKey, IndexId, IndexKeyHeader, RawDataKey, RawIndexKey, TableId,
    MAX_INDEX_COLUMNS, MAX_KEY_BYTES,
};
pub use lsm::{MapCounts, MapCursor, PinHandle, PinLost, Retention, Seq, LATEST};
pub use maintenance::{StoreOptions, StoreStats};
pub use map::Direction;
pub use remote::{ChunkSource, MapAt, RemoteMap, SourceError};
pub use row::{Row, RowRef, MAX_ROW_BYTES};
pub use store::{CommitInfo, CommitLog, Mutation, ReadView, Store, StoreState};
pub use table::{MapId, RowMap, ShardStore, TableStore};
pub use value::{ColumnType, Value};
pub use view::{MapView, Overlay, ShardView, TableView};
