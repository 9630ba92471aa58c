//! What the command path records: its spans and its series, in one place.

use std::borrow::Cow;
use std::time::Duration;

use metrics::Label;
use tracing::Span;
use tracing::field::Empty;

use super::names::*;
use super::{CommandOutcomeLabel, TenantLabels};
use crate::ids::{StreamId, TenantId};
use crate::repository::Command;

/// The `tenant` label, when [`TenantLabels`] is on.
fn tenant_label(labels: &mut Vec<Label>, tenant: &TenantId) {
    if TenantLabels::enabled() {
        labels.push(Label::new(TENANT, tenant.as_str().to_owned()));
    }
}

/// The `acci.command` span of `command`; `attempts`, `outcome` and `version` are
/// recorded when it ends.
pub(crate) fn command_span<C>(
    aggregate_type: &'static str,
    name: &str,
    command: &Command<C>,
) -> Span {
    let metadata = &command.metadata;
    tracing::info_span!(
        SPAN_COMMAND,
        aggregate_type,
        command = name,
        tenant = command.tenant.as_str(),
        aggregate_id = command.aggregate_id.as_str(),
        command_id = command.command_id.map(tracing::field::display),
        correlation_id = metadata.correlation_id.map(tracing::field::display),
        causation_id = metadata.causation_id.map(tracing::field::display),
        traceparent = metadata
            .entries
            .get(super::TRACEPARENT)
            .and_then(serde_json::Value::as_str),
        attempts = Empty,
        outcome = Empty,
        version = Empty,
    )
}

/// A command ended with `outcome` after `elapsed`; `tenant` is labelled under
/// [`TenantLabels`].
pub(crate) fn command_finished(
    aggregate_type: &'static str,
    name: Cow<'static, str>,
    tenant: Option<&TenantId>,
    outcome: CommandOutcomeLabel,
    elapsed: Duration,
) {
    let mut labels = vec![
        Label::from_static_parts(AGGREGATE_TYPE, aggregate_type),
        Label::new(COMMAND, name),
        Label::from_static_parts(OUTCOME, outcome.as_str()),
    ];
    if let Some(tenant) = tenant {
        tenant_label(&mut labels, tenant);
    }
    metrics::histogram!(COMMAND_DURATION_SECONDS, labels).record(elapsed);
}

/// A command is tried again after a conflict.
pub(crate) fn retried(aggregate_type: &'static str, name: Cow<'static, str>) {
    metrics::counter!(COMMAND_RETRIES_TOTAL, AGGREGATE_TYPE => aggregate_type, COMMAND => name)
        .increment(1);
}

/// An append found its stream moved on.
pub(crate) fn conflicted(aggregate_type: &'static str) {
    metrics::counter!(CONCURRENCY_CONFLICTS_TOTAL, AGGREGATE_TYPE => aggregate_type).increment(1);
}

/// A look-up in the aggregate cache.
pub(crate) fn cache_lookup(aggregate_type: &'static str, hit: bool) {
    let name = if hit {
        AGGREGATE_CACHE_HITS_TOTAL
    } else {
        AGGREGATE_CACHE_MISSES_TOTAL
    };
    metrics::counter!(name, AGGREGATE_TYPE => aggregate_type).increment(1);
}

/// A snapshot of `bytes` bytes was written.
pub(crate) fn snapshot_written(aggregate_type: &'static str, bytes: usize) {
    metrics::histogram!(SNAPSHOT_SIZE_BYTES, AGGREGATE_TYPE => aggregate_type).record(bytes as f64);
}

/// The `acci.load` span of one load of `stream`; `events` and `snapshot_version` are
/// recorded when it ends.
pub(crate) fn load_span(stream: &StreamId) -> Span {
    tracing::info_span!(
        SPAN_LOAD,
        aggregate_type = &*stream.aggregate_type,
        snapshot_version = Empty,
        events = Empty,
        version = Empty,
    )
}

/// The `acci.append` span of `events` events appended to `stream` expecting
/// `expected_version`; `version` and `outcome` are recorded when it ends.
pub(crate) fn append_span(stream: &StreamId, events: usize, expected_version: u64) -> Span {
    tracing::info_span!(
        SPAN_APPEND,
        aggregate_type = &*stream.aggregate_type,
        events,
        expected_version,
        version = Empty,
        outcome = Empty,
    )
}

/// An append of `events` events to `stream` took `elapsed`; `stored` says whether they
/// were stored (not a conflict, not a recorded command id).
pub(crate) fn append_finished(
    aggregate_type: &'static str,
    tenant: &TenantId,
    events: usize,
    stored: bool,
    elapsed: Duration,
) {
    let mut labels = vec![Label::from_static_parts(AGGREGATE_TYPE, aggregate_type)];
    tenant_label(&mut labels, tenant);
    if stored {
        metrics::counter!(APPENDED_EVENTS_TOTAL, labels.clone()).increment(events as u64);
    }
    metrics::histogram!(APPEND_DURATION_SECONDS, labels).record(elapsed);
}
