//! The plan signature: BLAKE3 over the canonical byte encoding of what
//! decides a traversal's rows and order (table, schema generation, access
//! path, filter, order key, strategy, projection, merge mode, shards, cursor
//! kind), truncated to 128 bits. Limit, offset and budgets are deliberately
//! left out so a client may change its page size between pages.

use keyset_store::bin::{write_str, write_varint};

use crate::access::AccessPath;
use crate::canonical::{canonical_predicate, canonicalize, encode_path, encode_predicate};
use crate::expr::Predicate;
use crate::plan::{OrderStrategy, Plan, PlanSignature, ShardSet};
use crate::query::{MergeMode, SortDirection};

/// Domain separation: a signature of another format version never matches.
const SIGNATURE_DOMAIN: &[u8] = b"keyset plan signature v1";

/// The plan's signature. The access path and the filter are put in
/// canonical form first, so permuting AND/OR children never changes it.
pub fn signature(plan: &Plan) -> PlanSignature {
    hash(&signed_bytes(plan))
}

/// The signature of a plan whose access path and filter are already in
/// canonical form (as `replan_with` builds them): the same value as
/// [`signature`], without putting them in canonical form again.
pub(crate) fn signature_of_canonical(plan: &Plan) -> PlanSignature {
    debug_assert_eq!(
        canonicalize(plan.access.clone()),
        plan.access,
        "the access path is canonical"
    );
    hash(&encode(plan, &plan.access, plan.filter.as_ref()))
}

fn hash(bytes: &[u8]) -> PlanSignature {
    let hash = blake3::hash(bytes);
    let mut out = [0u8; 16];
    out.copy_from_slice(&hash.as_bytes()[..16]);
    PlanSignature(out)
}

/// The canonical byte encoding the signature hashes.
pub fn signed_bytes(plan: &Plan) -> Vec<u8> {
    let access = canonicalize(plan.access.clone());
    let filter = plan.filter.clone().map(canonical_predicate);
    encode(plan, &access, filter.as_ref())
}

/// The signed bytes, given the plan's access path and filter in canonical
/// form.
fn encode(plan: &Plan, access: &AccessPath, filter: Option<&Predicate>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(SIGNATURE_DOMAIN);
    let table = &plan.table;
    out.extend_from_slice(&table.id.to_be_bytes());
    write_str(&table.name, &mut out);
    out.extend_from_slice(&table.generation.to_be_bytes());

    encode_path(access, &mut out);
    match filter {
        None => out.push(0),
        Some(filter) => {
            out.push(1);
            encode_predicate(filter, &mut out);
        }
    }

    write_varint(plan.order.len() as u64, &mut out);
    for term in &plan.order {
        write_varint(term.column as u64, &mut out);
        out.push(match term.direction {
            SortDirection::Asc => 1,
            SortDirection::Desc => 2,
        });
    }
    out.push(match plan.strategy {
        OrderStrategy::Stream(keyset_store::Direction::Asc) => 1,
        OrderStrategy::Stream(keyset_store::Direction::Desc) => 2,
        OrderStrategy::TopK => 3,
    });

    write_varint(plan.projection.len() as u64, &mut out);
    for column in &plan.projection {
        write_varint(*column as u64, &mut out);
    }
    out.push(match plan.merge {
        MergeMode::OrderedStreaming => 1,
        MergeMode::UnorderedStreaming => 2,
        MergeMode::OrderedEager => 3,
    });
    match &plan.shards {
        ShardSet::All => out.push(0),
        ShardSet::Only(shards) => {
            out.push(1);
            write_varint(shards.len() as u64, &mut out);
            for shard in shards {
                write_varint(*shard as u64, &mut out);
            }
        }
    }
    out.push(plan.cursor_kind.code());
    out
}
