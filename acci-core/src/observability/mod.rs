//! Observability: `tracing` spans and `metrics` series, emitted through the facades only.
//!
//! ACCI never installs a subscriber or a recorder: the application picks its exporters
//! (a Prometheus recorder, an OpenTelemetry layer, …) and everything below goes to them;
//! with none installed, the instrumentation costs a few branches per command. The
//! names of every metric, label and span are in [`names`]; `docs/operations.md` says
//! what each one means and what to do when it moves.
//!
//! Trace context: a command whose [`Metadata`](crate::Metadata) carries a W3C trace
//! context ([`Metadata::with_trace_context`](crate::Metadata::with_trace_context), for
//! example from an incoming `traceparent` header) stores it with every event it records.
//! A projection batch that applies those events starts a span of its own that *links*
//! to the stored contexts (their `traceparent`s as its `links` field), never a child of
//! them. With the `opentelemetry` feature, a command whose metadata sets no context stores
//! the one of its own `acci.command` span (from `tracing-opentelemetry`), and the batch
//! spans carry real OpenTelemetry links (acci-postgres's feature of the same name).
//!
//! Tenants are not a label by default: one series per tenant can overwhelm a metrics
//! backend. [`TenantLabels::enable`] adds a `tenant` label to the command, append and
//! query series.

mod describe;
pub mod names;
#[cfg(feature = "opentelemetry")]
pub mod otel;
mod outcome;
mod query;
pub(crate) mod record;
mod trace;

pub use describe::describe_metrics;
pub use outcome::{CommandOutcomeLabel, QueryOutcomeLabel};
pub use query::observe_query;
pub use trace::{MAX_LINKS, TRACEPARENT, TRACESTATE, TraceContext, links, links_field};

use std::sync::atomic::{AtomicBool, Ordering};

static TENANT_LABELS: AtomicBool = AtomicBool::new(false);

/// The one switch for the opt-in `tenant` label on the command, append and query series.
///
/// Off by default: the number of series then grows with the tenants, which a metrics
/// backend may not afford. Set it once at start-up, before the first command.
///
/// ```
/// use acci_core::observability::TenantLabels;
/// TenantLabels::enable();
/// assert!(TenantLabels::enabled());
/// TenantLabels::disable();
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TenantLabels;

impl TenantLabels {
    /// Adds the `tenant` label from now on.
    pub fn enable() {
        TENANT_LABELS.store(true, Ordering::Relaxed);
    }

    /// Stops adding it (the default).
    pub fn disable() {
        TENANT_LABELS.store(false, Ordering::Relaxed);
    }

    /// Whether the label is added.
    pub fn enabled() -> bool {
        TENANT_LABELS.load(Ordering::Relaxed)
    }
}
