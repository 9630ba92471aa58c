//! The instrumentation of the command path and the in-memory read models: exact span
//! names and fields, exact counts of every series, the opt-in tenant label, trace
//! contexts stored with events, and the names the docs list.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::num::NonZeroUsize;
use std::sync::Arc;

use acci_core::authorization::{CommandRequest, Decision};
use acci_core::observability::names::*;
use acci_core::observability::{
    CommandOutcomeLabel, QueryOutcomeLabel, TRACEPARENT, TenantLabels, TraceContext,
};
use acci_core::prelude::*;
use acci_core::projection::{InMemoryProjection, InMemoryReadModels};
use acci_core::query::ReadModels;
use acci_core::testing::{InMemoryAuditSink, Interfering};
use acci_core::{CommandId, NewEvent, StreamId};
use acci_tests::capture::capture;
use serde::{Deserialize, Serialize};

#[event]
pub struct Opened {}

#[event]
pub struct Added {
    pub amount: u64,
}

#[derive(Aggregate, Clone, Debug, Default, Serialize, Deserialize)]
#[aggregate(name = "Counter", events(Opened, Added), snapshot_every = 3)]
pub struct Counter {
    open: bool,
    total: u64,
}

impl Apply<Opened> for Counter {
    fn apply(&mut self, _: &Opened) {
        self.open = true;
    }
}

impl Apply<Added> for Counter {
    fn apply(&mut self, e: &Added) {
        self.total += e.amount;
    }
}

#[derive(Debug, thiserror::Error)]
#[error("not open")]
pub struct NotOpen;

#[derive(Clone)]
pub struct Open;
pub struct Add(u64);

impl Handle<Open> for Counter {
    type Error = NotOpen;
    fn handle(&self, _: &Open) -> Result<Vec<CounterEvent>, NotOpen> {
        Ok(vec![Opened {}.into()])
    }
}

impl Handle<Add> for Counter {
    type Error = NotOpen;
    fn validate(command: &Add) -> Result<(), ValidationError> {
        if command.0 == 0 {
            return Err(ValidationError::new("amount", "must be positive"));
        }
        Ok(())
    }
    fn handle(&self, cmd: &Add) -> Result<Vec<CounterEvent>, NotOpen> {
        if !self.open {
            return Err(NotOpen);
        }
        Ok(vec![Added { amount: cmd.0 }.into()])
    }
}

#[projection(table = "counter_totals", events(Added), aggregates(Counter))]
#[derive(Debug, Clone, PartialEq)]
pub struct CounterTotal {
    #[projection(key)]
    pub id: String,
    pub total: i64,
}

impl Project<Added> for CounterTotal {
    fn project(row: &mut Option<Self>, e: &Recorded<Added>) {
        let row = row.get_or_insert_with(|| CounterTotal {
            id: e.stream.aggregate_id.to_string(),
            total: 0,
        });
        row.total += e.data.amount as i64;
    }
}

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn tenant() -> TenantId {
    TenantId::new("acme").unwrap()
}

fn id() -> AggregateId {
    AggregateId::new("c-1").unwrap()
}

#[test]
fn a_command_emits_its_span_its_load_and_append_and_each_series_once() {
    let (_, spans, metrics) = capture(|| async {
        let store = Arc::new(InMemoryEventStore::new());
        let counters = Repository::<Counter, _>::new(store);
        let command_id = CommandId::new();
        let metadata = Metadata::new()
            .with_correlation_id(uuid::Uuid::nil())
            .with_trace_context(TraceContext::new(PARENT, Some("a=1")).unwrap());
        let open = Command::new(tenant(), id(), Open)
            .with_id(command_id)
            .with_metadata(metadata);
        counters.execute(open.clone()).await.unwrap();
        // The same command id again: answered from its record.
        assert!(counters.execute(open).await.unwrap().duplicate);
        let stored = counters
            .store()
            .load(&StreamId::new(tenant(), "Counter", id()).unwrap(), 1)
            .await
            .unwrap();
        assert_eq!(
            stored[0].metadata.trace_context().unwrap().traceparent(),
            PARENT
        );
        assert_eq!(stored[0].metadata.entries[TRACEPARENT], PARENT);
    });

    let commands = spans.named(SPAN_COMMAND);
    assert_eq!(commands.len(), 2);
    let first = &commands[0];
    assert_eq!(first.parent, None);
    assert_eq!(first.field("aggregate_type"), Some("Counter"));
    assert_eq!(first.field("command"), Some("Open"));
    assert_eq!(first.field("tenant"), Some("acme"));
    assert_eq!(first.field("aggregate_id"), Some("c-1"));
    assert!(first.field("command_id").is_some());
    assert_eq!(
        first.field("correlation_id"),
        Some("00000000-0000-0000-0000-000000000000")
    );
    assert_eq!(first.field("traceparent"), Some(PARENT));
    assert_eq!(first.field("attempts"), Some("1"));
    assert_eq!(first.field("version"), Some("1"));
    assert_eq!(first.field("outcome"), Some("applied"));
    assert_eq!(commands[1].field("outcome"), Some("duplicate"));

    let loads = spans.named(SPAN_LOAD);
    assert_eq!(loads.len(), 1, "the duplicate loads nothing");
    assert_eq!(loads[0].parent, Some(SPAN_COMMAND));
    assert_eq!(loads[0].field("events"), Some("0"));
    assert_eq!(loads[0].field("version"), Some("0"));
    let appends = spans.named(SPAN_APPEND);
    assert_eq!(appends.len(), 1);
    assert_eq!(appends[0].parent, Some(SPAN_COMMAND));
    assert_eq!(appends[0].field("events"), Some("1"));
    assert_eq!(appends[0].field("expected_version"), Some("0"));
    assert_eq!(appends[0].field("version"), Some("1"));
    assert_eq!(appends[0].field("outcome"), Some("appended"));

    let open = [("aggregate_type", "Counter"), ("command", "Open")];
    let applied = [open[0], open[1], ("outcome", "applied")];
    let duplicate = [open[0], open[1], ("outcome", "duplicate")];
    assert_eq!(
        metrics.histogram_count(COMMAND_DURATION_SECONDS, &applied),
        1
    );
    assert_eq!(
        metrics.histogram_count(COMMAND_DURATION_SECONDS, &duplicate),
        1
    );
    assert_eq!(metrics.histogram_count(COMMAND_DURATION_SECONDS, &[]), 2);
    let counter = [("aggregate_type", "Counter")];
    assert_eq!(
        metrics.histogram_count(APPEND_DURATION_SECONDS, &counter),
        1
    );
    assert_eq!(metrics.counter(APPENDED_EVENTS_TOTAL, &counter), 1);
    assert_eq!(metrics.counter(CONCURRENCY_CONFLICTS_TOTAL, &[]), 0);
    assert_eq!(metrics.counter(COMMAND_RETRIES_TOTAL, &[]), 0);
    assert_eq!(metrics.counter(AGGREGATE_CACHE_HITS_TOTAL, &[]), 0);
    assert_eq!(metrics.counter(AGGREGATE_CACHE_MISSES_TOTAL, &[]), 0);
}

#[test]
fn every_outcome_of_a_command_is_its_label() {
    let (_, spans, metrics) = capture(|| async {
        let store = Arc::new(InMemoryEventStore::new());
        let counters = Repository::<Counter, _>::new(store);
        let add = |n| Command::new(tenant(), id(), Add(n));
        counters.execute(add(1)).await.unwrap_err(); // not open: rejected
        counters.execute(add(0)).await.unwrap_err(); // invalid
        counters
            .execute(Command::new(tenant(), id(), Open))
            .await
            .unwrap();
        counters.execute(add(2)).await.unwrap();
        let denied = counters
            .clone()
            .with_audit(Arc::new(InMemoryAuditSink::new()))
            .with_authorizer(Arc::new(|_: &CommandRequest<'_>| Decision::Deny {
                reason: "read-only".to_owned(),
            }));
        denied.execute(add(3)).await.unwrap_err();
    });
    let outcomes: Vec<_> = spans
        .named(SPAN_COMMAND)
        .iter()
        .map(|s| s.field("outcome").unwrap().to_owned())
        .collect();
    assert_eq!(
        outcomes,
        ["rejected", "invalid", "applied", "applied", "unauthorized"]
    );
    for (command, outcome, count) in [
        ("Add", "rejected", 1),
        ("Add", "invalid", 1),
        ("Add", "applied", 1),
        ("Open", "applied", 1),
        ("Add", "unauthorized", 1),
        ("Add", "conflict", 0),
    ] {
        let labels = [("command", command), ("outcome", outcome)];
        assert_eq!(
            metrics.histogram_count(COMMAND_DURATION_SECONDS, &labels),
            count,
            "{command} {outcome}"
        );
    }
    let labels: Vec<&str> = CommandOutcomeLabel::ALL
        .iter()
        .map(|o| o.as_str())
        .collect();
    assert_eq!(
        labels,
        [
            "applied",
            "duplicate",
            "rejected",
            "invalid",
            "unauthorized",
            "conflict",
            "error"
        ]
    );
}

#[test]
fn conflicts_retries_cache_and_snapshots_are_counted() {
    let (_, spans, metrics) = capture(|| async {
        let store = Arc::new(Interfering::new(InMemoryEventStore::new(), || {
            NewEvent::from_event(&Added { amount: 10 }, Metadata::new()).unwrap()
        }));
        let counters = Repository::<Counter, _>::new(Arc::clone(&store))
            .with_cache(NonZeroUsize::new(8).unwrap());
        counters
            .execute(Command::new(tenant(), id(), Open))
            .await
            .unwrap(); // a miss
        store.interfere_with_next(2);
        // A hit, two conflicts, then stored at version 4: a snapshot is due at 3.
        let outcome = counters
            .execute(Command::new(tenant(), id(), Add(1)))
            .await
            .unwrap();
        assert_eq!((outcome.attempts, outcome.version), (3, 4));
        assert_eq!(outcome.snapshot_taken, Some(4));
    });
    let counter = [("aggregate_type", "Counter")];
    assert_eq!(metrics.counter(AGGREGATE_CACHE_MISSES_TOTAL, &counter), 1);
    assert_eq!(metrics.counter(AGGREGATE_CACHE_HITS_TOTAL, &counter), 1);
    assert_eq!(metrics.counter(CONCURRENCY_CONFLICTS_TOTAL, &counter), 2);
    let add = [("aggregate_type", "Counter"), ("command", "Add")];
    assert_eq!(metrics.counter(COMMAND_RETRIES_TOTAL, &add), 2);
    assert_eq!(
        metrics.histogram_count(APPEND_DURATION_SECONDS, &counter),
        4
    );
    assert_eq!(metrics.counter(APPENDED_EVENTS_TOTAL, &counter), 2);
    let sizes = metrics.histogram(SNAPSHOT_SIZE_BYTES, &counter);
    let expected = serde_json::to_vec(&Counter {
        open: true,
        total: 21,
    })
    .unwrap()
    .len();
    assert_eq!(sizes, [expected as f64]);
    let add_span = &spans.named(SPAN_COMMAND)[1];
    assert_eq!(add_span.field("attempts"), Some("3"));
    let outcomes: Vec<_> = spans
        .named(SPAN_APPEND)
        .iter()
        .map(|s| s.field("outcome").unwrap().to_owned())
        .collect();
    assert_eq!(outcomes, ["appended", "conflict", "conflict", "appended"]);
    // The first command's load, then a catch-up after each conflict.
    let loads: Vec<_> = spans
        .named(SPAN_LOAD)
        .iter()
        .map(|s| s.field("events").unwrap().to_owned())
        .collect();
    assert_eq!(loads, ["0", "1", "1"]);
}

#[test]
fn the_tenant_label_is_opt_in() {
    // The only test of this binary that turns the switch on; the others check only that
    // the labels they expect are present, so they pass either way.
    let (_, _, metrics) = capture(|| async {
        let store = Arc::new(InMemoryEventStore::new());
        let counters = Repository::<Counter, _>::new(store);
        counters
            .execute(Command::new(tenant(), id(), Open))
            .await
            .unwrap();
        TenantLabels::enable();
        let result = counters.execute(Command::new(tenant(), id(), Open)).await;
        TenantLabels::disable();
        result.unwrap();
    });
    let without: Vec<_> = metrics
        .label_sets(COMMAND_DURATION_SECONDS)
        .into_iter()
        .filter(|labels| !labels.contains_key(TENANT))
        .collect();
    assert_eq!(without.len(), 1, "no tenant label by default");
    assert_eq!(metrics.histogram_count(COMMAND_DURATION_SECONDS, &[]), 2);
    let tenant = [("tenant", "acme")];
    assert_eq!(
        metrics.histogram_count(COMMAND_DURATION_SECONDS, &tenant),
        1
    );
    assert_eq!(metrics.histogram_count(APPEND_DURATION_SECONDS, &tenant), 1);
    assert_eq!(metrics.counter(APPENDED_EVENTS_TOTAL, &tenant), 1);
}

#[test]
fn each_query_is_timed_by_read_model_kind_and_outcome() {
    let (_, spans, metrics) = capture(|| async {
        let store = Arc::new(InMemoryEventStore::new());
        let counters = Repository::<Counter, _>::new(Arc::clone(&store));
        counters
            .execute(Command::new(tenant(), id(), Open))
            .await
            .unwrap();
        counters
            .execute(Command::new(tenant(), id(), Add(5)))
            .await
            .unwrap();
        let totals = Arc::new(InMemoryProjection::<CounterTotal>::new());
        let models = InMemoryReadModels::new();
        // Not registered yet: the projection cannot answer.
        models
            .get::<CounterTotal>(Some(&tenant()), &"c-1".to_owned())
            .await
            .unwrap_err();
        models.register(Arc::clone(&totals));
        totals.catch_up(&*store).await.unwrap();
        let row = models
            .get::<CounterTotal>(Some(&tenant()), &"c-1".to_owned())
            .await
            .unwrap();
        assert_eq!(row.unwrap().total, 5);
        models
            .page::<CounterTotal>(Some(&tenant()), None, 0)
            .await
            .unwrap_err(); // invalid limit
    });
    let queries = spans.named(SPAN_QUERY);
    assert_eq!(queries.len(), 3);
    assert_eq!(queries[1].field("read_model"), Some("counter_totals"));
    assert_eq!(queries[1].field("query"), Some("get"));
    assert_eq!(queries[1].field("outcome"), Some("ok"));
    for (query, outcome) in [("get", "not_ready"), ("get", "ok"), ("page", "invalid")] {
        let labels = [
            ("read_model", "counter_totals"),
            ("query", query),
            ("outcome", outcome),
        ];
        assert_eq!(
            metrics.histogram_count(QUERY_DURATION_SECONDS, &labels),
            1,
            "{query} {outcome}"
        );
    }
    assert_eq!(QueryOutcomeLabel::ALL.len(), 6);
}

#[test]
fn without_a_recorder_or_subscriber_commands_run_unobserved() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let counters = Repository::<Counter, _>::new(Arc::new(InMemoryEventStore::new()));
        let outcome = counters
            .execute(Command::new(tenant(), id(), Open))
            .await
            .unwrap();
        assert_eq!(outcome.version, 1);
    });
}

#[test]
fn the_operations_guide_lists_every_metric_span_and_outcome() {
    let guide = include_str!("../../docs/operations.md");
    for name in METRICS.iter().chain(SPANS) {
        assert!(
            guide.contains(&format!("`{name}`")),
            "docs/operations.md lacks `{name}`"
        );
    }
    for outcome in CommandOutcomeLabel::ALL {
        assert!(
            guide.contains(&format!("`{}`", outcome.as_str())),
            "{outcome:?}"
        );
    }
    for outcome in QueryOutcomeLabel::ALL {
        assert!(
            guide.contains(&format!("`{}`", outcome.as_str())),
            "{outcome:?}"
        );
    }
    // And nothing the guide names as a metric is missing from the list.
    for word in guide.split('`') {
        if word.starts_with("acci_") && !word.contains(' ') && !word.contains("::") {
            let known = METRICS.contains(&word)
                || ["acci_app", "acci_all_tenants", "acci_core", "acci_postgres"].contains(&word)
                || word.starts_with("acci_core")
                || word.starts_with("acci_postgres");
            assert!(
                known,
                "docs/operations.md names `{word}`, which is no metric"
            );
        }
    }
}
