//! With the database out of reach, input that is invalid on its face still comes back as
//! a validation error, never as a retryable one: every store call checks its input
//! before it takes a connection from the pool. No server is needed.

use std::time::Duration;

use acci_core::{
    AggregateId, EventId, EventKind, EventStore, ExpectedVersion, LogPosition, MAX_JSON_DEPTH,
    Metadata, NewEvent, ReadAll, Snapshot, StoreError, StreamId, TenantId, TenantScope,
};
use acci_postgres::PgEventStore;
use chrono::Utc;
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;

/// A store on a pool whose server never answers: port 1 on the loopback is closed.
fn unreachable_store() -> PgEventStore {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy("postgres://postgres@127.0.0.1:1/acci")
        .expect("a lazy pool");
    PgEventStore::from_pool(pool)
}

fn stream() -> StreamId {
    StreamId::new(
        TenantId::new("t1").unwrap(),
        "Account",
        AggregateId::new("a").unwrap(),
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

fn event(payload: Value) -> NewEvent {
    NewEvent {
        event_id: EventId::new(),
        event_type: "Counted".into(),
        schema_version: 1,
        payload,
        metadata: Metadata::default(),
    }
}

fn snapshot(version: u64, state: Value) -> Snapshot {
    Snapshot {
        version,
        state_version: 1,
        state,
        taken_at: Utc::now(),
    }
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Validation(v)) => assert!(v.to_string().contains(what), "{what}: {v}"),
        other => panic!("{what}: expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_requests_are_validation_errors_without_a_database() {
    let store = unreachable_store();
    let s = stream();

    // The database is indeed out of reach: a valid call fails, and may be retried.
    let valid = store.load(&s, 1).await;
    assert!(
        matches!(&valid, Err(e) if e.is_retryable()),
        "expected a retryable error, got {valid:?}"
    );

    let any = ExpectedVersion::Any;
    assert_invalid(store.append(&s, any, vec![], None).await, "event list");
    assert_invalid(
        store.append(&s, any, vec![event(json!([1]))], None).await,
        "not a JSON object",
    );
    assert_invalid(
        store
            .append(&s, any, vec![event(nested(MAX_JSON_DEPTH + 1))], None)
            .await,
        "nests deeper",
    );
    let mut deep_metadata = event(json!({}));
    deep_metadata.metadata = Metadata::new().with_entry("x", nested(MAX_JSON_DEPTH));
    assert_invalid(
        store.append(&s, any, vec![deep_metadata], None).await,
        "metadata",
    );
    assert_invalid(
        store
            .append(&s, any, vec![event(json!({ "a": "\u{0}" }))], None)
            .await,
        "U+0000",
    );
    assert_invalid(
        store
            .append(
                &s,
                ExpectedVersion::Exactly(u64::MAX),
                vec![event(json!({}))],
                None,
            )
            .await,
        "expected version",
    );
    let bad_stream = StreamId {
        aggregate_type: "".into(),
        ..s.clone()
    };
    assert_invalid(
        store
            .append(&bad_stream, any, vec![event(json!({}))], None)
            .await,
        "aggregate type",
    );
    assert_invalid(store.load(&bad_stream, 1).await, "aggregate type");
    assert_invalid(
        store.load_aggregate(&bad_stream, None).await,
        "aggregate type",
    );
    assert_invalid(
        store.load_aggregate(&s, Some(u64::MAX)).await,
        "snapshot state version",
    );
    assert_invalid(store.load_snapshot(&bad_stream).await, "aggregate type");

    let tenant = TenantScope::Tenant(s.tenant.clone());
    assert_invalid(
        store.read_all(&ReadAll::new(tenant.clone()).limit(0)).await,
        "read batch limit",
    );
    assert_invalid(
        store
            .read_all(&ReadAll::new(tenant.clone()).events(Vec::<EventKind>::new()))
            .await,
        "event filter",
    );
    assert_invalid(
        store
            .read_all(&ReadAll::new(tenant).after(LogPosition {
                commit: 0,
                position: u64::MAX,
            }))
            .await,
        "log position",
    );

    assert_invalid(
        store.save_snapshot(&s, snapshot(0, json!({}))).await,
        "snapshot version",
    );
    assert_invalid(
        store
            .save_snapshot(&s, snapshot(1, nested(MAX_JSON_DEPTH + 1)))
            .await,
        "snapshot state",
    );
    let mut ancient = snapshot(1, json!({}));
    ancient.taken_at = chrono::DateTime::from_timestamp(-300_000_000_000, 0).unwrap();
    assert_invalid(store.save_snapshot(&s, ancient).await, "snapshot time");
    assert_invalid(
        store
            .save_snapshot(&bad_stream, snapshot(1, json!({})))
            .await,
        "aggregate type",
    );
}
