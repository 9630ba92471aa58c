//! The command path end to end on the in-memory store: retries, idempotency, snapshots,
//! upcasting and decode errors.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::sync::Arc;

use acci_core::prelude::*;
use acci_core::testing::{Counting, Interfering};
use acci_core::{
    AppendOutcome, DecodeFailure, EventId, LoadError, NewEvent, Snapshot, StoreError, StreamId,
};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Value, json};

#[event]
pub struct Opened {}

#[event]
pub struct Added {
    pub amount: u64,
}

#[event(name = "Closed", version = 1)]
pub struct ClosedV1 {}

/// Version 2 reads version 1 through a JSON-level upcast, with no Rust type in between.
#[event(name = "Closed", version = 2, upcast = closed_from_v1)]
pub struct Closed {
    pub reason: String,
}

fn closed_from_v1(version: u32, mut payload: Value) -> Result<Value, String> {
    match (version, payload.as_object_mut()) {
        (1, Some(object)) => {
            object.insert(
                "reason".into(),
                json!("closed before reasons were recorded"),
            );
            Ok(payload)
        }
        _ => Err(format!("cannot upcast `Closed` from version {version}")),
    }
}

#[derive(Aggregate, Clone, Debug, Default, Serialize, Deserialize)]
#[aggregate(name = "Counter", events(Opened, Added, Closed), snapshot_every = 10)]
pub struct Counter {
    open: bool,
    total: u64,
    closed_because: Option<String>,
}

impl Apply<Opened> for Counter {
    fn apply(&mut self, _: &Opened) {
        self.open = true;
    }
}

impl Apply<Added> for Counter {
    fn apply(&mut self, event: &Added) {
        self.total += event.amount;
    }
}

impl Apply<Closed> for Counter {
    fn apply(&mut self, event: &Closed) {
        self.open = false;
        self.closed_because = Some(event.reason.clone());
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CounterError {
    #[error("the counter is not open")]
    NotOpen,
}

pub struct Open;
pub struct Add(u64);
/// Adds only if the total is below the limit; otherwise accepts and records nothing.
pub struct AddUpTo {
    amount: u64,
    limit: u64,
}

impl Handle<Open> for Counter {
    type Error = CounterError;
    fn handle(&self, _: &Open) -> Result<Vec<CounterEvent>, CounterError> {
        Ok(if self.open {
            vec![]
        } else {
            vec![Opened {}.into()]
        })
    }
}

impl Handle<Add> for Counter {
    type Error = CounterError;
    fn validate(command: &Add) -> Result<(), ValidationError> {
        if command.0 == 0 {
            Err(ValidationError::new("amount", "must be more than zero"))
        } else {
            Ok(())
        }
    }
    fn handle(&self, command: &Add) -> Result<Vec<CounterEvent>, CounterError> {
        if !self.open {
            return Err(CounterError::NotOpen);
        }
        Ok(vec![Added { amount: command.0 }.into()])
    }
}

impl Handle<AddUpTo> for Counter {
    type Error = CounterError;
    fn handle(&self, command: &AddUpTo) -> Result<Vec<CounterEvent>, CounterError> {
        if self.total >= command.limit {
            return Ok(vec![]);
        }
        Ok(vec![
            Added {
                amount: command.amount,
            }
            .into(),
        ])
    }
}

fn tenant() -> TenantId {
    TenantId::new("tenant-1").unwrap()
}

fn id(text: &str) -> AggregateId {
    AggregateId::new(text).unwrap()
}

fn on<C>(aggregate: &str, payload: C) -> Command<C> {
    Command::new(tenant(), id(aggregate), payload)
}

fn stream(aggregate: &str) -> StreamId {
    StreamId::new(tenant(), "Counter", id(aggregate)).unwrap()
}

async fn opened(
    store: Arc<impl EventStore + 'static>,
    aggregate: &str,
) -> Repository<Counter, dyn EventStore> {
    let store: Arc<dyn EventStore> = store;
    let counters = Repository::<Counter>::new(store);
    counters.execute(on(aggregate, Open)).await.unwrap();
    counters
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_on_one_aggregate_all_count_once() {
    let counters = opened(Arc::new(InMemoryEventStore::new()), "c")
        .await
        .with_retry(RetryPolicy::attempts(1_000));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let counters = counters.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    counters.execute(on("c", Add(2))).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let loaded = counters.load(&tenant(), &id("c")).await.unwrap();
    assert_eq!(loaded.version, 1 + 8 * 25);
    assert_eq!(loaded.state.total, 2 * 8 * 25);
}

#[tokio::test]
async fn a_conflict_is_retried_reading_only_the_missed_events() {
    let store = Arc::new(Interfering::new(InMemoryEventStore::new(), || {
        NewEvent::from_event(&Added { amount: 100 }, Metadata::new()).unwrap()
    }));
    let counters = opened(store.clone(), "c").await;
    for _ in 0..4 {
        counters.execute(on("c", Add(1))).await.unwrap();
    }
    store.interfere_with_next(2);
    let loads_before = store.loads().len();
    let outcome = counters.execute(on("c", Add(5))).await.unwrap();
    assert_eq!(outcome.attempts, 3);
    assert_eq!(outcome.version, 8, "5 before, 2 rival events, then ours");
    // The first load reads the whole stream; each retry reads from where it stopped.
    assert_eq!(store.loads()[loads_before..], [1, 6, 7]);
    assert_eq!(
        counters
            .load(&tenant(), &id("c"))
            .await
            .unwrap()
            .state
            .total,
        4 + 200 + 5
    );
}

#[tokio::test]
async fn the_retry_policy_bounds_the_attempts() {
    let store = Arc::new(Interfering::new(InMemoryEventStore::new(), || {
        NewEvent::from_event(&Added { amount: 1 }, Metadata::new()).unwrap()
    }));
    let counters = opened(store.clone(), "c")
        .await
        .with_retry(RetryPolicy::attempts(3));
    store.interfere_with_next(usize::MAX);
    match counters.execute(on("c", Add(5))).await {
        Err(CommandError::Concurrency { conflict, attempts }) => {
            assert_eq!(attempts, 3);
            assert_eq!(conflict.expected, ExpectedVersion::Exactly(3));
            assert_eq!(conflict.actual, 4);
        }
        other => panic!("expected the retries to run out, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_command_id_is_applied_once_and_answers_with_the_first_outcome() {
    let counters = opened(Arc::new(InMemoryEventStore::new()), "c").await;
    let command_id = CommandId::new();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let counters = counters.clone();
            tokio::spawn(async move {
                counters
                    .execute(on("c", Add(7)).with_id(command_id))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| !o.duplicate).count(), 1);
    for outcome in &outcomes {
        assert_eq!(outcome.version, 2);
        assert_eq!(
            outcome.events,
            vec![CounterEvent::Added(Added { amount: 7 })]
        );
    }
    assert_eq!(
        counters
            .load(&tenant(), &id("c"))
            .await
            .unwrap()
            .state
            .total,
        7
    );
}

#[tokio::test]
async fn a_command_id_used_for_another_aggregate_is_refused() {
    let store = Arc::new(InMemoryEventStore::new());
    let counters = opened(store.clone(), "a").await;
    counters.execute(on("b", Open)).await.unwrap();
    let command_id = CommandId::new();
    counters
        .execute(on("a", Add(1)).with_id(command_id))
        .await
        .unwrap();
    match counters.execute(on("b", Add(1)).with_id(command_id)).await {
        Err(CommandError::Validation(invalid)) => {
            assert!(invalid.to_string().contains("already used"), "{invalid}")
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn validation_and_domain_errors_store_nothing() {
    let store = Arc::new(InMemoryEventStore::new());
    let counters = Repository::<Counter, _>::new(store.clone());
    assert!(matches!(
        counters.execute(on("c", Add(0))).await,
        Err(CommandError::Validation(_))
    ));
    match counters.execute(on("c", Add(1))).await {
        Err(error) => assert_eq!(error.domain(), Some(&CounterError::NotOpen)),
        Ok(outcome) => panic!("expected a refusal, got {outcome:?}"),
    }
    assert!(store.is_empty());
}

#[tokio::test]
async fn a_command_that_decides_nothing_stores_nothing() {
    let store = Arc::new(InMemoryEventStore::new());
    let counters = opened(store.clone(), "c").await;
    let outcome = counters
        .execute(on(
            "c",
            AddUpTo {
                amount: 1,
                limit: 0,
            },
        ))
        .await
        .unwrap();
    assert!(outcome.events.is_empty());
    assert_eq!((outcome.version, outcome.position), (1, None));
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn the_command_id_becomes_the_causation_id_and_metadata_is_kept() {
    let store = Arc::new(InMemoryEventStore::new());
    let counters = opened(store.clone(), "c").await;
    let command_id = CommandId::new();
    let metadata = Metadata::new()
        .with_user_id("u-1")
        .with_entry("source", "api");
    counters
        .execute(on("c", Add(1)).with_id(command_id).with_metadata(metadata))
        .await
        .unwrap();
    let stored = store.load(&stream("c"), 2).await.unwrap().remove(0);
    assert_eq!(stored.metadata.causation_id, Some(command_id.as_uuid()));
    assert_eq!(stored.metadata.user_id.as_deref(), Some("u-1"));
    assert_eq!(stored.metadata.entries["source"], "api");
}

/// Adds 1 to counter `c` `times` times; returns the versions of the snapshots taken.
async fn snapshots_taken_by_adds<S: EventStore + ?Sized>(
    counters: &Repository<Counter, S>,
    times: usize,
) -> Vec<u64> {
    let mut taken = Vec::new();
    for _ in 0..times {
        taken.extend(
            counters
                .execute(on("c", Add(1)))
                .await
                .unwrap()
                .snapshot_taken,
        );
    }
    taken
}

#[tokio::test]
async fn snapshots_are_taken_every_n_events_and_used_on_load() {
    let store = Arc::new(InMemoryEventStore::new());
    let counters = opened(store.clone(), "c").await;
    let taken = snapshots_taken_by_adds(&counters, 24).await;
    assert_eq!(taken, [10, 20]);
    let loaded = counters.load(&tenant(), &id("c")).await.unwrap();
    assert_eq!(
        (
            loaded.version,
            loaded.snapshot_version,
            loaded.events_applied
        ),
        (25, Some(20), 5)
    );
    assert_eq!(loaded.state.total, 24);
}

#[tokio::test]
async fn a_snapshot_of_another_shape_or_that_does_not_decode_is_ignored() {
    let store = Arc::new(InMemoryEventStore::new());
    let counters = opened(store.clone(), "c").await;
    for _ in 0..11 {
        counters.execute(on("c", Add(1))).await.unwrap();
    }
    let kept = store.load_snapshot(&stream("c")).await.unwrap().unwrap();
    assert_eq!(kept.state_version, <Counter as Aggregate>::STATE_VERSION);

    // Taken by a build whose state had other fields: replay everything instead.
    let stale = Snapshot {
        state_version: kept.state_version ^ 1,
        ..kept.clone()
    };
    store.save_snapshot(&stream("c"), stale).await.unwrap();
    let loaded = counters.load(&tenant(), &id("c")).await.unwrap();
    assert_eq!(
        (
            loaded.snapshot_version,
            loaded.events_applied,
            loaded.state.total
        ),
        (None, 12, 11)
    );

    // Same shape on paper, but the state does not decode: replay as well.
    let broken = Snapshot {
        state: json!({ "total": "many" }),
        ..kept
    };
    store.save_snapshot(&stream("c"), broken).await.unwrap();
    let loaded = counters.load(&tenant(), &id("c")).await.unwrap();
    assert_eq!((loaded.snapshot_version, loaded.state.total), (None, 11));
}

#[tokio::test]
async fn old_versions_are_upcast_on_load() {
    let store = Arc::new(InMemoryEventStore::new());
    let counters = opened(store.clone(), "c").await;
    let v1 = NewEvent::from_event(&ClosedV1 {}, Metadata::new()).unwrap();
    store
        .append(&stream("c"), ExpectedVersion::Exactly(1), vec![v1], None)
        .await
        .unwrap();
    let loaded = counters.load(&tenant(), &id("c")).await.unwrap();
    assert!(!loaded.state.open);
    assert_eq!(
        loaded.state.closed_because.as_deref(),
        Some("closed before reasons were recorded")
    );
}

async fn load_with_stored(
    event_type: &str,
    schema_version: u32,
    payload: Value,
) -> (EventId, LoadError) {
    let store = Arc::new(InMemoryEventStore::new());
    let counters = opened(store.clone(), "c").await;
    let bad = NewEvent {
        event_id: EventId::new(),
        event_type: event_type.to_owned().into(),
        schema_version,
        payload,
        metadata: Metadata::new(),
    };
    let bad_id = bad.event_id;
    let appended = store
        .append(&stream("c"), ExpectedVersion::Any, vec![bad], None)
        .await
        .unwrap();
    assert!(matches!(appended, AppendOutcome::Appended(_)));
    let error = counters.load(&tenant(), &id("c")).await.unwrap_err();
    assert_eq!(store.len(), 2, "a decode error changes nothing stored");
    (bad_id, error)
}

#[tokio::test]
async fn decode_errors_name_the_event_id_type_and_version() {
    let (bad_id, error) = load_with_stored("Added", 1, json!({ "amount": "lots" })).await;
    let LoadError::Decode(decode) = &error else {
        panic!("expected a decode error, got {error:?}")
    };
    assert_eq!(decode.event_id, Some(bad_id));
    assert!(matches!(decode.failure, DecodeFailure::Payload(_)));
    let message = error.to_string();
    assert!(
        message.contains(&bad_id.to_string())
            && message.contains("`Added`")
            && message.contains("version 1"),
        "{message}"
    );

    let (_, error) = load_with_stored("Exploded", 1, json!({})).await;
    assert!(
        matches!(&error, LoadError::Decode(d) if matches!(d.failure, DecodeFailure::UnknownEventType(_))),
        "{error}"
    );

    let (_, error) = load_with_stored("Added", 9, json!({ "amount": 1 })).await;
    assert!(
        error.to_string().contains("newer than version 1"),
        "{error}"
    );
}

#[tokio::test]
async fn the_same_id_in_two_tenants_is_two_aggregates() {
    let store: Arc<dyn EventStore> = Arc::new(InMemoryEventStore::new());
    let counters = Repository::<Counter>::new(store);
    let other = TenantId::new("tenant-2").unwrap();
    counters.execute(on("c", Open)).await.unwrap();
    counters.execute(on("c", Add(3))).await.unwrap();
    assert!(
        counters
            .execute(Command::new(other.clone(), id("c"), Add(1)))
            .await
            .is_err()
    );
    assert_eq!(counters.load(&other, &id("c")).await.unwrap().version, 0);
    let persisted = counters.store().load(&stream("c"), 1).await.unwrap();
    assert_eq!(persisted.len(), 2);
}

#[test]
fn store_errors_say_whether_a_retry_may_help() {
    let lost = StoreError::Backend {
        message: "connection reset".into(),
        retryable: true,
        source: None,
    };
    assert!(lost.is_retryable());
    assert!(lost.to_string().contains("(retryable)"));
    let conflict: CommandError<CounterError> = StoreError::DuplicateEventId(EventId::new()).into();
    assert!(matches!(conflict, CommandError::Persistence(_)));
}

/// A store where the first request with a command id commits just while a second request
/// with the same id is loading: the second must answer with the first outcome, not with
/// the refusal its handler gives on the state that already holds the command.
struct CommitsDuringLoad {
    inner: InMemoryEventStore,
    racing: std::sync::Mutex<Option<(StreamId, NewEvent, CommandId)>>,
}

#[async_trait::async_trait]
impl EventStore for CommitsDuringLoad {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<CommandId>,
    ) -> Result<AppendOutcome, StoreError> {
        self.inner
            .append(stream, expected, events, command_id)
            .await
    }
    async fn load(
        &self,
        stream: &StreamId,
        from: u64,
    ) -> Result<Vec<acci_core::StoredEvent>, StoreError> {
        self.inner.load(stream, from).await
    }
    async fn load_aggregate(
        &self,
        stream: &StreamId,
        state_version: Option<u64>,
    ) -> Result<acci_core::AggregateLoad, StoreError> {
        let racing = self.racing.lock().unwrap().take();
        if let Some((stream, event, command_id)) = racing {
            self.inner
                .append(&stream, ExpectedVersion::Any, vec![event], Some(command_id))
                .await?;
        }
        self.inner.load_aggregate(stream, state_version).await
    }
    async fn read_all(
        &self,
        request: &acci_core::ReadAll,
    ) -> Result<acci_core::LogBatch, StoreError> {
        self.inner.read_all(request).await
    }
    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        self.inner.save_snapshot(stream, snapshot).await
    }
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        self.inner.load_snapshot(stream).await
    }
    async fn find_command(
        &self,
        tenant: &TenantId,
        command_id: CommandId,
    ) -> Result<Option<acci_core::CommandRecord>, StoreError> {
        self.inner.find_command(tenant, command_id).await
    }
}

#[tokio::test]
async fn a_repeated_command_that_commits_during_the_load_answers_with_the_first_outcome() {
    let command_id = CommandId::new();
    let opened = NewEvent::from_event(&Opened {}, Metadata::new()).unwrap();
    let store = Arc::new(CommitsDuringLoad {
        inner: InMemoryEventStore::new(),
        racing: std::sync::Mutex::new(Some((stream("c"), opened, command_id))),
    });
    // `Open` on an open counter decides nothing; `Add` on it would be refused by a
    // closed one. Either way the racing first run is what must be answered.
    let counters = Repository::<Counter, _>::new(store);
    let outcome = counters
        .execute(on("c", Open).with_id(command_id))
        .await
        .unwrap();
    assert!(outcome.duplicate, "{outcome:?}");
    assert_eq!(
        (outcome.version, outcome.events),
        (1, vec![CounterEvent::Opened(Opened {})])
    );
}

fn cached(store: Arc<dyn EventStore>) -> Repository<Counter> {
    Repository::<Counter>::new(store).with_cache(std::num::NonZeroUsize::new(2).unwrap())
}

#[tokio::test]
async fn a_cached_aggregate_is_not_loaded_again() {
    let store = Arc::new(Interfering::new(InMemoryEventStore::new(), || {
        NewEvent::from_event(&Added { amount: 100 }, Metadata::new()).unwrap()
    }));
    let counters = cached(store.clone());
    counters.execute(on("c", Open)).await.unwrap();
    let loads = store.loads().len();
    for _ in 0..3 {
        counters.execute(on("c", Add(1))).await.unwrap();
    }
    assert_eq!(
        store.loads().len(),
        loads,
        "the cached aggregate was not read again"
    );
    let stats = counters.cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses, stats.entries), (3, 1, 1));
    assert!((stats.hit_ratio() - 0.75).abs() < 1e-9);
}

#[tokio::test]
async fn another_process_writing_makes_a_cached_command_read_only_what_it_missed() {
    let store: Arc<dyn EventStore> = Arc::new(InMemoryEventStore::new());
    let (here, elsewhere) = (cached(Arc::clone(&store)), cached(Arc::clone(&store)));
    here.execute(on("c", Open)).await.unwrap();
    here.execute(on("c", Add(1))).await.unwrap();
    elsewhere.execute(on("c", Add(10))).await.unwrap();
    // `here` decides on its stale entry, meets the conflict, reads the one event it
    // missed and appends after it: nothing is lost.
    let outcome = here.execute(on("c", Add(100))).await.unwrap();
    assert_eq!((outcome.version, outcome.attempts), (4, 2));
    assert_eq!(
        here.load(&tenant(), &id("c")).await.unwrap().state.total,
        111
    );
}

#[tokio::test]
async fn a_refusal_on_a_stale_cached_state_is_checked_against_the_store() {
    let store: Arc<dyn EventStore> = Arc::new(InMemoryEventStore::new());
    let (here, elsewhere) = (cached(Arc::clone(&store)), cached(Arc::clone(&store)));
    // `here` caches the counter before it is open; `elsewhere` opens it.
    assert!(here.execute(on("c", Add(1))).await.is_err());
    elsewhere.execute(on("c", Open)).await.unwrap();
    // On its cached state `here` would refuse (not open); the store says otherwise.
    let outcome = here.execute(on("c", Add(5))).await.unwrap();
    assert_eq!(outcome.version, 2);
}

#[tokio::test]
async fn the_cache_holds_at_most_its_capacity() {
    let counters = cached(Arc::new(InMemoryEventStore::new()));
    for name in ["a", "b", "c"] {
        counters.execute(on(name, Open)).await.unwrap();
    }
    assert_eq!(counters.cache_stats().unwrap().entries, 2);
}

#[tokio::test]
async fn a_cached_aggregate_takes_snapshots_at_the_same_cadence() {
    let counters = cached(Arc::new(InMemoryEventStore::new()));
    counters.execute(on("c", Open)).await.unwrap();
    let taken = snapshots_taken_by_adds(&counters, 24).await;
    assert_eq!(
        taken,
        [10, 20],
        "one snapshot per `snapshot_every` events, cached or not"
    );
}

#[tokio::test]
async fn a_repeated_command_is_answered_with_its_first_outcome_in_one_store_call() {
    let store = Arc::new(Counting::new(InMemoryEventStore::new()));
    let counters = opened(store.clone(), "c").await;
    let command_id = CommandId::new();
    let first = counters
        .execute(on("c", Add(7)).with_id(command_id))
        .await
        .unwrap();
    store.take_calls();

    let again = counters
        .execute(on("c", Add(7)).with_id(command_id))
        .await
        .unwrap();
    assert_eq!(
        store.take_calls(),
        ["find_command"],
        "the record carries the events: nothing else is read"
    );
    assert!(again.duplicate && !first.duplicate);
    assert_eq!(
        (again.stream, again.events, again.version, again.position),
        (first.stream, first.events, first.version, first.position)
    );
    assert_eq!(store.inner().len(), 2, "the repeat stored nothing");
}

#[tokio::test]
async fn a_repeat_the_append_finds_recorded_is_answered_from_the_append_alone() {
    // A request with the same id commits while this one loads: the load sees the counter
    // open, `Add` decides on an event, and the append answers that the id is recorded.
    let command_id = CommandId::new();
    let raced = NewEvent::from_event(&Added { amount: 7 }, Metadata::new()).unwrap();
    let racing = CommitsDuringLoad {
        inner: InMemoryEventStore::new(),
        racing: std::sync::Mutex::new(None),
    };
    let opened = NewEvent::from_event(&Opened {}, Metadata::new()).unwrap();
    racing
        .inner
        .append(&stream("c"), ExpectedVersion::NoStream, vec![opened], None)
        .await
        .unwrap();
    *racing.racing.lock().unwrap() = Some((stream("c"), raced, command_id));
    let store = Arc::new(Counting::new(racing));
    let counters = Repository::<Counter, _>::new(store.clone());
    let outcome = counters
        .execute(on("c", Add(7)).with_id(command_id))
        .await
        .unwrap();
    assert!(outcome.duplicate, "{outcome:?}");
    assert_eq!(
        (outcome.version, outcome.events),
        (2, vec![CounterEvent::Added(Added { amount: 7 })])
    );
    assert_eq!(
        store.take_calls(),
        ["find_command", "load_aggregate", "append"],
        "no look-up after the append, no load of the recorded events"
    );
}

/// A value whose `Serialize` impl always fails.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Jam;

impl Serialize for Jam {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("a jam never serializes"))
    }
}

#[event]
pub struct Jammed {
    pub jam: Jam,
}

#[derive(Aggregate, Default)]
#[aggregate(name = "Printer", events(Jammed))]
pub struct Printer;

impl Apply<Jammed> for Printer {
    fn apply(&mut self, _: &Jammed) {}
}

pub struct Print;

impl Handle<Print> for Printer {
    type Error = CounterError;
    fn handle(&self, _: &Print) -> Result<Vec<PrinterEvent>, CounterError> {
        Ok(vec![Jammed { jam: Jam }.into()])
    }
}

#[tokio::test]
async fn an_event_that_does_not_serialize_is_a_serialization_error() {
    let store = Arc::new(InMemoryEventStore::new());
    let printers = Repository::<Printer, _>::new(store.clone());
    match printers.execute(on("p", Print)).await {
        Err(CommandError::Serialization {
            aggregate_type,
            event_type,
            source,
        }) => {
            assert_eq!((aggregate_type, event_type), ("Printer", "Jammed"));
            assert!(
                source.to_string().contains("a jam never serializes"),
                "{source}"
            );
        }
        other => panic!("expected a serialization error, got {other:?}"),
    }
    assert!(store.is_empty());
}

#[test]
fn the_command_path_returns_send_futures() {
    fn send<F: std::future::Future + Send>(_: F) {}
    let counters = Repository::<Counter>::new(Arc::new(InMemoryEventStore::new()));
    send(counters.execute(on("c", Add(1)).with_id(CommandId::new())));
    send(counters.load(&tenant(), &id("c")));
}
