//! The lean loads (`sql/store/load_aggregate.sql`, `sql/store/load_stream.sql`): plain
//! statements that bind the tenant and stream their rows from the stream index. They
//! return what the PL/pgSQL functions they replaced returned, row for row; their plans
//! hold nothing that collects the result before the first row is sent; and they never
//! return another tenant's rows, whatever the session's own setting.

use acci_core::{EventStore, ExpectedVersion, Payload, Snapshot, StreamId};
use acci_tests::events::{counted, stream};
use acci_tests::pg::{APP_LOGIN, READER_LOGIN, TestDatabase};
use serde_json::{Value, json};
use sqlx::postgres::PgRow;
use sqlx::{Executor, PgPool, Row};

const LOAD_AGGREGATE: &str = include_str!("../../acci-postgres/sql/store/load_aggregate.sql");
const LOAD_STREAM: &str = include_str!("../../acci-postgres/sql/store/load_stream.sql");

/// The functions the statements replaced, as the last release shipped them.
const RELEASED_LOAD_AGGREGATE: &str =
    include_str!("../fixtures/released/event_store.load_aggregate.sql");
const RELEASED_LOAD_STREAM: &str = include_str!("../fixtures/released/event_store.load_stream.sql");

/// Appends `count` events to `stream`, in appends of at most 500.
async fn fill(store: &impl EventStore, stream: &StreamId, count: u64) {
    let mut version = 0;
    while version < count {
        let batch: Vec<_> = (version + 1..=count.min(version + 500))
            .map(counted)
            .collect();
        let expected = if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exactly(version)
        };
        version += batch.len() as u64;
        store.append(stream, expected, batch, None).await.unwrap();
    }
}

async fn snapshot(store: &impl EventStore, stream: &StreamId, version: u64, balance: u64) {
    store
        .save_snapshot(
            stream,
            Snapshot {
                version,
                state_version: 7,
                state: json!({ "balance": balance }),
                taken_at: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
}

/// Every column of every row, as text, in the order the rows came.
fn as_text(rows: &[PgRow]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| row.try_get::<Option<String>, _>(i).unwrap())
                .collect()
        })
        .collect()
}

/// The rows of `statement` (run with the load's text columns cast, so that rows compare
/// as text) for the given arguments.
async fn rows(
    pool: &PgPool,
    statement: &str,
    stream: &StreamId,
    rest: &[Option<i64>],
) -> Vec<PgRow> {
    let mut query = sqlx::query(statement)
        .bind(stream.tenant.as_str())
        .bind(&*stream.aggregate_type)
        .bind(stream.aggregate_id.as_str());
    for value in rest {
        query = query.bind(*value);
    }
    query.fetch_all(pool).await.unwrap()
}

/// A statement's rows with every column as text.
fn texts(statement: &str, columns: &str) -> String {
    format!("SELECT {columns} FROM ({statement}) AS r")
}

const AGGREGATE_TEXT: &str = "state_version::text, sequence::text, event_id::text, event_type, \
     schema_version::text, data::text, taken_at::text";
const STREAM_TEXT: &str = "global_position::text, transaction_id, event_id::text, sequence::text, \
     event_type, schema_version::text, data::text, metadata::text, recorded_at::text";

/// Row for row what the released functions returned: with and without a snapshot, a
/// snapshot of another shape, a snapshot with nothing after it, an empty stream; and
/// stream ranges inside, across and beyond the stream.
#[tokio::test]
async fn the_statements_return_what_the_released_functions_did() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let admin = db.pool_as(None, 1).await;
    admin.execute(RELEASED_LOAD_AGGREGATE).await.unwrap();
    admin.execute(RELEASED_LOAD_STREAM).await.unwrap();

    let long = stream("tenant-a", "long");
    let at_snapshot = stream("tenant-a", "at-snapshot");
    let empty = stream("tenant-a", "empty");
    fill(&store, &long, 1_200).await;
    snapshot(&store, &long, 1_000, 1).await;
    fill(&store, &at_snapshot, 30).await;
    snapshot(&store, &at_snapshot, 30, 2).await;
    // Another tenant's stream of the same name, with a snapshot of the same shape.
    let other = stream("tenant-b", "long");
    fill(&store, &other, 1_300).await;
    snapshot(&store, &other, 900, 3).await;

    let app = db.pool_as(Some(APP_LOGIN), 1).await;
    let released_aggregate = "SELECT l.* FROM pg_catalog.set_config('acci.tenant_id', $1, true) AS t(tenant) \
         CROSS JOIN LATERAL event_store.load_aggregate(t.tenant, $2, $3, $4) AS l";
    for s in [&long, &at_snapshot, &empty, &other] {
        for state_version in [None, Some(7), Some(8)] {
            let lean = rows(
                &app,
                &texts(LOAD_AGGREGATE, AGGREGATE_TEXT),
                s,
                &[state_version],
            )
            .await;
            let released = rows(
                &app,
                &texts(released_aggregate, AGGREGATE_TEXT),
                s,
                &[state_version],
            )
            .await;
            assert_eq!(
                as_text(&lean),
                as_text(&released),
                "{s:?} at state version {state_version:?}"
            );
        }
    }
    let wanted = rows(&app, LOAD_AGGREGATE, &long, &[Some(7)]).await;
    assert_eq!(
        wanted.len(),
        201,
        "the snapshot and the 200 events after it"
    );

    let released_stream = "SELECT l.* FROM pg_catalog.set_config('acci.tenant_id', $1, true) AS t(tenant) \
         CROSS JOIN LATERAL event_store.load_stream(t.tenant, $2, $3, $4, $5) AS l";
    for (first, last) in [
        (1, 1_200),
        (17, 480),
        (1_100, i64::MAX),
        (1_201, 1_300),
        (5, 4),
    ] {
        for s in [&long, &other, &empty] {
            let range = [Some(first), Some(last)];
            let lean = rows(&app, &texts(LOAD_STREAM, STREAM_TEXT), s, &range).await;
            let released = rows(&app, &texts(released_stream, STREAM_TEXT), s, &range).await;
            assert_eq!(as_text(&lean), as_text(&released), "{s:?} {first}..={last}");
        }
    }
}

/// Through the store: the snapshot and the events after it, every event when no snapshot
/// is wanted or the one stored has another shape, in order.
#[tokio::test]
async fn the_store_loads_the_snapshot_and_the_events_after_it() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let s = stream("tenant-a", "acc");
    fill(&store, &s, 40).await;
    snapshot(&store, &s, 25, 9).await;

    let load = store.load_aggregate(&s, Some(7)).await.unwrap();
    let taken = load.snapshot.expect("the snapshot of the wanted shape");
    assert_eq!((taken.version, taken.state), (25, json!({ "balance": 9 })));
    let sequences: Vec<u64> = load.events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (26..=40).collect::<Vec<_>>());

    for wanted in [None, Some(8)] {
        let load = store.load_aggregate(&s, wanted).await.unwrap();
        assert!(load.snapshot.is_none());
        let sequences: Vec<u64> = load.events.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, (1..=40).collect::<Vec<_>>(), "{wanted:?}");
    }
    let range = store.load(&s, 38).await.unwrap();
    let sequences: Vec<u64> = range.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [38, 39, 40]);
}

/// Whether a plan (EXPLAIN's JSON) holds a node of `kind`, or scans `index`.
fn plan_nodes(plan: &Value, found: &mut Vec<(String, Option<String>)>) {
    if let Some(node) = plan.get("Node Type").and_then(Value::as_str) {
        let index = plan
            .get("Index Name")
            .and_then(Value::as_str)
            .map(str::to_owned);
        found.push((node.to_owned(), index));
    }
    if let Some(children) = plan.get("Plans").and_then(Value::as_array) {
        for child in children {
            plan_nodes(child, found);
        }
    }
}

/// The plan of `statement` for `stream` as the application role: every node's type and
/// index, under the plan mode given (`force_custom_plan` sees the values,
/// `force_generic_plan` only their types).
async fn plan(
    db: &TestDatabase,
    mode: &str,
    statement: &str,
    stream: &StreamId,
    rest: &[Option<i64>],
) -> Vec<(String, Option<String>)> {
    let app = db.pool_as(Some(APP_LOGIN), 1).await;
    app.execute(format!("SET plan_cache_mode = {mode}").as_str())
        .await
        .unwrap();
    let explain = format!("EXPLAIN (FORMAT JSON) {statement}");
    let mut query = sqlx::query_scalar::<_, Value>(&explain)
        .bind(stream.tenant.as_str())
        .bind(&*stream.aggregate_type)
        .bind(stream.aggregate_id.as_str());
    for value in rest {
        query = query.bind(*value);
    }
    let explained = query.fetch_one(&app).await.unwrap();
    let mut found = Vec::new();
    plan_nodes(&explained[0]["Plan"], &mut found);
    found
}

/// The plans read the stream index in order and hold no node that collects the result
/// first (a function scan's tuplestore, a sort, a materialization, a hash), whether the
/// planner sees the values or not, for a long stream among many.
#[tokio::test]
async fn the_plans_stream_from_the_stream_index() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let long = stream("tenant-a", "long");
    fill(&store, &long, 3_000).await;
    snapshot(&store, &long, 2_000, 1).await;
    for i in 0..30 {
        fill(
            &store,
            &stream(&format!("tenant-{}", i % 3), &format!("s{i}")),
            100,
        )
        .await;
    }
    db.pool_as(None, 1).await.execute("ANALYZE").await.unwrap();

    let cases: [(&str, &[Option<i64>]); 4] = [
        (LOAD_AGGREGATE, &[Some(7)]),
        (LOAD_AGGREGATE, &[None]),
        (LOAD_STREAM, &[Some(1), Some(3_000)]),
        (LOAD_STREAM, &[Some(1), Some(i64::MAX)]),
    ];
    for mode in ["force_custom_plan", "force_generic_plan"] {
        for (statement, rest) in cases {
            let nodes = plan(&db, mode, statement, &long, rest).await;
            let what = format!("{mode} {rest:?}: {nodes:?}");
            assert!(
                nodes.iter().any(|(node, index)| node == "Index Scan"
                    && index.as_deref() == Some("events_stream_sequence_key")),
                "{what}"
            );
            for collecting in [
                "Function Scan",
                "Sort",
                "Incremental Sort",
                "Materialize",
                "Hash",
                "Bitmap Heap Scan",
                "Gather",
                "Gather Merge",
            ] {
                assert!(
                    nodes.iter().all(|(node, _)| node != collecting),
                    "{collecting} in {what}"
                );
            }
        }
    }
}

/// Tenant B has a stream of the same type and id, longer, with a snapshot of the same
/// shape: the loads of tenant A return only A's rows, for the application role, for a
/// reader whose session reads every tenant, and for the tables' owner, to whom
/// row-level security does not apply. The binding lasts only as long as the load's
/// transaction.
#[tokio::test]
async fn a_load_returns_only_its_tenants_rows() {
    let db = TestDatabase::create().await;
    let writer = db.store().await;
    let a = stream("tenant-a", "acc");
    let b = stream("tenant-b", "acc");
    fill(&writer, &a, 5).await;
    fill(&writer, &b, 50).await;
    snapshot(&writer, &b, 40, 666).await;

    for login in [Some(APP_LOGIN), Some(READER_LOGIN), None] {
        let pool = db.pool_as(login, 1).await;
        if login == Some(READER_LOGIN) {
            // The switch that lets a runner's session read every tenant, left on.
            pool.execute("SELECT set_config('acci.all_tenants', 'on', false)")
                .await
                .unwrap();
        }
        let store = acci_postgres::PgEventStore::from_pool(pool.clone());
        let load = store.load_aggregate(&a, Some(7)).await.unwrap();
        assert!(load.snapshot.is_none(), "{login:?}: B's snapshot");
        let events: Vec<(u64, Value)> = load
            .events
            .iter()
            .map(|e| match &e.data {
                Payload::Text(text) => (e.sequence, serde_json::from_str(text).unwrap()),
                Payload::Parsed(value) => (e.sequence, value.clone()),
            })
            .collect();
        let expected: Vec<(u64, Value)> = (1..=5).map(|n| (n, json!({ "n": n }))).collect();
        assert_eq!(events, expected, "{login:?}");
        let range = store.load(&a, 1).await.unwrap();
        assert!(range.iter().all(|e| e.stream == a), "{login:?}");
        assert_eq!(range.len(), 5, "{login:?}");

        let bound: Option<String> =
            sqlx::query_scalar("SELECT nullif(current_setting('acci.tenant_id', true), '')")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(bound, None, "{login:?}: the load's binding outlived it");
    }
}

/// What the functions' tenant check (`AC002`) guaranteed, now that the loads read the
/// tables under row-level security: a session of the application role bound to tenant A
/// reads nothing of B's, with the loads' own reads of the tables; unbound, nothing at all.
#[tokio::test]
async fn a_session_bound_to_another_tenant_reads_none_of_its_rows() {
    let db = TestDatabase::create().await;
    let writer = db.store().await;
    let b = stream("tenant-b", "acc");
    fill(&writer, &b, 5).await;
    snapshot(&writer, &b, 5, 1).await;

    let pool = db.pool_as(Some(APP_LOGIN), 1).await;
    let reads = [
        "SELECT count(*) FROM event_store.events e \
          WHERE e.tenant_id = 'tenant-b' AND e.aggregate_type = 'Account' AND e.aggregate_id = 'acc'",
        "SELECT count(*) FROM snapshots.aggregate_snapshots s \
          WHERE s.tenant_id = 'tenant-b' AND s.aggregate_type = 'Account' AND s.aggregate_id = 'acc'",
    ];
    for binding in [
        Some("SELECT set_config('acci.tenant_id', 'tenant-a', false)"),
        Some("RESET acci.tenant_id"),
        None,
    ] {
        if let Some(binding) = binding {
            pool.execute(binding).await.unwrap();
        }
        for read in reads {
            let seen: i64 = sqlx::query_scalar(read).fetch_one(&pool).await.unwrap();
            assert_eq!(seen, 0, "{binding:?}: {read}");
        }
    }
    // The released functions are gone: nothing is left to call for B.
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
          WHERE n.nspname = 'event_store' AND p.proname IN ('load_aggregate', 'load_stream')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
}
