//! The in-process hot paths, each beside a hand-written baseline in the same group.
//!
//! ```text
//! cargo bench -p acci-bench --bench hot_paths
//! ```
//!
//! Three groups, each measuring what the macros generate (`generated/…`) against the code
//! a careful engineer would write by hand for the same job (`hand_written/…`), so the ratio
//! of the two is the cost of the generated dispatch:
//!
//! - `decode`: a batch of stored events decoded into `AccountEvent`, once for
//!   current-version `Deposited` events and once for version-1 `AccountOpened` events that
//!   go through the upcast chain to `Opened`, from each of the two payloads a store hands
//!   out. From a parsed `Value` (`…`, what the projection runners get): the generated
//!   [`StoredEvent::decode`] against a hand-written match on `(event_type, schema_version)`
//!   that calls `serde_json::from_value` and converts with `From`. From the JSON text
//!   (`…_json`, what an aggregate load gets): the generated [`AggregateEvent::decode`] of a
//!   [`Payload::Text`] against the same match calling `serde_json::from_str`, straight
//!   into the typed struct, as the hand-written sqlx baseline does.
//! - `apply`: a stream of events folded into an `Account` with the generated
//!   [`Aggregate::apply_event`] against a hand-written `match` calling the `Apply` impls.
//! - `project`: a batch of stored events fed to the `Balance` read model the way the
//!   runners do it ([`Projection::decode`], [`Projection::event_key`],
//!   [`Projection::project_event`] on rows kept in a `BTreeMap`) against a hand-written
//!   match on the event type that decodes, makes the key and calls `Project::project` in
//!   one step (`hand_written`), and against the same hand-written code split into the two
//!   phases the runners need (`hand_written_two_phase`: decode into an enum of recorded
//!   events, then key and project it), which is the shape the generated code has.
//!
//! Inputs are built outside the timed part (`iter_batched`); every group reports
//! throughput in events.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use acci_bench::domain::{Account, AccountEvent, Balance, Deposited, Opened, OpenedV1, Withdrawn};
use acci_core::{
    Aggregate, AggregateEvent, AggregateId, Apply, DecodeError, DecodeFailure, EventId,
    LogPosition, Metadata, Payload, Project, Projection, Recorded, StoredEvent, StreamId, TenantId,
};
use criterion::{BatchSize, Criterion, Throughput};
use serde_json::{Value, json};

/// Events per decode and projection batch: the in-memory runner's default batch is 500,
/// a long stream load is a few thousand.
const BATCH: usize = 1_000;
/// Events folded into one account in the `apply` group.
const STREAM: usize = 10_000;
/// Distinct accounts (rows) the `project` batch spreads over.
const ACCOUNTS: usize = 100;

/// A stored event of account `account` as a store hands it out.
fn stored(
    account: usize,
    sequence: u64,
    event_type: &str,
    version: u32,
    data: Value,
) -> StoredEvent {
    Recorded {
        event_id: EventId::new(),
        stream: StreamId::new(
            TenantId::new("tenant-1").expect("valid tenant id"),
            "Account",
            AggregateId::new(format!("account-{account:04}")).expect("valid aggregate id"),
        )
        .expect("valid stream id"),
        sequence,
        position: LogPosition {
            commit: sequence,
            position: sequence,
        },
        event_type: event_type.to_owned(),
        schema_version: version,
        metadata: Metadata::default(),
        recorded_at: Default::default(),
        data,
    }
}

/// `BATCH` stored current-version `Deposited` events.
fn deposited_batch() -> Vec<StoredEvent> {
    (0..BATCH)
        .map(|i| {
            stored(
                i % ACCOUNTS,
                i as u64 + 1,
                "Deposited",
                1,
                json!({ "amount": 100 + i as i64 }),
            )
        })
        .collect()
}

/// `BATCH` stored version-1 `AccountOpened` events (no currency yet).
fn opened_v1_batch() -> Vec<StoredEvent> {
    (0..BATCH)
        .map(|i| {
            stored(
                i,
                1,
                "AccountOpened",
                1,
                json!({ "owner": format!("owner {i}") }),
            )
        })
        .collect()
}

/// `BATCH` stored deposits and withdrawals (three to one) over `ACCOUNTS` accounts.
fn movements_batch() -> Vec<StoredEvent> {
    (0..BATCH)
        .map(|i| {
            let event_type = if i % 4 == 3 { "Withdrawn" } else { "Deposited" };
            stored(
                i % ACCOUNTS,
                (i / ACCOUNTS) as u64 + 1,
                event_type,
                1,
                json!({ "amount": 10 + (i % 7) as i64 }),
            )
        })
        .collect()
}

/// One account's stream of `STREAM` events: opened, then deposits and withdrawals.
fn account_stream() -> Vec<AccountEvent> {
    let mut events = Vec::with_capacity(STREAM);
    events.push(AccountEvent::from(Opened {
        owner: "owner".into(),
        currency: "EUR".into(),
    }));
    events.extend((1..STREAM).map(|i| {
        let amount = 10 + (i % 7) as i64;
        if i % 4 == 3 {
            AccountEvent::from(Withdrawn { amount })
        } else {
            AccountEvent::from(Deposited { amount })
        }
    }));
    events
}

/// The payload error the generated decoder reports, for the baseline.
fn payload_error(event_type: &str, version: u32, error: serde_json::Error) -> DecodeError {
    DecodeError::new(event_type, version, DecodeFailure::Payload(error))
}

/// The baseline decoder: a hand-written match on `(event_type, schema_version)`.
fn decode_by_hand(stored: StoredEvent) -> Result<Recorded<AccountEvent>, DecodeError> {
    let event_id = stored.event_id;
    let mut payload = Value::Null;
    let recorded = stored.map(|data| payload = data);
    let version = recorded.schema_version;
    let data = match (recorded.event_type.as_str(), version) {
        ("AccountOpened", 2) => serde_json::from_value::<Opened>(payload)
            .map(AccountEvent::Opened)
            .map_err(|e| payload_error("AccountOpened", 2, e)),
        ("AccountOpened", 1) => serde_json::from_value::<OpenedV1>(payload)
            .map(|v1| AccountEvent::Opened(Opened::from(v1)))
            .map_err(|e| payload_error("AccountOpened", 1, e)),
        ("Deposited", 1) => serde_json::from_value::<Deposited>(payload)
            .map(AccountEvent::Deposited)
            .map_err(|e| payload_error("Deposited", 1, e)),
        ("Withdrawn", 1) => serde_json::from_value::<Withdrawn>(payload)
            .map(AccountEvent::Withdrawn)
            .map_err(|e| payload_error("Withdrawn", 1, e)),
        (other, _) => Err(DecodeError::new(
            other,
            version,
            DecodeFailure::UnknownEventType(other.to_owned()),
        )),
    }
    .map_err(|e| e.with_event_id(event_id))?;
    Ok(recorded.map(|()| data))
}

/// The baseline decoder from JSON text: the same match, each payload deserialized straight
/// into its typed struct.
fn decode_json_by_hand(event: AggregateEvent) -> Result<AccountEvent, DecodeError> {
    let Payload::Text(json) = &event.data else {
        unreachable!("the `…_json` batches hold JSON text")
    };
    let version = event.schema_version;
    match (event.event_type.as_str(), version) {
        ("AccountOpened", 2) => serde_json::from_str::<Opened>(json)
            .map(AccountEvent::Opened)
            .map_err(|e| payload_error("AccountOpened", 2, e)),
        ("AccountOpened", 1) => serde_json::from_str::<OpenedV1>(json)
            .map(|v1| AccountEvent::Opened(Opened::from(v1)))
            .map_err(|e| payload_error("AccountOpened", 1, e)),
        ("Deposited", 1) => serde_json::from_str::<Deposited>(json)
            .map(AccountEvent::Deposited)
            .map_err(|e| payload_error("Deposited", 1, e)),
        ("Withdrawn", 1) => serde_json::from_str::<Withdrawn>(json)
            .map(AccountEvent::Withdrawn)
            .map_err(|e| payload_error("Withdrawn", 1, e)),
        (other, _) => Err(DecodeError::new(
            other,
            version,
            DecodeFailure::UnknownEventType(other.to_owned()),
        )),
    }
    .map_err(|e| e.with_event_id(event.event_id))
}

/// `batch` as an aggregate load reads it: each payload still its JSON text.
fn as_json(batch: &[StoredEvent]) -> Vec<AggregateEvent> {
    batch
        .iter()
        .cloned()
        .map(|stored| {
            let mut event = AggregateEvent::from(stored);
            if let Payload::Parsed(value) = &event.data {
                event.data = Payload::Text(value.to_string());
            }
            event
        })
        .collect()
}

/// Decodes every event of `batch` from its JSON text with the generated decoder.
fn decode_json_generated(batch: Vec<AggregateEvent>) -> Vec<AccountEvent> {
    batch
        .into_iter()
        .map(|event| black_box(event).decode::<AccountEvent>().expect("decodes"))
        .collect()
}

/// Decodes every event of `batch` from its JSON text with the hand-written decoder.
fn decode_json_hand_written(batch: Vec<AggregateEvent>) -> Vec<AccountEvent> {
    batch
        .into_iter()
        .map(|event| decode_json_by_hand(black_box(event)).expect("decodes"))
        .collect()
}

/// Decodes every event of `batch` with the generated decoder.
fn decode_generated(batch: Vec<StoredEvent>) -> Vec<Recorded<AccountEvent>> {
    batch
        .into_iter()
        .map(|stored| black_box(stored).decode::<AccountEvent>().expect("decodes"))
        .collect()
}

/// Decodes every event of `batch` with the hand-written decoder.
fn decode_hand_written(batch: Vec<StoredEvent>) -> Vec<Recorded<AccountEvent>> {
    batch
        .into_iter()
        .map(|stored| decode_by_hand(black_box(stored)).expect("decodes"))
        .collect()
}

/// Group `decode`: the generated decoder against the hand-written match, for a current
/// version and for an upcast one, from a parsed value and from JSON text.
fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, batch) in [
        ("deposited_current", deposited_batch()),
        ("opened_v1_upcast", opened_v1_batch()),
    ] {
        group.bench_function(format!("generated/{name}"), |b| {
            b.iter_batched(|| batch.clone(), decode_generated, BatchSize::LargeInput)
        });
        group.bench_function(format!("hand_written/{name}"), |b| {
            b.iter_batched(|| batch.clone(), decode_hand_written, BatchSize::LargeInput)
        });
        let json = as_json(&batch);
        group.bench_function(format!("generated/{name}_json"), |b| {
            b.iter_batched(
                || json.clone(),
                decode_json_generated,
                BatchSize::LargeInput,
            )
        });
        group.bench_function(format!("hand_written/{name}_json"), |b| {
            b.iter_batched(
                || json.clone(),
                decode_json_hand_written,
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// The baseline fold step: a hand-written match calling the `Apply` impls.
#[inline]
fn apply_by_hand(account: &mut Account, event: &AccountEvent) {
    match event {
        AccountEvent::Opened(e) => <Account as Apply<Opened>>::apply(account, e),
        AccountEvent::Deposited(e) => <Account as Apply<Deposited>>::apply(account, e),
        AccountEvent::Withdrawn(e) => <Account as Apply<Withdrawn>>::apply(account, e),
    }
}

/// Group `apply`: folding a stream with the generated `apply_event` against the
/// hand-written match.
fn apply(c: &mut Criterion) {
    let events = account_stream();
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(STREAM as u64));
    group.bench_function("generated/fold_10k", |b| {
        b.iter(|| {
            let mut account = Account::default();
            for event in black_box(&events) {
                account.apply_event(black_box(event));
            }
            account
        })
    });
    group.bench_function("hand_written/fold_10k", |b| {
        b.iter(|| {
            let mut account = Account::default();
            for event in black_box(&events) {
                apply_by_hand(&mut account, black_box(event));
            }
            account
        })
    });
    group.finish();
}

/// Rows by key, as a runner keeps the rows a batch touches.
type Rows = BTreeMap<String, Option<Balance>>;

/// Feeds `batch` to `Balance` through the entry points the runners use.
fn project_generated(batch: Vec<StoredEvent>) -> Rows {
    let mut rows = Rows::new();
    for stored in batch {
        let event = Balance::decode(black_box(stored)).expect("decodes");
        let key = Balance::event_key(&event).expect("has a key");
        let row = rows.entry(key).or_default();
        Balance::project_event(row, &event);
    }
    rows
}

/// Decodes one listed event by hand and calls its `Project` impl on the row it keys.
fn project_one<E>(rows: &mut Rows, recorded: Recorded<E>)
where
    Balance: Project<E>,
{
    let key = recorded.stream.aggregate_id.as_str().to_owned();
    let row = rows.entry(key).or_default();
    <Balance as Project<E>>::project(row, &recorded);
}

/// The baseline: a hand-written match on the event type that decodes and projects.
fn project_by_hand(rows: &mut Rows, stored: StoredEvent) -> Result<(), DecodeError> {
    let event_id = stored.event_id;
    let mut payload = Value::Null;
    let recorded = stored.map(|data| payload = data);
    match (recorded.event_type.as_str(), recorded.schema_version) {
        ("Deposited", 1) => {
            let data = serde_json::from_value::<Deposited>(payload)
                .map_err(|e| payload_error("Deposited", 1, e).with_event_id(event_id))?;
            project_one(rows, recorded.map(|()| data));
        }
        ("Withdrawn", 1) => {
            let data = serde_json::from_value::<Withdrawn>(payload)
                .map_err(|e| payload_error("Withdrawn", 1, e).with_event_id(event_id))?;
            project_one(rows, recorded.map(|()| data));
        }
        (other, version) => {
            return Err(DecodeError::new(
                other,
                version,
                DecodeFailure::UnknownEventType(other.to_owned()),
            )
            .with_event_id(event_id));
        }
    }
    Ok(())
}

/// Feeds `batch` to `Balance` through the hand-written match.
fn project_hand_written(batch: Vec<StoredEvent>) -> Rows {
    let mut rows = Rows::new();
    for stored in batch {
        project_by_hand(&mut rows, black_box(stored)).expect("projects");
    }
    rows
}

/// The events `Balance` reads, decoded by hand: what a hand-written runner that decodes a
/// batch before it knows (or loads) the rows would hold, as the real runners do.
enum BalanceChange {
    /// A decoded `Deposited`.
    Deposited(Recorded<Deposited>),
    /// A decoded `Withdrawn`.
    Withdrawn(Recorded<Withdrawn>),
}

/// The two-phase baseline's decoder: a hand-written match on the event type.
fn decode_change_by_hand(stored: StoredEvent) -> Result<BalanceChange, DecodeError> {
    let event_id = stored.event_id;
    let mut payload = Value::Null;
    let recorded = stored.map(|data| payload = data);
    match (recorded.event_type.as_str(), recorded.schema_version) {
        ("Deposited", 1) => serde_json::from_value::<Deposited>(payload)
            .map(|data| BalanceChange::Deposited(recorded.map(|()| data)))
            .map_err(|e| payload_error("Deposited", 1, e).with_event_id(event_id)),
        ("Withdrawn", 1) => serde_json::from_value::<Withdrawn>(payload)
            .map(|data| BalanceChange::Withdrawn(recorded.map(|()| data)))
            .map_err(|e| payload_error("Withdrawn", 1, e).with_event_id(event_id)),
        (other, version) => Err(DecodeError::new(
            other,
            version,
            DecodeFailure::UnknownEventType(other.to_owned()),
        )
        .with_event_id(event_id)),
    }
}

/// Feeds `batch` to `Balance` in two hand-written phases, as the runners do: decode each
/// event into [`BalanceChange`], then key it and project it with a second match.
fn project_hand_written_two_phase(batch: Vec<StoredEvent>) -> Rows {
    let mut rows = Rows::new();
    for stored in batch {
        let change = decode_change_by_hand(black_box(stored)).expect("decodes");
        let key = match &change {
            BalanceChange::Deposited(e) => e.stream.aggregate_id.as_str().to_owned(),
            BalanceChange::Withdrawn(e) => e.stream.aggregate_id.as_str().to_owned(),
        };
        let row = rows.entry(key).or_default();
        match &change {
            BalanceChange::Deposited(e) => <Balance as Project<Deposited>>::project(row, e),
            BalanceChange::Withdrawn(e) => <Balance as Project<Withdrawn>>::project(row, e),
        }
    }
    rows
}

/// Group `project`: the generated projection dispatch against the hand-written match
/// that decodes and projects in one step, and against the same work by hand in the two
/// phases (decode, then key and project) the runners' `Projection` contract has.
fn project(c: &mut Criterion) {
    let batch = movements_batch();
    let mut group = c.benchmark_group("project");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("generated/balance_1k", |b| {
        b.iter_batched(|| batch.clone(), project_generated, BatchSize::LargeInput)
    });
    group.bench_function("hand_written/balance_1k", |b| {
        b.iter_batched(
            || batch.clone(),
            project_hand_written,
            BatchSize::LargeInput,
        )
    });
    group.bench_function("hand_written_two_phase/balance_1k", |b| {
        b.iter_batched(
            || batch.clone(),
            project_hand_written_two_phase,
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Longer than criterion's defaults: the machine is small and shared, so each figure
/// averages over more samples.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6))
        .sample_size(60)
}

/// Runs the three groups with [`config`], taking criterion's command-line options
/// (a filter, `--save-baseline`, …); written out rather than through `criterion_main!` so
/// that every item here carries documentation.
fn main() {
    let mut criterion = config().configure_from_args();
    decode(&mut criterion);
    apply(&mut criterion);
    project(&mut criterion);
    criterion.final_summary();
}
