//! The bridge to OpenTelemetry (feature `opentelemetry`): trace contexts to and from the
//! OpenTelemetry context of `tracing` spans, through `tracing-opentelemetry`.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::TraceContext;

/// The trace context of the current span, if an OpenTelemetry layer gave it a valid one.
pub fn current() -> Option<TraceContext> {
    let context = tracing::Span::current().context();
    let span = context.span();
    to_trace_context(span.span_context())
}

/// `context` as a W3C trace context, if it is valid.
pub fn to_trace_context(context: &SpanContext) -> Option<TraceContext> {
    if !context.is_valid() {
        return None;
    }
    let parent = format!(
        "00-{}-{}-{:02x}",
        context.trace_id(),
        context.span_id(),
        context.trace_flags().to_u8()
    );
    let state = context.trace_state().header();
    TraceContext::new(&parent, Some(&state))
}

/// The remote span context `context` names: what a projection batch links to.
pub fn span_context(context: &TraceContext) -> Option<SpanContext> {
    let trace_id = TraceId::from_hex(context.trace_id()).ok()?;
    let span_id = SpanId::from_hex(context.span_id()).ok()?;
    let flags = u8::from_str_radix(&context.traceparent()[53..55], 16).ok()?;
    let state = match context.tracestate() {
        Some(state) => state.parse::<TraceState>().unwrap_or_default(),
        None => TraceState::default(),
    };
    Some(SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::new(flags),
        true,
        state,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_context_round_trips_through_a_span_context() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = TraceContext::new(parent, Some("rojo=00f067aa0ba902b7")).unwrap();
        let span = span_context(&context).unwrap();
        assert!(span.is_remote() && span.is_sampled());
        assert_eq!(to_trace_context(&span), Some(context));
    }

    #[test]
    fn without_an_opentelemetry_layer_there_is_no_current_context() {
        assert_eq!(current(), None);
    }
}
