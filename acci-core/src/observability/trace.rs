//! The W3C trace context stored with events, and the links a reader draws to it.

use serde_json::Value;

use crate::metadata::Metadata;

/// The metadata entry holding the W3C `traceparent` of the request that recorded an
/// event.
pub const TRACEPARENT: &str = "traceparent";
/// The metadata entry holding the W3C `tracestate` that travelled with it.
pub const TRACESTATE: &str = "tracestate";

/// The most trace contexts one projection batch records as links.
pub const MAX_LINKS: usize = 32;

/// A W3C trace context (<https://www.w3.org/TR/trace-context/>): the `traceparent`
/// header, and the `tracestate` header if one came with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    traceparent: String,
    tracestate: Option<String>,
}

impl TraceContext {
    /// A context from its headers. `None` unless `traceparent` has the W3C form
    /// `vv-<32 hex trace id>-<16 hex parent id>-<2 hex flags>` with ids that are not all
    /// zeros (a malformed header is dropped, as the recommendation asks, not stored).
    pub fn new(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        let traceparent = traceparent.trim();
        if !is_traceparent(traceparent) {
            return None;
        }
        Some(Self {
            traceparent: traceparent.to_ascii_lowercase(),
            tracestate: tracestate
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        })
    }

    /// The `traceparent` value.
    pub fn traceparent(&self) -> &str {
        &self.traceparent
    }

    /// The `tracestate` value, if any.
    pub fn tracestate(&self) -> Option<&str> {
        self.tracestate.as_deref()
    }

    /// The trace id: 32 hex digits.
    pub fn trace_id(&self) -> &str {
        &self.traceparent[3..35]
    }

    /// The parent (span) id: 16 hex digits.
    pub fn span_id(&self) -> &str {
        &self.traceparent[36..52]
    }

    /// The context stored in `metadata`, if a well-formed one is there.
    pub fn from_metadata(metadata: &Metadata) -> Option<Self> {
        let parent = metadata.entries.get(TRACEPARENT)?.as_str()?;
        let state = metadata.entries.get(TRACESTATE).and_then(Value::as_str);
        Self::new(parent, state)
    }

    /// Writes the context into `metadata`, replacing one that was there.
    pub fn write_to(&self, metadata: &mut Metadata) {
        metadata.entries.insert(
            TRACEPARENT.to_owned(),
            Value::from(self.traceparent.clone()),
        );
        match &self.tracestate {
            Some(state) => {
                metadata
                    .entries
                    .insert(TRACESTATE.to_owned(), Value::from(state.clone()));
            }
            None => {
                metadata.entries.remove(TRACESTATE);
            }
        }
    }
}

impl std::fmt::Display for TraceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.traceparent)
    }
}

fn is_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let non_zero = |s: &str| s.bytes().any(|b| b != b'0');
    // Version 00 has exactly four fields; a later version may append more.
    parts.len() >= 4
        && hex(parts[0], 2)
        && !parts[0].eq_ignore_ascii_case("ff")
        && (parts.len() == 4 || !parts[0].eq("00"))
        && hex(parts[1], 32)
        && non_zero(parts[1])
        && hex(parts[2], 16)
        && non_zero(parts[2])
        && hex(parts[3], 2)
}

/// The distinct trace contexts of `metadata`, in order, at most [`MAX_LINKS`]: what a
/// projection batch links to.
pub fn links<'a>(metadata: impl IntoIterator<Item = &'a Metadata>) -> Vec<TraceContext> {
    let mut found: Vec<TraceContext> = Vec::new();
    for context in metadata.into_iter().filter_map(TraceContext::from_metadata) {
        if found.len() == MAX_LINKS {
            break;
        }
        if !found.contains(&context) {
            found.push(context);
        }
    }
    found
}

/// The trace contexts as one span field: `traceparent`s separated by spaces.
pub fn links_field(links: &[TraceContext]) -> String {
    links
        .iter()
        .map(TraceContext::traceparent)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_well_formed_traceparent_round_trips_through_metadata() {
        let context = TraceContext::new(PARENT, Some("rojo=00f067aa0ba902b7")).unwrap();
        assert_eq!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(context.span_id(), "00f067aa0ba902b7");
        let metadata = Metadata::new().with_trace_context(context.clone());
        assert_eq!(TraceContext::from_metadata(&metadata), Some(context));
    }

    #[test]
    fn malformed_traceparents_are_dropped() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::new(bad, None), None, "{bad}");
        }
    }

    #[test]
    fn links_are_distinct_and_bounded() {
        let mut all = Vec::new();
        for i in 0..(MAX_LINKS + 5) {
            let parent = format!("00-{:032x}-00f067aa0ba902b7-01", i + 1);
            let context = TraceContext::new(&parent, None).unwrap();
            all.push(Metadata::new().with_trace_context(context.clone()));
            all.push(Metadata::new().with_trace_context(context));
        }
        all.push(Metadata::new());
        let found = links(&all);
        assert_eq!(found.len(), MAX_LINKS);
        assert_eq!(found[1].trace_id(), format!("{:032x}", 2));
    }
}
