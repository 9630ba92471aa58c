//! Conformance cases about the JSON and times a store keeps: the nesting limit, the
//! values `jsonb` changes on the way through, timestamps, and stream ids built by hand.

use std::sync::Arc;

use acci_core::{
    EventStore, ExpectedVersion, MAX_JSON_DEPTH, Metadata, ReadAll, Snapshot, StoreError, StreamId,
    TenantScope, ValidationError,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{append, event, numbered, read_everything, stream};

/// An object nesting `levels` levels of `{"a": …}` around a number.
fn nested(levels: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..levels {
        value = json!({ "a": value });
    }
    value
}

/// The error every store gives for `what` nested one level too deep, `at` the pointer
/// to the first object past the limit.
fn too_deep(what: &str, at: &str) -> String {
    format!(
        "{what} nests deeper than {MAX_JSON_DEPTH} levels (at `{at}`); a store keeps at most \
         {MAX_JSON_DEPTH} levels of arrays and objects"
    )
}

fn validation<T: std::fmt::Debug>(result: Result<T, StoreError>) -> ValidationError {
    match result {
        Err(StoreError::Validation(v)) => v,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// Metadata whose stored object nests `levels` deep: the object is level 1, its
/// `entries` map level 2, so the entry's value nests `levels - 2`.
fn deep_metadata(levels: usize) -> Metadata {
    Metadata::new().with_entry("trace", nested(levels - 2))
}

fn snapshot(version: u64, state: Value) -> Snapshot {
    Snapshot {
        version,
        state_version: 7,
        state,
        taken_at: Utc::now(),
    }
}

/// A payload, metadata object or snapshot state nesting more than [`MAX_JSON_DEPTH`]
/// levels is refused with one message naming it and where it goes too deep; at the limit
/// each is stored and read back by every reader.
pub async fn json_nested_past_the_limit_is_refused<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "deep");
    let deep_path = "/a".repeat(MAX_JSON_DEPTH);
    let refused = validation(
        store
            .append(
                &s,
                ExpectedVersion::Any,
                vec![event("Counted", nested(MAX_JSON_DEPTH + 1))],
                None,
            )
            .await,
    );
    assert_eq!(
        refused.to_string(),
        too_deep("payload of event 0 (`Counted`)", &deep_path)
    );

    let mut deep = event("Counted", json!({}));
    deep.metadata = deep_metadata(MAX_JSON_DEPTH + 1);
    let refused = validation(
        store
            .append(&s, ExpectedVersion::Any, vec![deep], None)
            .await,
    );
    let entry_path = format!("/entries/trace{}", "/a".repeat(MAX_JSON_DEPTH - 2));
    assert_eq!(
        refused.to_string(),
        too_deep("metadata of event 0 (`Counted`)", &entry_path)
    );
    assert!(
        store.load(&s, 1).await.expect("load").is_empty(),
        "nothing was stored"
    );

    let mut at_limit = event("Counted", nested(MAX_JSON_DEPTH));
    at_limit.metadata = deep_metadata(MAX_JSON_DEPTH);
    append(
        &*store,
        &s,
        ExpectedVersion::NoStream,
        vec![at_limit.clone()],
    )
    .await;
    let loaded = store.load(&s, 1).await.expect("load").remove(0);
    assert_eq!(loaded.data, at_limit.payload);
    assert_eq!(loaded.metadata, at_limit.metadata);
    let logged = read_everything(
        &*store,
        ReadAll::new(TenantScope::Tenant(s.tenant.clone())),
        1,
    )
    .await;
    assert_eq!(logged[0].data, at_limit.payload);
    assert_eq!(logged[0].metadata, at_limit.metadata);

    let refused = validation(
        store
            .save_snapshot(&s, snapshot(1, nested(MAX_JSON_DEPTH + 1)))
            .await,
    );
    assert_eq!(refused.to_string(), too_deep("snapshot state", &deep_path));
    assert!(store.load_snapshot(&s).await.expect("load").is_none());
    store
        .save_snapshot(&s, snapshot(1, nested(MAX_JSON_DEPTH)))
        .await
        .expect("a state at the limit is kept");
    let kept = store
        .load_snapshot(&s)
        .await
        .expect("load")
        .expect("a snapshot");
    assert_eq!(kept.state, nested(MAX_JSON_DEPTH));
    let load = store
        .load_aggregate(&s, Some(7))
        .await
        .expect("load_aggregate");
    assert_eq!(
        load.snapshot.expect("the snapshot").state,
        nested(MAX_JSON_DEPTH)
    );
    assert!(load.events.is_empty());
}

/// Numbers come back as PostgreSQL's `jsonb` returns them, from every store: `-0.0` as
/// `0.0`, a float with no fraction from 10^16 up as the integer; every other number as
/// it went in. Times are kept to the microsecond.
pub async fn numbers_and_times_come_back_alike<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "numbers");
    let numbers = json!({
        "values": [
            -0.0, 0.0, 1e16, -1e16, 1.5e16, 1e15, 123.0, -7, 0.1, 1e-7, 5e-324,
            1.7976931348623157e308, 1e300, 18446744073709551615u64, -9223372036854775808i64,
            1.8446744073709552e19, 9007199254740993u64, 2.5
        ]
    });
    let expected = "{\"values\":[0.0,0.0,10000000000000000,-10000000000000000,15000000000000000,\
        1000000000000000.0,123.0,-7,0.1,1e-7,5e-324,1.7976931348623157e+308,1e+300,\
        18446744073709551615,-9223372036854775808,1.8446744073709552e+19,9007199254740993,2.5]}";
    let mut new = event("Counted", numbers.clone());
    new.metadata = Metadata::new().with_entry("n", numbers.clone());
    append(&*store, &s, ExpectedVersion::NoStream, vec![new]).await;
    let loaded = store.load(&s, 1).await.expect("load").remove(0);
    assert_eq!(loaded.data.to_string(), expected);
    assert_eq!(loaded.metadata.entries["n"].to_string(), expected);
    assert_eq!(
        loaded.recorded_at.timestamp_subsec_nanos() % 1_000,
        0,
        "times are kept to the microsecond"
    );

    let taken_at = DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("a time");
    let mut state = snapshot(1, numbers);
    state.taken_at = taken_at;
    store.save_snapshot(&s, state).await.expect("save");
    let kept = store
        .load_snapshot(&s)
        .await
        .expect("load")
        .expect("a snapshot");
    assert_eq!(kept.state.to_string(), expected);
    assert_eq!(
        kept.taken_at,
        DateTime::from_timestamp(1_700_000_000, 123_456_000).expect("a time"),
        "cut to the microsecond"
    );
}

/// A time before PostgreSQL's `timestamptz` begins (4714-11-24 BC) is refused before it
/// reaches storage; the first one it holds is kept.
pub async fn times_out_of_range_are_refused<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "times");
    append(&*store, &s, ExpectedVersion::NoStream, numbered(1)).await;
    let first = DateTime::from_timestamp_micros(acci_core::MIN_STORED_TIME_MICROS).expect("a time");
    let mut early = snapshot(1, json!({}));
    early.taken_at = first - chrono::Duration::microseconds(1);
    let refused = validation(store.save_snapshot(&s, early).await);
    assert_eq!(refused.what, "snapshot time");
    assert!(
        refused.problem.contains("before the earliest time"),
        "{refused}"
    );
    let mut oldest = snapshot(1, json!({}));
    oldest.taken_at = first;
    store
        .save_snapshot(&s, oldest)
        .await
        .expect("the first time kept is accepted");
    let kept = store
        .load_snapshot(&s)
        .await
        .expect("load")
        .expect("a snapshot");
    assert_eq!(kept.taken_at, first);
}

/// A stream id whose aggregate type was set by hand, past [`StreamId::new`], is refused
/// by every call before it reaches storage.
pub async fn hand_built_stream_ids_are_checked<S: EventStore + ?Sized>(store: Arc<S>) {
    let good = stream("t1", "Account", "a");
    for aggregate_type in ["", "Bad\u{0}Type", &"x".repeat(300)] {
        let bad = StreamId {
            aggregate_type: aggregate_type.into(),
            ..good.clone()
        };
        let check = |v: ValidationError| assert_eq!(v.what, "aggregate type", "{v}");
        check(validation(
            store
                .append(&bad, ExpectedVersion::Any, numbered(1), None)
                .await,
        ));
        check(validation(store.load(&bad, 1).await));
        check(validation(store.load_range(&bad, 1, 5).await));
        check(validation(store.load_aggregate(&bad, Some(1)).await));
        check(validation(
            store.save_snapshot(&bad, snapshot(1, json!({}))).await,
        ));
        check(validation(store.load_snapshot(&bad).await));
    }
}
