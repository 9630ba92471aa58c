//! Small events and streams for tests that need some rows, not a domain.

use acci_core::{AggregateId, EventId, Metadata, NewEvent, StreamId, TenantId};
use serde_json::json;

/// The `Account` stream `id` of `tenant`.
pub fn stream(tenant: &str, id: &str) -> StreamId {
    StreamId::new(
        TenantId::new(tenant).unwrap(),
        "Account",
        AggregateId::new(id).unwrap(),
    )
    .unwrap()
}

/// A `Counted` event carrying `n`, with empty metadata.
pub fn counted(n: u64) -> NewEvent {
    NewEvent {
        event_id: EventId::new(),
        event_type: "Counted".into(),
        schema_version: 1,
        payload: json!({ "n": n }),
        metadata: Metadata::default(),
    }
}

/// The payload of a `Counted` event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counted {
    /// The number counted.
    pub n: u64,
}

/// The event enum of the `Account` streams of these tests: `Counted` at schema version 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountedEvent {
    /// A `Counted` event.
    Counted(Counted),
}

impl acci_core::EventEnum for CountedEvent {
    const EVENT_TYPES: &'static [&'static str] = &["Counted"];

    fn event_type(&self) -> &'static str {
        "Counted"
    }

    fn schema_version(&self) -> u32 {
        1
    }

    fn to_payload(&self) -> Result<serde_json::Value, serde_json::Error> {
        let CountedEvent::Counted(counted) = self;
        serde_json::to_value(counted)
    }

    fn decode(
        event_type: &str,
        schema_version: u32,
        payload: serde_json::Value,
    ) -> Result<Self, acci_core::DecodeError> {
        use acci_core::{DecodeError, DecodeFailure};
        if event_type != "Counted" {
            return Err(DecodeError::new(
                event_type,
                schema_version,
                DecodeFailure::UnknownEventType(event_type.to_owned()),
            ));
        }
        if schema_version != 1 {
            return Err(DecodeError::new(
                event_type,
                schema_version,
                DecodeFailure::UnsupportedVersion {
                    found: schema_version,
                    reason: "it is newer than version 1 of `Counted` that this build knows".into(),
                },
            ));
        }
        serde_json::from_value(payload)
            .map(CountedEvent::Counted)
            .map_err(|e| DecodeError::new(event_type, schema_version, DecodeFailure::Payload(e)))
    }
}
