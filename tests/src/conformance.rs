//! The event store conformance suite: the contract every [`EventStore`] keeps.
//!
//! Each case is a function over a fresh, empty store. Run them all for a store with
//! [`conformance_tests!`](crate::conformance_tests), which generates one `#[tokio::test]`
//! per case, so a failure names the rule that broke:
//!
//! ```ignore
//! acci_tests::conformance_tests!(async { (InMemoryEventStore::new(), ()) });
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use acci_core::{
    AggregateEvent, AggregateId, AppendOutcome, Appended, CommandId, CommandRecord, EventId,
    EventKind, EventStore, ExpectedVersion, LogPosition, MAX_EVENTS_PER_APPEND, MAX_READ_BATCH,
    Metadata, NewEvent, Payload, ReadAll, Snapshot, StoreError, StreamId, TenantId, TenantScope,
};
use serde_json::{Value, json};

mod input;
pub use input::{
    hand_built_stream_ids_are_checked, json_nested_past_the_limit_is_refused,
    numbers_and_times_come_back_alike, times_out_of_range_are_refused,
};

/// Runs every conformance case as its own `#[tokio::test]`.
///
/// `$make` is an expression that evaluates to a future of `(store, guard)`: a fresh,
/// empty store and a value to keep alive until the test ends (a test database that is
/// dropped afterwards; `()` for the in-memory store). It is evaluated once per test.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            append_to_a_new_stream_numbers_events_from_one,
            no_stream_expectation_rejects_an_existing_stream,
            exact_expectation_reports_expected_and_actual,
            any_expectation_always_appends,
            a_failed_append_stores_nothing,
            malformed_input_is_rejected_before_storage,
            duplicate_event_ids_are_rejected,
            load_reads_from_a_sequence_number,
            load_range_reads_both_ends_included,
            streams_are_separate_per_tenant_type_and_id,
            unusual_ids_round_trip,
            payload_and_metadata_round_trip,
            global_log_reads_every_event_once_in_batches,
            global_log_filters_by_event_type,
            global_log_filters_by_aggregate_and_event_type,
            global_log_is_scoped_to_a_tenant,
            global_log_rejects_bad_requests,
            snapshots_keep_the_newest_per_stream,
            snapshots_past_the_stream_are_rejected,
            load_aggregate_starts_after_a_snapshot_of_the_wanted_shape,
            command_ids_are_recorded_with_their_events,
            a_command_record_carries_its_events,
            a_recorded_command_id_is_answered_before_the_version_is_compared,
            a_failed_append_records_no_command,
            racing_appends_with_one_expected_version_let_one_win,
            racing_appends_with_any_version_all_succeed,
            concurrent_writers_leave_a_complete_consistent_log,
            json_nested_past_the_limit_is_refused,
            numbers_and_times_come_back_alike,
            times_out_of_range_are_refused,
            hand_built_stream_ids_are_checked,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                // The second value keeps whatever the store needs alive (a test database).
                let (store, _keep) = $make.await;
                $crate::conformance::$case(::std::sync::Arc::new(store)).await;
            }
        )*
    };
}

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).expect("a valid tenant id")
}

fn stream(tenant_name: &str, aggregate_type: &str, id: &str) -> StreamId {
    StreamId::new(
        tenant(tenant_name),
        aggregate_type,
        AggregateId::new(id).expect("a valid id"),
    )
    .expect("a valid stream")
}

fn event(event_type: &str, payload: Value) -> NewEvent {
    NewEvent {
        event_id: EventId::new(),
        event_type: event_type.to_owned().into(),
        schema_version: 1,
        payload,
        metadata: Metadata::default(),
    }
}

fn numbered(count: usize) -> Vec<NewEvent> {
    (0..count)
        .map(|n| event("Counted", json!({ "n": n })))
        .collect()
}

async fn append<S: EventStore + ?Sized>(
    store: &S,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
) -> Appended {
    match store.append(stream, expected, events, None).await {
        Ok(AppendOutcome::Appended(appended)) => appended,
        other => panic!("expected the append to {stream} to succeed, got {other:?}"),
    }
}

/// Reads the whole log with `request`'s scope, batch size and filter until it holds `expected` events, then checks
/// that nothing follows. A store's global log may trail its commits (PostgreSQL waits for
/// older transactions anywhere on the server), so the reader keeps polling for a while
/// rather than treating an empty batch as the end.
async fn read_everything<S: EventStore + ?Sized>(
    store: &S,
    request: ReadAll,
    expected: usize,
) -> Vec<acci_core::StoredEvent> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut all = Vec::new();
    let mut after = LogPosition::START;
    loop {
        let page = store
            .read_all(&request.clone().after(after))
            .await
            .expect("read_all");
        assert!(
            page.events.len() <= request.limit,
            "a batch holds at most its limit"
        );
        if page.events.is_empty() {
            assert!(
                page.next >= after,
                "an empty batch never resumes before where it started"
            );
            after = page.next;
            if all.len() >= expected {
                assert_eq!(
                    all.len(),
                    expected,
                    "the log holds exactly the events appended"
                );
                return all;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the log shows {} of {expected} events after 30 s",
                all.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        }
        assert_eq!(page.next, page.events.last().expect("not empty").position);
        after = page.next;
        all.extend(page.events);
    }
}

/// Sequences start at 1, grow by one, and the result names the new version.
pub async fn append_to_a_new_stream_numbers_events_from_one<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a-1");
    let first = append(&*store, &s, ExpectedVersion::NoStream, numbered(3)).await;
    assert_eq!((first.first_sequence, first.last_sequence), (1, 3));
    let second = append(&*store, &s, ExpectedVersion::Exactly(3), numbered(2)).await;
    assert_eq!((second.first_sequence, second.last_sequence), (4, 5));
    assert!(second.last_position > first.last_position);
    let loaded = store.load(&s, 1).await.expect("load");
    assert_eq!(
        loaded.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(loaded[4].position, second.last_position);
}

/// `NoStream` (and `Exactly(0)`) fail once the stream has an event.
pub async fn no_stream_expectation_rejects_an_existing_stream<S: EventStore + ?Sized>(
    store: Arc<S>,
) {
    let s = stream("t1", "Account", "a-1");
    append(&*store, &s, ExpectedVersion::Exactly(0), numbered(1)).await;
    for expected in [ExpectedVersion::NoStream, ExpectedVersion::Exactly(0)] {
        match store.append(&s, expected, numbered(1), None).await {
            Err(StoreError::Conflict(conflict)) => {
                assert_eq!(conflict.expected, expected);
                assert_eq!(conflict.actual, 1);
                assert_eq!(conflict.stream, s);
            }
            other => panic!("expected a conflict for {expected}, got {other:?}"),
        }
    }
}

/// A wrong exact version is a conflict naming both versions, for a missing stream too.
pub async fn exact_expectation_reports_expected_and_actual<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a-1");
    match store
        .append(&s, ExpectedVersion::Exactly(2), numbered(1), None)
        .await
    {
        Err(StoreError::Conflict(c)) => {
            assert_eq!((c.expected, c.actual), (ExpectedVersion::Exactly(2), 0))
        }
        other => panic!("expected a conflict on a missing stream, got {other:?}"),
    }
    append(&*store, &s, ExpectedVersion::NoStream, numbered(2)).await;
    match store
        .append(&s, ExpectedVersion::Exactly(1), numbered(1), None)
        .await
    {
        Err(StoreError::Conflict(c)) => {
            assert_eq!((c.expected, c.actual), (ExpectedVersion::Exactly(1), 2));
            let message = StoreError::Conflict(c).to_string();
            assert!(
                message.contains("expected version 1") && message.contains("version 2"),
                "{message}"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
}

/// `Any` appends to a new and to an existing stream.
pub async fn any_expectation_always_appends<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a-1");
    assert_eq!(
        append(&*store, &s, ExpectedVersion::Any, numbered(1))
            .await
            .last_sequence,
        1
    );
    assert_eq!(
        append(&*store, &s, ExpectedVersion::Any, numbered(2))
            .await
            .last_sequence,
        3
    );
}

/// A rejected append leaves no event behind: not in the stream, not in the log.
pub async fn a_failed_append_stores_nothing<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a-1");
    append(&*store, &s, ExpectedVersion::NoStream, numbered(1)).await;
    let existing_id = store.load(&s, 1).await.expect("load")[0].event_id;
    let mut batch = numbered(3);
    batch[2].event_id = existing_id;
    match store
        .append(&s, ExpectedVersion::Exactly(1), batch, None)
        .await
    {
        Err(StoreError::DuplicateEventId(id)) => assert_eq!(id, existing_id),
        other => panic!("expected the taken event id to be named, got {other:?}"),
    }
    assert!(matches!(
        store
            .append(&s, ExpectedVersion::Exactly(7), numbered(3), None)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.load(&s, 1).await.expect("load").len(), 1);
    read_everything(&*store, ReadAll::new(TenantScope::AllTenants).limit(100), 1).await;
}

/// Empty lists, non-object payloads, version 0, bad type names and oversized batches are
/// validation errors that name the problem.
pub async fn malformed_input_is_rejected_before_storage<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a-1");
    let expect_invalid = |result: Result<AppendOutcome, StoreError>, fragment: &str| match result {
        Err(StoreError::Validation(v)) => {
            assert!(
                v.to_string().contains(fragment),
                "`{v}` should mention `{fragment}`"
            )
        }
        other => panic!("expected a validation error about `{fragment}`, got {other:?}"),
    };
    expect_invalid(
        store.append(&s, ExpectedVersion::Any, vec![], None).await,
        "event list is empty",
    );
    expect_invalid(
        store
            .append(
                &s,
                ExpectedVersion::Any,
                vec![event("Counted", json!([1, 2]))],
                None,
            )
            .await,
        "not a JSON object: an array",
    );
    expect_invalid(
        store
            .append(
                &s,
                ExpectedVersion::Any,
                vec![event("Counted", json!("text"))],
                None,
            )
            .await,
        "not a JSON object: a string",
    );
    let mut zero = event("Counted", json!({}));
    zero.schema_version = 0;
    expect_invalid(
        store
            .append(&s, ExpectedVersion::Any, vec![zero], None)
            .await,
        "versions run from 1",
    );
    let mut huge = event("Counted", json!({}));
    huge.schema_version = u32::MAX;
    expect_invalid(
        store
            .append(&s, ExpectedVersion::Any, vec![huge], None)
            .await,
        "versions run from 1",
    );
    expect_invalid(
        store
            .append(
                &s,
                ExpectedVersion::Any,
                vec![event("Counted", json!({ "text": "a\u{0}b" }))],
                None,
            )
            .await,
        "U+0000",
    );
    expect_invalid(
        store
            .append(
                &s,
                ExpectedVersion::Any,
                vec![event("Counted", json!({ "a\u{0}": 1 }))],
                None,
            )
            .await,
        "U+0000",
    );
    let mut bad_metadata = event("Counted", json!({}));
    bad_metadata.metadata.user_id = Some("nul\u{0}".into());
    expect_invalid(
        store
            .append(&s, ExpectedVersion::Any, vec![bad_metadata], None)
            .await,
        "metadata",
    );
    expect_invalid(
        store
            .append(
                &s,
                ExpectedVersion::Exactly(u64::MAX),
                vec![event("Counted", json!({}))],
                None,
            )
            .await,
        "expected version",
    );
    let beyond = ReadAll::new(TenantScope::AllTenants).after(LogPosition {
        commit: 1,
        position: u64::MAX,
    });
    assert!(matches!(
        store.read_all(&beyond).await,
        Err(StoreError::Validation(_))
    ));
    expect_invalid(
        store
            .append(&s, ExpectedVersion::Any, vec![event("", json!({}))], None)
            .await,
        "event type must not be empty",
    );
    expect_invalid(
        store
            .append(
                &s,
                ExpectedVersion::Any,
                vec![event("bad\nname", json!({}))],
                None,
            )
            .await,
        "control character",
    );
    expect_invalid(
        store
            .append(
                &s,
                ExpectedVersion::Any,
                numbered(MAX_EVENTS_PER_APPEND + 1),
                None,
            )
            .await,
        "at most",
    );
    assert!(StreamId::new(tenant("t1"), "", AggregateId::new("x").expect("id")).is_err());
    assert!(store.load(&s, 1).await.expect("load").is_empty());
}

/// Two events with one id never both get stored, within a batch or across appends.
pub async fn duplicate_event_ids_are_rejected<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a-1");
    let mut twins = numbered(2);
    twins[1].event_id = twins[0].event_id;
    assert!(matches!(
        store
            .append(&s, ExpectedVersion::Any, twins.clone(), None)
            .await,
        Err(StoreError::DuplicateEventId(_))
    ));
    append(&*store, &s, ExpectedVersion::Any, vec![twins[0].clone()]).await;
    let other = stream("t1", "Account", "a-2");
    assert!(matches!(
        store
            .append(&other, ExpectedVersion::Any, vec![twins[1].clone()], None)
            .await,
        Err(StoreError::DuplicateEventId(_))
    ));
}

/// `load(stream, n)` returns the events from sequence `n` on; past the end, none.
pub async fn load_reads_from_a_sequence_number<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a-1");
    append(&*store, &s, ExpectedVersion::NoStream, numbered(5)).await;
    let sequences =
        |events: Vec<acci_core::StoredEvent>| events.iter().map(|e| e.sequence).collect::<Vec<_>>();
    assert_eq!(
        sequences(store.load(&s, 0).await.expect("load")),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(sequences(store.load(&s, 4).await.expect("load")), [4, 5]);
    assert!(store.load(&s, 6).await.expect("load").is_empty());
    assert!(
        store
            .load(&stream("t1", "Account", "missing"), 1)
            .await
            .expect("load")
            .is_empty()
    );
}

/// `load_range(stream, a, b)` returns `a..=b`, clipped to the stream.
pub async fn load_range_reads_both_ends_included<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a-1");
    append(&*store, &s, ExpectedVersion::NoStream, numbered(5)).await;
    let range =
        |events: Vec<acci_core::StoredEvent>| events.iter().map(|e| e.sequence).collect::<Vec<_>>();
    assert_eq!(
        range(store.load_range(&s, 2, 4).await.expect("range")),
        [2, 3, 4]
    );
    assert_eq!(
        range(store.load_range(&s, 4, 99).await.expect("range")),
        [4, 5]
    );
    assert!(store.load_range(&s, 4, 3).await.expect("range").is_empty());
}

/// The same aggregate id in another tenant or aggregate type is another stream.
pub async fn streams_are_separate_per_tenant_type_and_id<S: EventStore + ?Sized>(store: Arc<S>) {
    let streams = [
        stream("t1", "Account", "same"),
        stream("t2", "Account", "same"),
        stream("t1", "Customer", "same"),
        stream("t1", "Account", "other"),
    ];
    for (index, s) in streams.iter().enumerate() {
        append(&*store, s, ExpectedVersion::NoStream, numbered(index + 1)).await;
    }
    for (index, s) in streams.iter().enumerate() {
        let events = store.load(s, 1).await.expect("load");
        assert_eq!(events.len(), index + 1, "stream {s}");
        assert!(events.iter().all(|e| e.stream == *s));
    }
}

/// Quotes, backslashes, non-ASCII text and 1 KiB ids are stored and found as given.
pub async fn unusual_ids_round_trip<S: EventStore + ?Sized>(store: Arc<S>) {
    let long = "x".repeat(1024);
    for (tenant_name, id) in [
        ("o'brien", "o'brien"),
        ("back\\slash", "a\\b\\\\c"),
        ("tenant \"quoted\"", "'; drop table events; --"),
        ("日本", "emoji 🙂 and ümlauts"),
        ("t-long", long.as_str()),
        ("percent%_", "50%_off"),
    ] {
        let s = stream(tenant_name, "Account", id);
        append(&*store, &s, ExpectedVersion::NoStream, numbered(1)).await;
        let loaded = store.load(&s, 1).await.expect("load");
        assert_eq!(loaded.len(), 1, "stream {s}");
        assert_eq!(loaded[0].stream.aggregate_id.as_str(), id);
        assert_eq!(loaded[0].stream.tenant.as_str(), tenant_name);
        let own = read_everything(
            &*store,
            ReadAll::new(TenantScope::Tenant(tenant(tenant_name))).limit(10),
            1,
        )
        .await;
        assert_eq!(
            own[0].stream, s,
            "tenant {tenant_name} sees exactly its event"
        );
    }
}

/// Payload and metadata come back as they went in; the store sets the time.
pub async fn payload_and_metadata_round_trip<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a-1");
    let correlation = uuid_like(1);
    let metadata = Metadata::new()
        .with_correlation_id(correlation)
        .with_causation_id(uuid_like(2))
        .with_user_id("user-7")
        .with_entry("request", json!({ "ip": "10.0.0.1", "tags": ["a", "b"] }));
    let payload =
        json!({ "nested": { "list": [1, 2.5, null, "x"], "flag": true }, "text": "ünïcode \"q\"" });
    let mut new = event("Counted", payload.clone());
    new.metadata = metadata.clone();
    new.schema_version = 3;
    let id = new.event_id;
    let before = chrono::Utc::now();
    append(&*store, &s, ExpectedVersion::NoStream, vec![new]).await;
    let loaded = store.load(&s, 1).await.expect("load").remove(0);
    assert_eq!(loaded.event_id, id);
    assert_eq!(loaded.data, payload);
    assert_eq!(loaded.metadata, metadata);
    assert_eq!(loaded.schema_version, 3);
    assert_eq!(loaded.event_type, "Counted");
    let skew = chrono::Duration::seconds(5);
    assert!(loaded.recorded_at >= before - skew && loaded.recorded_at <= chrono::Utc::now() + skew);
}

fn uuid_like(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

/// Reading the log in small batches returns every event exactly once, in position order,
/// with each stream's events in sequence order.
pub async fn global_log_reads_every_event_once_in_batches<S: EventStore + ?Sized>(store: Arc<S>) {
    let a = stream("t1", "Account", "a");
    let b = stream("t1", "Account", "b");
    for round in 0..4 {
        append(&*store, &a, ExpectedVersion::Any, numbered(round + 1)).await;
        append(&*store, &b, ExpectedVersion::Any, numbered(2)).await;
    }
    let all = read_everything(
        &*store,
        ReadAll::new(TenantScope::AllTenants).limit(3),
        (1 + 2 + 3 + 4) + 8,
    )
    .await;
    assert!(
        all.windows(2).all(|w| w[0].position < w[1].position),
        "strictly increasing positions"
    );
    let mut last_sequence: HashMap<StreamId, u64> = HashMap::new();
    for e in &all {
        let previous = last_sequence
            .insert(e.stream.clone(), e.sequence)
            .unwrap_or(0);
        assert_eq!(
            e.sequence,
            previous + 1,
            "stream order agrees with log order"
        );
    }
    let resumed = store
        .read_all(
            &ReadAll::new(TenantScope::AllTenants)
                .after(all[9].position)
                .limit(100),
        )
        .await
        .expect("read");
    assert_eq!(
        resumed.events.first().map(|e| e.event_id),
        Some(all[10].event_id)
    );
}

/// A type filter returns only those types, still in log order.
pub async fn global_log_filters_by_event_type<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a");
    let kinds = [
        "Opened",
        "Deposited",
        "Withdrawn",
        "Deposited",
        "Closed",
        "Deposited",
    ];
    let events = kinds.iter().map(|k| event(k, json!({}))).collect();
    append(&*store, &s, ExpectedVersion::NoStream, events).await;
    let request = ReadAll::new(TenantScope::AllTenants).limit(2).events([
        EventKind::new("Account", "Deposited"),
        EventKind::new("Account", "Closed"),
    ]);
    let seen: Vec<(u64, String)> = read_everything(&*store, request, 4)
        .await
        .into_iter()
        .map(|e| (e.sequence, e.event_type))
        .collect();
    let expected: Vec<(u64, String)> = vec![
        (2, "Deposited".into()),
        (4, "Deposited".into()),
        (5, "Closed".into()),
        (6, "Deposited".into()),
    ];
    assert_eq!(seen, expected);
}

/// The filter selects by aggregate type and event type: two aggregates that both store an
/// `Opened` are told apart, and a kind without an aggregate type selects it from both.
pub async fn global_log_filters_by_aggregate_and_event_type<S: EventStore + ?Sized>(store: Arc<S>) {
    let account = stream("t1", "Account", "a");
    let loan = stream("t1", "Loan", "l");
    for (s, kinds) in [
        (&account, ["Opened", "Deposited"]),
        (&loan, ["Opened", "Repaid"]),
    ] {
        let events = kinds.iter().map(|k| event(k, json!({}))).collect();
        append(&*store, s, ExpectedVersion::NoStream, events).await;
    }
    let read = |kinds: Vec<EventKind>, expected: usize| {
        let store = Arc::clone(&store);
        async move {
            let request = ReadAll::new(TenantScope::AllTenants).limit(1).events(kinds);
            read_everything(&*store, request, expected)
                .await
                .into_iter()
                .map(|e| (e.stream.aggregate_type.to_string(), e.event_type))
                .collect::<Vec<_>>()
        }
    };
    let pair = |a: &str, e: &str| (a.to_owned(), e.to_owned());
    assert_eq!(
        read(vec![EventKind::new("Account", "Opened")], 1).await,
        [pair("Account", "Opened")],
        "the loan's `Opened` is not the account's"
    );
    assert_eq!(
        read(
            vec![
                EventKind::new("Loan", "Opened"),
                EventKind::new("Account", "Deposited")
            ],
            2
        )
        .await,
        [pair("Account", "Deposited"), pair("Loan", "Opened")]
    );
    assert_eq!(
        read(vec![EventKind::any_aggregate("Opened")], 2).await,
        [pair("Account", "Opened"), pair("Loan", "Opened")]
    );
    assert!(
        read(vec![EventKind::new("Loan", "Deposited")], 0)
            .await
            .is_empty()
    );
}

/// A tenant-scoped read never returns another tenant's events; `AllTenants` returns all.
pub async fn global_log_is_scoped_to_a_tenant<S: EventStore + ?Sized>(store: Arc<S>) {
    for (t, count) in [("t1", 3), ("t2", 2), ("t3", 1)] {
        append(
            &*store,
            &stream(t, "Account", "a"),
            ExpectedVersion::NoStream,
            numbered(count),
        )
        .await;
    }
    let t2 = read_everything(
        &*store,
        ReadAll::new(TenantScope::Tenant(tenant("t2"))).limit(1),
        2,
    )
    .await;
    assert!(t2.iter().all(|e| e.stream.tenant.as_str() == "t2"));
    read_everything(&*store, ReadAll::new(TenantScope::AllTenants).limit(2), 6).await;
    read_everything(
        &*store,
        ReadAll::new(TenantScope::Tenant(tenant("nobody"))).limit(5),
        0,
    )
    .await;
}

/// Zero or oversized batches and an empty type filter are validation errors.
pub async fn global_log_rejects_bad_requests<S: EventStore + ?Sized>(store: Arc<S>) {
    for request in [
        ReadAll::new(TenantScope::AllTenants).limit(0),
        ReadAll::new(TenantScope::AllTenants).limit(MAX_READ_BATCH + 1),
        ReadAll::new(TenantScope::AllTenants).events([]),
        ReadAll::new(TenantScope::AllTenants).events([EventKind::any_aggregate("")]),
        ReadAll::new(TenantScope::AllTenants).events([EventKind::new("", "Opened")]),
    ] {
        assert!(
            matches!(
                store.read_all(&request).await,
                Err(StoreError::Validation(_))
            ),
            "{request:?} should be rejected"
        );
    }
}

fn snapshot(version: u64, marker: &str) -> Snapshot {
    Snapshot {
        version,
        state_version: 42,
        state: json!({ "marker": marker }),
        taken_at: chrono::Utc::now(),
    }
}

/// The store keeps the newest snapshot per stream; an older one does not replace it.
pub async fn snapshots_keep_the_newest_per_stream<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a");
    let other_tenant = stream("t2", "Account", "a");
    assert!(store.load_snapshot(&s).await.expect("load").is_none());
    append(&*store, &s, ExpectedVersion::NoStream, numbered(10)).await;
    store
        .save_snapshot(&s, snapshot(5, "five"))
        .await
        .expect("save");
    store
        .save_snapshot(&s, snapshot(3, "three"))
        .await
        .expect("an older snapshot is accepted and ignored");
    let kept = store
        .load_snapshot(&s)
        .await
        .expect("load")
        .expect("a snapshot");
    assert_eq!(
        (kept.version, kept.state["marker"].as_str()),
        (5, Some("five"))
    );
    assert_eq!(kept.state_version, 42);
    store
        .save_snapshot(&s, snapshot(10, "ten"))
        .await
        .expect("save");
    assert_eq!(
        store
            .load_snapshot(&s)
            .await
            .expect("load")
            .expect("a snapshot")
            .version,
        10
    );
    assert!(
        store
            .load_snapshot(&other_tenant)
            .await
            .expect("load")
            .is_none(),
        "snapshots are per tenant"
    );
}

/// `load_aggregate` returns the snapshot of the wanted state version and only the events
/// after it; a snapshot of another shape is passed over.
pub async fn load_aggregate_starts_after_a_snapshot_of_the_wanted_shape<S: EventStore + ?Sized>(
    store: Arc<S>,
) {
    let s = stream("t1", "Account", "a");
    let empty = store.load_aggregate(&s, Some(42)).await.expect("load");
    assert!(empty.snapshot.is_none() && empty.events.is_empty());
    append(&*store, &s, ExpectedVersion::NoStream, numbered(6)).await;
    store
        .save_snapshot(&s, snapshot(4, "four"))
        .await
        .expect("save");

    let fitting = store.load_aggregate(&s, Some(42)).await.expect("load");
    let kept = fitting.snapshot.expect("the snapshot of state version 42");
    assert_eq!(
        (
            kept.version,
            kept.state_version,
            kept.state["marker"].as_str()
        ),
        (4, 42, Some("four"))
    );
    assert_eq!(
        fitting
            .events
            .iter()
            .map(|e| e.sequence)
            .collect::<Vec<_>>(),
        [5, 6]
    );

    for wanted in [Some(7), None] {
        let other = store.load_aggregate(&s, wanted).await.expect("load");
        assert!(other.snapshot.is_none(), "{wanted:?}");
        assert_eq!(other.events.len(), 6, "{wanted:?}");
    }
}

/// A snapshot claiming events the stream does not have is rejected.
pub async fn snapshots_past_the_stream_are_rejected<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a");
    assert!(matches!(
        store.save_snapshot(&s, snapshot(1, "ghost")).await,
        Err(StoreError::Validation(_))
    ));
    append(&*store, &s, ExpectedVersion::NoStream, numbered(2)).await;
    assert!(matches!(
        store.save_snapshot(&s, snapshot(3, "ahead")).await,
        Err(StoreError::Validation(_))
    ));
    assert!(matches!(
        store.save_snapshot(&s, snapshot(0, "zero")).await,
        Err(StoreError::Validation(_))
    ));
    let nul = Snapshot {
        state: json!({ "name": "a\u{0}" }),
        ..snapshot(1, "nul")
    };
    assert!(matches!(
        store.save_snapshot(&s, nul).await,
        Err(StoreError::Validation(_))
    ));
    assert!(store.load_snapshot(&s).await.expect("load").is_none());
}

/// A command id is recorded with its events; sending it again stores nothing and returns
/// the first record. Ids are per tenant.
pub async fn command_ids_are_recorded_with_their_events<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a");
    let command = CommandId::new();
    let first = match store
        .append(&s, ExpectedVersion::NoStream, numbered(2), Some(command))
        .await
    {
        Ok(AppendOutcome::Appended(appended)) => appended,
        other => panic!("expected an append, got {other:?}"),
    };
    let record = store
        .find_command(&tenant("t1"), command)
        .await
        .expect("find")
        .expect("recorded");
    assert_eq!((record.first_sequence, record.last_sequence), (1, 2));
    assert_eq!(record.last_position, first.last_position);
    assert_eq!(record.stream, s);
    match store
        .append(&s, ExpectedVersion::Any, numbered(2), Some(command))
        .await
    {
        Ok(AppendOutcome::AlreadyApplied(again)) => assert_same_record(&again, &record),
        other => panic!("expected the first record back, got {other:?}"),
    }
    assert_eq!(
        store.load(&s, 1).await.expect("load").len(),
        2,
        "the repeat stored nothing"
    );
    assert!(
        store
            .find_command(&tenant("t2"), command)
            .await
            .expect("find")
            .is_none()
    );
    let elsewhere = stream("t2", "Account", "a");
    assert!(matches!(
        store
            .append(&elsewhere, ExpectedVersion::Any, numbered(1), Some(command))
            .await,
        Ok(AppendOutcome::Appended(_))
    ));
}

/// A payload as a JSON value, however the store handed it over.
fn payload_value(payload: &Payload) -> Value {
    match payload {
        Payload::Text(text) => serde_json::from_str(text).expect("stored JSON"),
        Payload::Parsed(value) => value.clone(),
    }
}

/// The parts of an event a repeated command is answered with.
fn event_facts(event: &AggregateEvent) -> (EventId, u64, String, u32, Value) {
    (
        event.event_id,
        event.sequence,
        event.event_type.clone(),
        event.schema_version,
        payload_value(&event.data),
    )
}

/// Two records are the same, events included, whichever form their payloads take.
fn assert_same_record(found: &CommandRecord, expected: &CommandRecord) {
    let facts = |record: &CommandRecord| {
        (
            record.command_id,
            record.stream.clone(),
            record.first_sequence,
            record.last_sequence,
            record.last_position,
            record.events.iter().map(event_facts).collect::<Vec<_>>(),
        )
    };
    assert_eq!(facts(found), facts(expected));
}

/// A command record carries the events the command stored, so a repeated command is
/// answered from it alone: from `find_command` and from a repeated append, for the stream
/// it went to and for another one.
pub async fn a_command_record_carries_its_events<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a");
    append(&*store, &s, ExpectedVersion::NoStream, numbered(1)).await;
    let command = CommandId::new();
    let sent = vec![
        event("Deposited", json!({ "amount": 5, "note": "first" })),
        event(
            "Deposited",
            json!({ "amount": 7, "nested": { "list": [1, 2] } }),
        ),
    ];
    let sent_ids: Vec<EventId> = sent.iter().map(|e| e.event_id).collect();
    match store
        .append(&s, ExpectedVersion::Exactly(1), sent, Some(command))
        .await
    {
        Ok(AppendOutcome::Appended(appended)) => assert_eq!(appended.first_sequence, 2),
        other => panic!("expected an append, got {other:?}"),
    }
    // Another command's events after it are not part of its record.
    append(&*store, &s, ExpectedVersion::Exactly(3), numbered(1)).await;

    let stored: Vec<_> = store
        .load_range(&s, 2, 3)
        .await
        .expect("load")
        .into_iter()
        .map(|e| {
            (
                e.event_id,
                e.sequence,
                e.event_type,
                e.schema_version,
                e.data,
            )
        })
        .collect();
    let record = store
        .find_command(&tenant("t1"), command)
        .await
        .expect("find")
        .expect("recorded");
    assert_eq!((record.first_sequence, record.last_sequence), (2, 3));
    assert_eq!(
        record.events.iter().map(event_facts).collect::<Vec<_>>(),
        stored
    );
    assert_eq!(
        record.events.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        sent_ids
    );

    for target in [s.clone(), stream("t1", "Account", "b")] {
        match store
            .append(&target, ExpectedVersion::Any, numbered(1), Some(command))
            .await
        {
            Ok(AppendOutcome::AlreadyApplied(again)) => assert_same_record(&again, &record),
            other => panic!("expected the record of {s} back, got {other:?}"),
        }
    }
    assert_eq!(store.load(&s, 1).await.expect("load").len(), 4);
    assert!(
        store
            .load(&stream("t1", "Account", "b"), 1)
            .await
            .expect("load")
            .is_empty()
    );
}

/// A recorded command id is answered before the expected version is compared: a repeat
/// that expects a version the stream has left gets the record, not a conflict. (So a
/// conflict always means the id was not recorded when the append ran.)
pub async fn a_recorded_command_id_is_answered_before_the_version_is_compared<
    S: EventStore + ?Sized,
>(
    store: Arc<S>,
) {
    let s = stream("t1", "Account", "a");
    let command = CommandId::new();
    assert!(matches!(
        store
            .append(&s, ExpectedVersion::NoStream, numbered(1), Some(command))
            .await,
        Ok(AppendOutcome::Appended(_))
    ));
    append(&*store, &s, ExpectedVersion::Exactly(1), numbered(2)).await;
    for expected in [ExpectedVersion::NoStream, ExpectedVersion::Exactly(1)] {
        match store.append(&s, expected, numbered(1), Some(command)).await {
            Ok(AppendOutcome::AlreadyApplied(record)) => {
                assert_eq!((record.last_sequence, record.events.len()), (1, 1))
            }
            other => panic!("expected the record for {expected}, got {other:?}"),
        }
    }
}

/// An append that fails records no command, so the command can be sent again.
pub async fn a_failed_append_records_no_command<S: EventStore + ?Sized>(store: Arc<S>) {
    let s = stream("t1", "Account", "a");
    let command = CommandId::new();
    assert!(
        store
            .append(&s, ExpectedVersion::Exactly(4), numbered(1), Some(command))
            .await
            .is_err()
    );
    assert!(
        store
            .append(&s, ExpectedVersion::Any, vec![], Some(command))
            .await
            .is_err()
    );
    assert!(
        store
            .find_command(&tenant("t1"), command)
            .await
            .expect("find")
            .is_none()
    );
}

/// Many writers appending to one stream with `Any` all succeed, each with its own
/// sequence numbers, none lost.
pub async fn racing_appends_with_any_version_all_succeed<S: EventStore + ?Sized + 'static>(
    store: Arc<S>,
) {
    let s = stream("t1", "Account", "hot");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, s) = (Arc::clone(&store), s.clone());
            tokio::spawn(async move {
                for _ in 0..10 {
                    append(&*store, &s, ExpectedVersion::Any, numbered(1)).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    let sequences: Vec<u64> = store
        .load(&s, 1)
        .await
        .expect("load")
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(sequences, (1..=160).collect::<Vec<_>>());
}

/// Of many appends expecting the same version, exactly one succeeds.
pub async fn racing_appends_with_one_expected_version_let_one_win<
    S: EventStore + ?Sized + 'static,
>(
    store: Arc<S>,
) {
    let s = stream("t1", "Account", "contended");
    append(&*store, &s, ExpectedVersion::NoStream, numbered(1)).await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, s) = (Arc::clone(&store), s.clone());
            tokio::spawn(async move {
                store
                    .append(&s, ExpectedVersion::Exactly(1), numbered(2), None)
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(AppendOutcome::Appended(a)) => {
                wins += 1;
                assert_eq!(a.last_sequence, 3);
            }
            Err(StoreError::Conflict(c)) => assert_eq!(c.actual, 3),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.load(&s, 1).await.expect("load").len(), 3);
}

/// Writers on many streams at once: the log holds every event once, each stream is
/// gap-free, and log order agrees with stream order.
pub async fn concurrent_writers_leave_a_complete_consistent_log<
    S: EventStore + ?Sized + 'static,
>(
    store: Arc<S>,
) {
    const WRITERS: usize = 8;
    const APPENDS: usize = 25;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for a in 0..APPENDS {
                    // Two writers share each stream, so appends also race per stream.
                    let s = stream("t1", "Account", &format!("s-{}", w % (WRITERS / 2)));
                    let events = vec![event("Counted", json!({ "writer": w, "append": a })); 2]
                        .into_iter()
                        .map(|mut e| {
                            e.event_id = EventId::new();
                            e
                        })
                        .collect();
                    append(&*store, &s, ExpectedVersion::Any, events).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    let all = read_everything(
        &*store,
        ReadAll::new(TenantScope::AllTenants).limit(37),
        WRITERS * APPENDS * 2,
    )
    .await;
    let mut per_stream: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for e in &all {
        per_stream
            .entry(e.stream.aggregate_id.to_string())
            .or_default()
            .push(e.sequence);
    }
    for (id, sequences) in per_stream {
        let expected: Vec<u64> = (1..=sequences.len() as u64).collect();
        assert_eq!(sequences, expected, "stream {id} in log order");
    }
}
