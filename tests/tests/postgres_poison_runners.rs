//! Runners over a log with poison in it, written by raw SQL as the owner: every event
//! that cannot be projected (too deep, unreadable, malformed metadata, an unknown schema
//! version) is parked, and every other event of every tenant is projected, by the
//! PostgreSQL runners and the in-memory one.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

mod counting;

use std::time::{Duration, Instant};

use acci_core::projection::InMemoryProjection;
use acci_core::{LogPosition, MAX_READ_JSON_DEPTH, StreamId, TenantId};
use acci_postgres::projection::{CustomProjectionRunner, ProjectionState};
use acci_postgres::{FailurePolicy, PgEventStore, ProjectionRunner};
use acci_tests::pg::{READER_LOGIN, TestDatabase};
use counting::{CountLog, CountTotal, RETRY, catch_up_to, count, options, stream, totals};
use serde_json::{Value, json};

fn nested(levels: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..levels {
        value = json!({ "a": value });
    }
    value
}

/// Inserts a `Counted` event as the owner, past the store's functions. `Err` if the
/// database itself refuses the row (a check constraint).
async fn insert_raw(
    owner: &sqlx::PgPool,
    stream: &StreamId,
    sequence: i64,
    schema_version: i32,
    data: &str,
    metadata: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, \
         sequence, event_type, schema_version, data, metadata) \
         VALUES (gen_random_uuid(), $1, $2, $3, $4, 'Counted', $5, $6::text::jsonb, $7::text::jsonb)",
    )
    .bind(stream.tenant.as_str())
    .bind(&*stream.aggregate_type)
    .bind(stream.aggregate_id.as_str())
    .bind(sequence)
    .bind(schema_version)
    .bind(data)
    .bind(metadata)
    .execute(owner)
    .await
    .map(|_| ())
}

/// Good events of two tenants around four poison rows; returns how many poison rows the
/// database took (a database that refuses malformed metadata takes three) and the last
/// position.
async fn poisoned_log(db: &TestDatabase, store: &PgEventStore) -> (usize, LogPosition) {
    let owner = db.pool_as(None, 1).await;
    let bad = stream("t1", "bad");
    let ok = r#"{"n": 1000}"#;
    count(store, "t1", 1).await;
    count(store, "t2", 10).await;
    // (a) 200 levels: read, but not a `Counted`.
    insert_raw(&owner, &bad, 1, 1, &nested(200).to_string(), "{}")
        .await
        .expect("insert a deep payload");
    count(store, "t1", 2).await;
    // (b) deeper than a reader hands out: unreadable.
    let too_deep = nested(MAX_READ_JSON_DEPTH + 88).to_string();
    insert_raw(&owner, &bad, 2, 1, &too_deep, "{}")
        .await
        .expect("insert a payload too deep to read");
    count(store, "t2", 20).await;
    // (c) metadata of the wrong shape.
    let mut taken = 3;
    if insert_raw(&owner, &bad, 3, 1, ok, r#"{"correlation_id": 42}"#)
        .await
        .is_ok()
    {
        taken += 1;
    }
    count(store, "t1", 3).await;
    // (d) a schema version no code knows.
    insert_raw(&owner, &bad, 4, 9, ok, "{}")
        .await
        .expect("insert an unknown version");
    let last = count(store, "t2", 30).await;
    (taken, last)
}

/// Both kinds of runner, under a retrying policy and under `Park`: each poison row is
/// parked with its reason, every good event of both tenants is projected, and
/// `catch_up` returns normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_rows_are_parked_and_every_other_event_projected() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let (poison, last) = poisoned_log(&db, &store).await;

    let table = ProjectionRunner::<CountTotal>::new(db.pool_as(Some(READER_LOGIN), 4).await)
        .with_options(options(RETRY))
        .unwrap();
    assert_eq!(catch_up_to(&table, last).await, 6);
    assert_eq!(totals(&db).await, [("t1".into(), 6), ("t2".into(), 60)]);
    let status = table.status().await.unwrap();
    assert_eq!(
        (status.events_applied, status.events_parked),
        (6, poison as u64)
    );
    assert_eq!(
        (status.state, status.failing),
        (ProjectionState::Running, None)
    );
    let letters = table.dead_letters().await.unwrap();
    assert_eq!(letters.len(), poison);
    assert!(letters.iter().all(|l| l.attempts == 2), "{letters:#?}");
    let reasons: Vec<&str> = letters.iter().map(|l| l.error.as_str()).collect();
    assert!(reasons[0].contains("Counted"), "{reasons:?}");
    assert!(reasons[1].contains("nests 600 levels"), "{reasons:?}");
    if poison == 4 {
        assert!(reasons[2].contains("metadata is malformed"), "{reasons:?}");
    }
    assert!(reasons[poison - 1].contains('9'), "{reasons:?}");

    let custom = CustomProjectionRunner::new(db.pool_as(Some(READER_LOGIN), 4).await, CountLog)
        .with_options(options(FailurePolicy::Park))
        .unwrap();
    assert_eq!(catch_up_to(&custom, last).await, 6);
    let logged: Vec<(String, i64)> = sqlx::query_as(
        "SELECT tenant, sum(n)::bigint FROM read_models.count_log GROUP BY tenant ORDER BY tenant",
    )
    .fetch_all(&db.pool_as(None, 1).await)
    .await
    .unwrap();
    assert_eq!(logged, [("t1".into(), 6), ("t2".into(), 60)]);
    let status = custom.status().await.unwrap();
    assert_eq!(
        (status.events_applied, status.events_parked),
        (6, poison as u64)
    );
    assert_eq!(custom.dead_letters().await.unwrap().len(), poison);

    // Replaying them changes nothing: each fails again, and stays parked.
    let replayed = table.replay_dead_letters().await.expect("replay");
    assert_eq!(
        (replayed.applied, replayed.still_failing),
        (0, poison as u64)
    );
    let last = count(&store, "t1", 4).await;
    assert_eq!(catch_up_to(&table, last).await, 1, "the runner goes on");

    // The in-memory runner over the same log parks the same events.
    let memory = InMemoryProjection::<CountTotal>::new().with_batch_size(3);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut applied = 0;
    while memory.status().position < last {
        assert!(
            Instant::now() < deadline,
            "the in-memory runner never got there"
        );
        applied += memory.catch_up(&store).await.expect("catch up");
    }
    assert_eq!(applied, 7);
    let rows: Vec<(String, i64)> = ["t1", "t2"]
        .into_iter()
        .flat_map(|tenant| memory.rows(Some(&TenantId::new(tenant).unwrap())))
        .map(|r| (r.tenant, r.total))
        .collect();
    assert_eq!(rows, [("t1".into(), 10), ("t2".into(), 60)]);
    let parked = memory.dead_letters();
    assert_eq!(parked.len(), poison, "{parked:#?}");
    assert_eq!(memory.status().events_parked, poison as u64);
    assert!(parked[1].error.contains("nests 600 levels"), "{parked:#?}");
    assert_eq!(parked[1].event_type, None);
}
