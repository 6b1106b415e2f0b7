//! `Row::deserialize` reads a row into a user struct by column name:
//! Option fields take NULL, renamed fields and every column type work,
//! and a missing column or a value of the wrong type is an
//! `Error::Deserialize` that names the field.
#![allow(clippy::unwrap_used)]

use keyset::{Db, Error};
use serde::Deserialize;

fn db() -> Db {
    let db = Db::memory().unwrap();
    db.execute("CREATE TABLE items (id INT PRIMARY KEY, title TEXT, price FLOAT, stock INT, active BOOL, tag BYTES)")
        .unwrap();
    db.execute(
        "INSERT INTO items VALUES (1, 'lamp', 19.5, 3, TRUE, X'CAFE'), \
         (2, NULL, NULL, NULL, NULL, NULL)",
    )
    .unwrap();
    db
}

#[derive(Debug, PartialEq, Deserialize)]
struct Item {
    id: i64,
    title: Option<String>,
    price: Option<f64>,
    #[serde(rename = "stock")]
    in_stock: Option<u32>,
    active: Option<bool>,
}

#[test]
fn rows_deserialize_into_structs_with_option_fields() {
    let db = db();
    let page = db.query("SELECT * FROM items ORDER BY id", None).unwrap();
    let items: Vec<Item> = page
        .rows()
        .iter()
        .map(|r| r.deserialize().unwrap())
        .collect();
    assert_eq!(
        items,
        [
            Item {
                id: 1,
                title: Some("lamp".into()),
                price: Some(19.5),
                in_stock: Some(3),
                active: Some(true),
            },
            Item {
                id: 2,
                title: None,
                price: None,
                in_stock: None,
                active: None,
            },
        ]
    );
}

/// The natural Rust type of a BYTES column is `Vec<u8>`, but serde's
/// `Vec<u8>` asks for a sequence and the row deserializer offers only
/// `visit_bytes` (crates/keyset/src/de.rs has no `deserialize_seq` for
/// `Value::Bytes`).
#[test]

fn a_bytes_column_deserializes_into_vec_u8() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Tagged {
        tag: Option<Vec<u8>>,
    }
    let db = db();
    let page = db.query("SELECT tag FROM items ORDER BY id", None).unwrap();
    let got: Vec<Tagged> = page
        .rows()
        .iter()
        .map(|r| r.deserialize().unwrap())
        .collect();
    assert_eq!(
        got,
        [
            Tagged {
                tag: Some(vec![0xca, 0xfe])
            },
            Tagged { tag: None }
        ]
    );
}

#[test]
fn a_projection_fills_only_what_it_selects() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Title {
        title: String,
        // Not selected: an Option field is None, as serde does for a missing Option.
        price: Option<f64>,
    }
    let db = db();
    let page = db
        .query("SELECT title FROM items WHERE id = 1", None)
        .unwrap();
    let got: Title = page.rows()[0].deserialize().unwrap();
    assert_eq!(
        got,
        Title {
            title: "lamp".into(),
            price: None
        }
    );
}

#[test]
fn a_missing_column_or_a_wrong_type_is_an_error_naming_the_field() {
    #[derive(Debug, Deserialize)]
    struct NeedsStock {
        #[allow(dead_code)]
        stock: i64,
    }
    let db = db();
    let page = db
        .query("SELECT id, title FROM items WHERE id = 1", None)
        .unwrap();
    let err = page.rows()[0].deserialize::<NeedsStock>().unwrap_err();
    assert!(matches!(err, Error::Deserialize(_)), "{err:?}");
    assert!(err.to_string().contains("missing field `stock`"), "{err}");

    #[derive(Debug, Deserialize)]
    struct TitleAsNumber {
        #[allow(dead_code)]
        title: i64,
    }
    let err = page.rows()[0].deserialize::<TitleAsNumber>().unwrap_err();
    assert!(matches!(err, Error::Deserialize(_)), "{err:?}");
    assert!(err.to_string().contains("lamp"), "names the value: {err}");

    // NULL into a field that is not an Option.
    let page = db
        .query("SELECT id, title FROM items WHERE id = 2", None)
        .unwrap();
    #[derive(Debug, Deserialize)]
    struct NeedsTitle {
        #[allow(dead_code)]
        title: String,
    }
    let err = page.rows()[0].deserialize::<NeedsTitle>().unwrap_err();
    assert!(matches!(err, Error::Deserialize(_)), "{err:?}");
}
