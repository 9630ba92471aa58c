//! Metadata carried with every recorded event.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// What is known about why and by whom an event was recorded.
///
/// The tenant is part of the event's [`StreamId`](crate::StreamId); everything else that
/// travels with an event lives here. `entries` holds free-form values (a request id, a
/// client version) that the framework stores and returns untouched.
///
/// The stored shape (each id a UUID in text, `user_id` text, `entries` an object) is
/// also the `events_metadata_shape` constraint of acci-postgres's baseline migration,
/// so no writer stores metadata this type cannot read; change both together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Shared by every event and command of one business transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    /// The command or event that caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// The user on whose behalf the command ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Free-form entries, stored and returned as given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub entries: BTreeMap<String, Value>,
}

impl Metadata {
    /// Empty metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }

    /// Sets the causation id.
    pub fn with_causation_id(mut self, id: Uuid) -> Self {
        self.causation_id = Some(id);
        self
    }

    /// Sets the user id.
    pub fn with_user_id(mut self, user: impl Into<String>) -> Self {
        self.user_id = Some(user.into());
        self
    }

    /// Stores the W3C trace context of the request with the events (as the `traceparent`
    /// and `tracestate` entries), so that whoever reads them can link back to it; see
    /// [`observability`](crate::observability).
    pub fn with_trace_context(mut self, context: crate::observability::TraceContext) -> Self {
        context.write_to(&mut self);
        self
    }

    /// The W3C trace context stored with the events, if a well-formed one is.
    pub fn trace_context(&self) -> Option<crate::observability::TraceContext> {
        crate::observability::TraceContext::from_metadata(self)
    }

    /// Adds a free-form entry.
    pub fn with_entry(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.entries.insert(key.into(), value.into());
        self
    }
}
