//! The SQL `#[projection]` generates, run on PostgreSQL: a table with every supported
//! column type is created, filled, read back by key, by page and by an indexed column,
//! updated and emptied again, with every value passing through JSON as the runner passes
//! it (rows as objects keyed by column, keys as objects of the key columns).
//!
//! The read models here are global, so their statements run as they are written; the
//! statements of a tenant-scoped table (a `tenant_id` first in every key and row, and
//! `$3` the tenant of a page or a finder) run through the runner and `PgReadModels` in
//! `postgres_projection.rs`.

use acci_core::ProjectionError;
use acci_core::prelude::*;
use acci_schema::postgres::TableSql;
use acci_tests::pg::TestDatabase;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

#[event]
struct DeviceTouched {}

/// Stored as one `jsonb` column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Settings {
    theme: String,
    volume: u8,
    shortcuts: Vec<String>,
}

/// Every supported column type; the key is composite, one column is renamed, and one is
/// called `r`, like the alias the generated `SELECT`s give the table.
#[projection(global, table = "device_view", events(DeviceTouched))]
#[derive(PartialEq)]
struct DeviceView {
    #[projection(key)]
    tenant: String,
    #[projection(key)]
    id: Uuid,
    #[projection(index)]
    name: String,
    #[projection(column = "is_online")]
    online: bool,
    small: i16,
    medium: i32,
    large: i64,
    byte: u8,
    port: u16,
    count: u32,
    ratio: f32,
    precise: f64,
    seen_at: DateTime<Utc>,
    born_on: NaiveDate,
    local_time: NaiveDateTime,
    extra: Value,
    nickname: Option<String>,
    last_seen: Option<DateTime<Utc>>,
    tags: Vec<String>,
    readings: Vec<f64>,
    ids: Option<Vec<Uuid>>,
    #[projection(json)]
    settings: Settings,
    #[projection(json)]
    previous: Option<Settings>,
    #[projection(index)]
    r: String,
}

impl ProjectKey<DeviceTouched> for DeviceView {
    fn key(event: &Recorded<DeviceTouched>) -> Result<(String, Uuid), ProjectionError> {
        let id = event
            .stream
            .aggregate_id
            .as_str()
            .parse()
            .map_err(|e| ProjectionError::key(event, format!("not a UUID: {e}")))?;
        Ok((event.stream.tenant.to_string(), id))
    }
}

impl Project<DeviceTouched> for DeviceView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<DeviceTouched>) {}
}

/// Every column is a key: an upsert of a row that exists does nothing.
#[projection(global, table = "device_tags", events(DeviceTouched))]
struct DeviceTag {
    #[projection(key)]
    device: Uuid,
    #[projection(key)]
    tag: String,
}

impl ProjectKey<DeviceTouched> for DeviceTag {
    fn key(_event: &Recorded<DeviceTouched>) -> Result<(Uuid, String), ProjectionError> {
        Ok((Uuid::nil(), String::new()))
    }
}

impl Project<DeviceTouched> for DeviceTag {
    fn project(_row: &mut Option<Self>, _event: &Recorded<DeviceTouched>) {}
}

/// `{"k1": v1, "k2": v2}`: the row's key as the generated SQL takes it, from the
/// generated `key_object`.
fn key_object<P: Projection>(row: &P) -> Value {
    P::key_object(&row.row_key()).expect("the key serializes")
}

/// The statements of `P`'s table, rendered as `acci-postgres` renders them.
fn statements<P: Projection>() -> TableSql {
    TableSql::render(P::TABLE)
}

fn keys_of<P: Projection>(rows: &[P]) -> Value {
    Value::Array(rows.iter().map(key_object).collect())
}

fn at(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().expect("a valid time")
}

fn device(tenant: &str, n: u8, name: &str) -> DeviceView {
    DeviceView {
        tenant: tenant.to_owned(),
        id: Uuid::from_bytes([n; 16]),
        name: name.to_owned(),
        online: n.is_multiple_of(2),
        small: i16::MIN + i16::from(n),
        medium: -i32::from(n) * 1_000_000,
        large: i64::MAX - i64::from(n),
        byte: u8::MAX - n,
        port: u16::MAX - u16::from(n),
        count: u32::MAX - u32::from(n),
        // Numbers serde_json reads back exactly; see `doubles_keep_every_bit`.
        ratio: 0.25 * f32::from(n),
        precise: 0.5 + 0.125 * f64::from(n),
        // Microseconds: what `timestamptz` keeps.
        seen_at: at(1_700_000_000_123_456 + i64::from(n)),
        born_on: NaiveDate::from_ymd_opt(1990 + i32::from(n), 2, 28).unwrap(),
        local_time: NaiveDate::from_ymd_opt(2024, 12, 31)
            .unwrap()
            .and_hms_micro_opt(23, 59, 59, 999_999)
            .unwrap(),
        extra: if n.is_multiple_of(2) {
            json!({ "nested": [1, "two", null], "quote": "it's \"quoted\"" })
        } else {
            Value::Null
        },
        nickname: (n % 2 == 1).then(|| format!("Gerät №{n} 'ü'")),
        last_seen: n.is_multiple_of(3).then(|| at(1_600_000_000_000_001)),
        tags: (0..n)
            .map(|i| format!("tag {i}, with \"quotes\""))
            .collect(),
        readings: vec![f64::from(n) / 4.0, -1e300, 1.5e-7, 0.0],
        ids: n
            .is_multiple_of(2)
            .then(|| vec![Uuid::from_bytes([n + 100; 16]), Uuid::nil()]),
        settings: Settings {
            theme: format!("theme-{n}"),
            volume: n,
            shortcuts: vec!["ctrl+s".to_owned()],
        },
        previous: (n % 2 == 1).then(|| Settings {
            theme: "old".to_owned(),
            volume: 0,
            shortcuts: Vec::new(),
        }),
        r: format!("r-{}", n % 2),
    }
}

async fn execute(pool: &PgPool, sql: &str, rows: Value) -> u64 {
    sqlx::query(sql)
        .bind(rows)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows_affected()
}

/// The rows of `sql` with `$1` bound to `first` and `$2` (if given) to `limit`.
async fn select<P: Projection>(
    pool: &PgPool,
    sql: &str,
    first: Value,
    limit: Option<i64>,
) -> Vec<P> {
    let query = sqlx::query_scalar::<_, Value>(sql).bind(first);
    let query = match limit {
        Some(limit) => query.bind(limit),
        None => query,
    };
    query
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|row| serde_json::from_value(row.clone()).unwrap_or_else(|e| panic!("{row}: {e}")))
        .collect()
}

async fn by_keys<P: Projection>(pool: &PgPool, keys: Value) -> Vec<P> {
    let mut rows: Vec<P> = select(pool, &statements::<P>().select_by_keys, keys, None).await;
    rows.sort_by_key(Projection::row_key);
    rows
}

async fn count<P: Projection>(pool: &PgPool) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM \"{}\"", P::TABLE.name))
        .fetch_one(pool)
        .await
        .expect("count the rows")
}

/// Every row, `page` at a time, through `select_page`.
async fn all_pages<P: Projection>(pool: &PgPool, page: i64) -> Vec<Vec<P>> {
    let mut pages = Vec::new();
    let mut after: Option<Value> = None;
    let select_page = statements::<P>().select_page;
    loop {
        let rows: Vec<P> = sqlx::query_scalar::<_, Value>(&select_page)
            .bind(page)
            .bind(after.clone())
            .fetch_all(pool)
            .await
            .expect("select a page")
            .into_iter()
            .map(|row| serde_json::from_value(row).expect("a row"))
            .collect();
        let Some(last) = rows.last() else {
            return pages;
        };
        after = Some(key_object(last));
        pages.push(rows);
    }
}

#[tokio::test]
async fn generated_sql_runs_on_postgres() {
    let db = TestDatabase::create().await;
    let pool = db.pool_as(None, 1).await;
    let table = &statements::<DeviceView>();

    // Creating twice is harmless: every statement says `IF NOT EXISTS`.
    for _ in 0..2 {
        sqlx::query(&table.create_table)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", table.create_table));
        for index in &table.create_indexes {
            sqlx::query(index)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{index}: {e}"));
        }
    }
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE tablename = 'device_view' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        indexes,
        [
            "device_view_name_idx",
            "device_view_pkey",
            "device_view_r_idx"
        ]
    );

    let mut rows: Vec<DeviceView> = (0..6u8)
        .map(|n| {
            device(
                if n < 3 { "acme" } else { "beta" },
                n,
                if n % 3 == 0 { "sensor" } else { "pump" },
            )
        })
        .collect();
    rows.sort_by_key(Projection::row_key);
    let inserted = execute(&pool, &table.upsert, serde_json::to_value(&rows).unwrap()).await;
    assert_eq!(inserted, 6);
    assert_eq!(count::<DeviceView>(&pool).await, 6);

    // By key: exactly the rows asked for, every value as it went in.
    let found: Vec<DeviceView> = by_keys(&pool, keys_of(&rows)).await;
    assert_eq!(found, rows);
    let some = [rows[1].clone(), rows[4].clone()];
    let found: Vec<DeviceView> = by_keys(&pool, keys_of(&some)).await;
    assert_eq!(found, some);
    let missing = json!([{ "tenant": "acme", "id": Uuid::from_bytes([200; 16]) }]);
    assert!(by_keys::<DeviceView>(&pool, missing).await.is_empty());
    assert!(by_keys::<DeviceView>(&pool, json!([])).await.is_empty());

    // By page, in key order: 2 + 2 + 2, then an empty page ends it.
    let pages: Vec<Vec<DeviceView>> = all_pages(&pool, 2).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 2]);
    assert_eq!(pages.concat(), rows);
    let pages: Vec<Vec<DeviceView>> = all_pages(&pool, 4).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [4, 2]);

    // By an indexed column, in key order, up to the limit.
    let finder = table.finder("name").expect("`name` is indexed");
    let sensors: Vec<DeviceView> =
        select(&pool, finder, json!({ "name": "sensor" }), Some(10)).await;
    let expected: Vec<DeviceView> = rows
        .iter()
        .filter(|r| r.name == "sensor")
        .cloned()
        .collect();
    assert_eq!(sensors, expected);
    assert_eq!(sensors.len(), 2);
    let limited = sqlx::query_scalar::<_, Value>(finder)
        .bind(json!({ "name": "pump" }))
        .bind(1_i64)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    let finder = table.finder("r").expect("`r` is indexed");
    let odd: Vec<DeviceView> = select(&pool, finder, json!({ "r": "r-1" }), Some(10)).await;
    assert_eq!(odd.len(), 3);
    assert!(odd.iter().all(|row| row.r == "r-1"));

    // Upsert again: changed rows are updated, a new one inserted, nothing duplicated.
    let mut changed = vec![
        rows[0].clone(),
        rows[5].clone(),
        device("gamma", 9, "valve"),
    ];
    changed[0].name = "renamed".to_owned();
    changed[0].nickname = Some("now named".to_owned());
    changed[0].ids = None;
    changed[0].extra = Value::Null;
    changed[1].online = !changed[1].online;
    changed[1].previous = None;
    changed[1].tags.clear();
    changed[1].last_seen = Some(at(0));
    let touched = execute(
        &pool,
        &table.upsert,
        serde_json::to_value(&changed).unwrap(),
    )
    .await;
    assert_eq!(touched, 3);
    assert_eq!(count::<DeviceView>(&pool).await, 7);
    let mut expected = changed.clone();
    expected.sort_by_key(Projection::row_key);
    assert_eq!(
        by_keys::<DeviceView>(&pool, keys_of(&changed)).await,
        expected
    );
    let renamed: Vec<DeviceView> = select(
        &pool,
        table.finder("name").unwrap(),
        json!({ "name": "renamed" }),
        Some(10),
    )
    .await;
    assert_eq!(renamed, [changed[0].clone()]);

    // Delete by key: those rows go, the others stay.
    let gone = [rows[0].clone(), rows[3].clone(), changed[2].clone()];
    let deleted = execute(&pool, &table.delete_by_keys, keys_of(&gone)).await;
    assert_eq!(deleted, 3);
    assert_eq!(count::<DeviceView>(&pool).await, 4);
    assert!(
        by_keys::<DeviceView>(&pool, keys_of(&gone))
            .await
            .is_empty()
    );
    let left: Vec<DeviceView> = all_pages(&pool, 10).await.concat();
    let mut expected: Vec<DeviceView> = vec![
        rows[1].clone(),
        rows[2].clone(),
        rows[4].clone(),
        changed[1].clone(),
    ];
    expected.sort_by_key(Projection::row_key);
    assert_eq!(left, expected);
    assert_eq!(
        execute(&pool, &table.delete_by_keys, keys_of(&gone)).await,
        0
    );
}

/// The database keeps every bit of a double through the JSON of an upsert and of
/// `to_jsonb`; the checks read it without serde_json, whose default parser may round the
/// last bit of a 17-digit number (its `float_roundtrip` feature makes it exact).
#[tokio::test]
async fn doubles_keep_every_bit() {
    let db = TestDatabase::create().await;
    let pool = db.pool_as(None, 1).await;
    let table = &statements::<DeviceView>();
    sqlx::query(&table.create_table)
        .execute(&pool)
        .await
        .unwrap();
    let mut row = device("floats", 1, "thermometer");
    row.precise = 0.1 + 0.2;
    row.ratio = 0.1_f32 + 0.2_f32;
    // Not `-0.0`: a JSON number in PostgreSQL is a `numeric`, which has no negative zero.
    row.readings = vec![0.1 + 0.2, f64::MIN_POSITIVE, f64::MAX, -1.0 / 3.0];
    execute(&pool, &table.upsert, json!([row])).await;

    let (precise, ratio, readings): (f64, f32, Vec<f64>) =
        sqlx::query_as(r#"SELECT "precise", "ratio", "readings" FROM "device_view""#)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(precise.to_bits(), row.precise.to_bits());
    assert_eq!(ratio.to_bits(), row.ratio.to_bits());
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&readings), bits(&row.readings));

    let text: String =
        sqlx::query_scalar(r#"SELECT (to_jsonb(r.*)->'precise')::text FROM "device_view" r"#)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(text, "0.30000000000000004");
}

#[tokio::test]
async fn a_table_of_keys_only_upserts_with_do_nothing() {
    let db = TestDatabase::create().await;
    let pool = db.pool_as(None, 1).await;
    let table = &statements::<DeviceTag>();
    assert!(table.upsert.ends_with("DO NOTHING"), "{}", table.upsert);
    sqlx::query(&table.create_table)
        .execute(&pool)
        .await
        .unwrap();

    let tags = vec![
        DeviceTag {
            device: Uuid::from_bytes([1; 16]),
            tag: "hot".to_owned(),
        },
        DeviceTag {
            device: Uuid::from_bytes([1; 16]),
            tag: "loud".to_owned(),
        },
    ];
    assert_eq!(
        execute(&pool, &table.upsert, serde_json::to_value(&tags).unwrap()).await,
        2
    );
    // The same rows again: nothing to do, and no error.
    assert_eq!(
        execute(&pool, &table.upsert, serde_json::to_value(&tags).unwrap()).await,
        0
    );
    assert_eq!(count::<DeviceTag>(&pool).await, 2);
    let found: Vec<DeviceTag> = by_keys(&pool, keys_of(&tags)).await;
    assert_eq!(found.len(), 2);
    assert_eq!(
        execute(&pool, &table.delete_by_keys, keys_of(&tags[..1])).await,
        1
    );
    assert_eq!(count::<DeviceTag>(&pool).await, 1);
}
