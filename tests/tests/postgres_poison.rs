//! Rows that the store's API refuses to write, written by raw SQL as the database owner,
//! and what the readers make of them: JSON deeper than `serde_json` parses by default is
//! still read, and deeper than a reader hands out stops only at that one event, typed.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::sync::Arc;

use acci_core::prelude::*;

use acci_core::{
    EventStore, ExpectedVersion, MAX_READ_JSON_DEPTH, NewEvent, ReadAll, StoreError, StreamId,
    TenantId, TenantScope,
};
use acci_tests::pg::TestDatabase;
use serde_json::{Value, json};

fn stream(id: &str) -> StreamId {
    StreamId::new(
        TenantId::new("t1").unwrap(),
        "Account",
        acci_core::AggregateId::new(id).unwrap(),
    )
    .unwrap()
}

fn nested(levels: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..levels {
        value = json!({ "a": value });
    }
    value
}

fn counted(n: u64) -> NewEvent {
    NewEvent {
        event_id: acci_core::EventId::new(),
        event_type: "Counted".into(),
        schema_version: 1,
        payload: json!({ "n": n }),
        metadata: acci_core::Metadata::default(),
    }
}

/// Inserts event `sequence` of `stream` with this payload and metadata text, as the
/// owner, past the store's functions.
async fn insert_raw(
    owner: &sqlx::PgPool,
    stream: &StreamId,
    sequence: i64,
    data: &str,
    metadata: &str,
) {
    sqlx::query(
        "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, \
         sequence, event_type, schema_version, data, metadata) \
         VALUES (gen_random_uuid(), $1, $2, $3, $4, 'Counted', 1, $5::text::jsonb, $6::text::jsonb)",
    )
    .bind(stream.tenant.as_str())
    .bind(&*stream.aggregate_type)
    .bind(stream.aggregate_id.as_str())
    .bind(sequence)
    .bind(data)
    .bind(metadata)
    .execute(owner)
    .await
    .expect("insert as the owner");
}

async fn insert_snapshot(owner: &sqlx::PgPool, stream: &StreamId, version: i64, state: &str) {
    insert_snapshot_at(owner, stream, version, 7, state).await;
}

async fn insert_snapshot_at(
    owner: &sqlx::PgPool,
    stream: &StreamId,
    version: i64,
    state_version: i64,
    state: &str,
) {
    sqlx::query(
        "INSERT INTO snapshots.aggregate_snapshots VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, now()) \
         ON CONFLICT (tenant_id, aggregate_type, aggregate_id) DO UPDATE \
         SET version = excluded.version, state_version = excluded.state_version, state = excluded.state",
    )
    .bind(stream.tenant.as_str())
    .bind(&*stream.aggregate_type)
    .bind(stream.aggregate_id.as_str())
    .bind(version)
    .bind(state_version)
    .bind(state)
    .execute(owner)
    .await
    .expect("insert a snapshot as the owner");
}

/// Reads the tenant's whole log, passing over events reported unreadable; returns the
/// events read and the positions passed over.
async fn read_log(
    store: &impl EventStore,
    expected: usize,
) -> (Vec<acci_core::StoredEvent>, usize) {
    let request = ReadAll::new(TenantScope::Tenant(TenantId::new("t1").unwrap())).limit(100);
    let (mut events, mut passed) = (Vec::new(), 0);
    let mut after = acci_core::LogPosition::START;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while events.len() + passed < expected {
        assert!(std::time::Instant::now() < deadline, "the log stays short");
        match store.read_all(&request.clone().after(after)).await {
            Ok(batch) => {
                after = batch.next;
                events.extend(batch.events);
            }
            Err(StoreError::Unreadable { position, .. }) => {
                after = position;
                passed += 1;
            }
            Err(other) => panic!("the log read failed as a whole: {other}"),
        }
    }
    (events, passed)
}

/// An event and a snapshot 200 levels deep, past `serde_json`'s default limit of 128,
/// are read by every reader like any other; the events around them come back too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_deeper_than_the_parser_default_is_read() {
    let database = TestDatabase::create().await;
    let owner = database.pool_as(None, 1).await;
    let store = database.store().await;
    let s = stream("deep");
    store
        .append(&s, ExpectedVersion::NoStream, vec![counted(1)], None)
        .await
        .expect("append");
    let deep = nested(200);
    let deep_metadata = json!({ "entries": { "trace": nested(198) } });
    insert_raw(&owner, &s, 2, &deep.to_string(), &deep_metadata.to_string()).await;
    store
        .append(&s, ExpectedVersion::Exactly(2), vec![counted(3)], None)
        .await
        .expect("append after the deep event");
    insert_snapshot(&owner, &s, 2, &deep.to_string()).await;

    let loaded = store.load(&s, 1).await.expect("load reads the deep event");
    assert_eq!(loaded.len(), 3);
    assert_eq!(loaded[1].data, deep);
    assert_eq!(loaded[1].metadata.entries["trace"], nested(198));
    let (logged, passed) = read_log(&store, 3).await;
    assert_eq!((logged.len(), passed), (3, 0));
    assert_eq!(logged[1].data, deep);

    let snapshot = store
        .load_snapshot(&s)
        .await
        .expect("load_snapshot")
        .expect("one");
    assert_eq!(snapshot.state, deep);
    let load = store
        .load_aggregate(&s, Some(7))
        .await
        .expect("load_aggregate");
    assert_eq!(load.snapshot.expect("the snapshot").state, deep);
    assert_eq!(load.events.len(), 1, "the event after the snapshot");
}

/// Deeper than a reader hands out: the stream load reports that one event, typed; the
/// log returns the events before it, reports it, and goes on after it; a snapshot that
/// deep is passed over and the aggregate is loaded from its events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_deeper_than_a_reader_hands_out_stops_at_that_event() {
    let database = TestDatabase::create().await;
    let owner = database.pool_as(None, 1).await;
    let store = database.store().await;
    let s = stream("deeper");
    let too_deep = nested(MAX_READ_JSON_DEPTH + 88).to_string();
    store
        .append(&s, ExpectedVersion::NoStream, vec![counted(1)], None)
        .await
        .expect("append");
    insert_raw(&owner, &s, 2, &too_deep, "{}").await;
    store
        .append(&s, ExpectedVersion::Exactly(2), vec![counted(3)], None)
        .await
        .expect("append after the deep event");
    insert_snapshot(&owner, &s, 3, &too_deep).await;

    match store.load(&s, 1).await {
        Err(StoreError::Unreadable { reason, .. }) => {
            assert!(reason.contains("payload nests 600 levels"), "{reason}")
        }
        other => panic!("expected the event to be reported unreadable, got {other:?}"),
    }
    let (logged, passed) = read_log(&store, 3).await;
    assert_eq!(
        (logged.len(), passed),
        (2, 1),
        "two events read, one passed over"
    );
    assert_eq!(logged[1].data, json!({ "n": 3 }));

    assert!(
        store
            .load_snapshot(&s)
            .await
            .expect("load_snapshot")
            .is_none()
    );
    let load = store
        .load_aggregate(&s, Some(7))
        .await
        .expect("load_aggregate");
    assert!(load.snapshot.is_none(), "the snapshot is passed over");
    let sequences: Vec<u64> = load.events.iter().map(|e| e.sequence).collect();
    assert_eq!(
        sequences,
        [1, 2, 3],
        "every event, the unreadable one as text to decode"
    );
}

#[event]
pub struct Added {
    pub by: u64,
}

#[derive(Aggregate, Debug, Default, serde::Serialize, serde::Deserialize)]
#[aggregate(events(Added), snapshot_every = 100)]
pub struct Total {
    total: u64,
}

impl Apply<Added> for Total {
    fn apply(&mut self, event: &Added) {
        self.total += event.by;
    }
}

pub struct Add(u64);

impl Handle<Add> for Total {
    type Error = std::convert::Infallible;
    fn handle(&self, command: &Add) -> Result<Vec<TotalEvent>, Self::Error> {
        Ok(vec![Added { by: command.0 }.into()])
    }
}

/// A snapshot of the current shape, replaced by raw SQL with a state of the wrong type,
/// then one 200 and one 600 levels deep: the command path loads the aggregate from its
/// events each time (the fallback for a snapshot that does not decode) and goes on
/// taking commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_path_replays_past_a_deep_snapshot() {
    let database = TestDatabase::create().await;
    let owner = database.pool_as(None, 1).await;
    let totals = Repository::<Total, _>::new(Arc::new(database.store().await));
    let (t, id) = (
        TenantId::new("t1").unwrap(),
        AggregateId::new("sum").unwrap(),
    );
    for by in [2, 3] {
        totals
            .execute(Command::new(t.clone(), id.clone(), Add(by)))
            .await
            .expect("execute");
    }
    let s = StreamId::new(t.clone(), <Total as Aggregate>::TYPE, id.clone()).unwrap();
    let state_version = i64::try_from(<Total as Aggregate>::STATE_VERSION).unwrap();
    // Shallow but of the wrong type, then 200 and 600 levels deep.
    let states = [
        json!({ "total": "many" }),
        nested(200),
        nested(MAX_READ_JSON_DEPTH + 88),
    ];
    for state in states {
        let depth = acci_core::json_text_depth(&state.to_string());
        insert_snapshot_at(&owner, &s, 2, state_version, &state.to_string()).await;
        let loaded = totals.load(&t, &id).await.expect("load past the snapshot");
        assert_eq!(
            (loaded.version, loaded.state.total),
            (2, 5),
            "{depth} levels"
        );
        assert_eq!(loaded.snapshot_version, None, "{depth} levels");
    }
    totals
        .execute(Command::new(t.clone(), id.clone(), Add(1)))
        .await
        .expect("commands go on");
}
