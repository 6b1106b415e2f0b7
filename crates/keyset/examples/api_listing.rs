//! A paged API listing on keyset, the way a web handler would serve
//! `GET /products?category=lamps&page_size=4&page_token=...`.
//!
//! `list_products` is the handler's body: it builds the query with the
//! typed builder (no SQL text, so no injection), resumes from the opaque
//! page token the client sent back, and answers with the items and the
//! tokens of the next and previous pages. `main` walks every page forward,
//! then back again, and shows what a tampered token gets.
//!
//! Run it with `cargo run -p keyset --example api_listing`.

use keyset::{col, Cursor, Db, Error, Query, SortDirection, Value};
use serde::Deserialize;

/// What the client may filter on.
#[derive(Debug, Default)]
struct ProductFilter {
    category: Option<String>,
    max_price: Option<f64>,
    in_stock_only: bool,
}

/// One item of the listing, read from a row by column name.
#[derive(Debug, Deserialize)]
struct Product {
    id: i64,
    name: String,
    category: String,
    price: f64,
    stock: i64,
}

/// The response body.
#[derive(Debug)]
struct ListResponse {
    items: Vec<Product>,
    /// Send this back to get the next page; `None` on the last page.
    next_page_token: Option<String>,
    /// Send this back to get the previous page; `None` on the first page.
    prev_page_token: Option<String>,
}

/// What the handler turns into an HTTP status.
#[derive(Debug)]
enum ApiError {
    /// 400: the token was forged, damaged, or belongs to another listing.
    BadPageToken(String),
    /// 500: anything else.
    Internal(Error),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::BadPageToken(why) => write!(f, "400 Bad Request: invalid page_token: {why}"),
            ApiError::Internal(e) => write!(f, "500 Internal Server Error: {e}"),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidCursor(why) => ApiError::BadPageToken(why.to_string()),
            other => ApiError::Internal(other),
        }
    }
}

/// Page sizes the API accepts; a client asking for more gets the maximum.
const MAX_PAGE_SIZE: usize = 100;

/// The listing: cheapest first, ties by id. The page size may change from
/// one call to the next; the filter may not (a token is tied to its query).
fn list_products(
    db: &Db,
    filter: &ProductFilter,
    page_token: Option<&str>,
    page_size: usize,
) -> Result<ListResponse, ApiError> {
    let mut query = Query::table("products")
        .columns(&["id", "name", "category", "price", "stock"])
        .order_by("price", SortDirection::Asc)
        .order_by("id", SortDirection::Asc)
        .limit(page_size.clamp(1, MAX_PAGE_SIZE));
    if let Some(category) = &filter.category {
        query = query.filter(col("category").eq(category.as_str()));
    }
    if let Some(max_price) = filter.max_price {
        query = query.filter(col("price").le(max_price));
    }
    if filter.in_stock_only {
        query = query.filter(col("stock").gt(0));
    }
    let cursor = page_token
        .map(|token| token.parse::<Cursor>().map_err(Error::from))
        .transpose()?;
    let page = db.query_with(&query, cursor.as_ref())?;
    let items = page
        .rows()
        .iter()
        .map(|row| row.deserialize::<Product>())
        .collect::<Result<_, _>>()?;
    Ok(ListResponse {
        items,
        next_page_token: page.next_cursor().map(ToString::to_string),
        prev_page_token: page.prev_cursor().map(ToString::to_string),
    })
}

/// A small catalog: a few categories, repeated prices, some sold out.
fn load_catalog(db: &Db) -> Result<(), Error> {
    db.execute(
        "CREATE TABLE products (id INT PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL, \
         price FLOAT NOT NULL, stock INT NOT NULL) WITH (shards = 2)",
    )?;
    db.execute("CREATE INDEX by_category_price ON products (category, price)")?;
    let categories = ["lamps", "chairs", "desks"];
    let mut batch = db.batch();
    for id in 1..=30_i64 {
        let category = categories[(id % 3) as usize];
        let price = 10.0 + ((id * 7) % 9) as f64 * 2.5;
        batch = batch.put(
            "products",
            vec![
                Value::Int(id),
                Value::from(format!("{category} #{id}")),
                Value::from(category),
                Value::Float(price),
                Value::Int((id * 5) % 4),
            ],
        );
    }
    batch.commit()?;
    Ok(())
}

fn print_page(label: &str, response: &ListResponse) {
    println!("{label}: {} items", response.items.len());
    for p in &response.items {
        println!(
            "    #{:<3} {:<12} {:<7} {:>6.2}  stock {}",
            p.id, p.name, p.category, p.price, p.stock
        );
    }
    let short = |t: &Option<String>| match t {
        Some(t) => format!("…{}", &t[t.len().saturating_sub(12)..]),
        None => "none".to_owned(),
    };
    println!(
        "    next_page_token: {}  prev_page_token: {}",
        short(&response.next_page_token),
        short(&response.prev_page_token)
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = Db::memory()?;
    load_catalog(&db)?;
    let filter = ProductFilter {
        category: Some("lamps".into()),
        max_price: Some(25.0),
        in_stock_only: true,
    };
    let page_size = 3;
    let run = |token: Option<&str>| {
        list_products(&db, &filter, token, page_size).map_err(|e| e.to_string())
    };

    println!("GET /products?category=lamps&max_price=25&in_stock=true&page_size={page_size}\n");
    let mut forward = vec![run(None)?];
    while let Some(token) = forward.last().and_then(|p| p.next_page_token.clone()) {
        forward.push(run(Some(&token))?);
    }
    for (i, page) in forward.iter().enumerate() {
        print_page(&format!("page {}", i + 1), page);
    }

    println!("\n...and back again with prev_page_token:\n");
    let mut back = forward.last().and_then(|p| p.prev_page_token.clone());
    let mut number = forward.len();
    while let Some(token) = back {
        number -= 1;
        let page = run(Some(&token))?;
        let same = page
            .items
            .iter()
            .map(|p| p.id)
            .eq(forward[number - 1].items.iter().map(|p| p.id));
        print_page(&format!("page {number} (same as forward: {same})"), &page);
        back = page.prev_page_token;
    }

    println!("\nA client that edits its token:");
    let token = forward[0].next_page_token.clone().unwrap_or_default();
    let tampered: String = token
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 10 {
                if c == 'x' {
                    'y'
                } else {
                    'x'
                }
            } else {
                c
            }
        })
        .collect();
    match list_products(&db, &filter, Some(&tampered), page_size) {
        Err(e) => println!("    {e}"),
        Ok(_) => println!("    (accepted?!)"),
    }
    println!("A client that reuses a token with another filter:");
    let other = ProductFilter {
        category: Some("chairs".into()),
        ..ProductFilter::default()
    };
    match list_products(&db, &other, Some(&token), page_size) {
        Err(e) => println!("    {e}"),
        Ok(_) => println!("    (accepted?!)"),
    }
    Ok(())
}
