//! [`IncomingMessage`]: a message as a subscriber receives it, decoded back into the
//! recorded event it was made from.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::error::DecodeError;
use crate::event::{EventEnum, Recorded, StoredEvent};
use crate::ids::{AggregateId, EventId, StreamId, TenantId};
use crate::metadata::Metadata;
use crate::observability::TraceContext;
use crate::store::LogPosition;

use super::escape::unescape;
use super::headers;

/// A message as a broker delivered it: what an adapter's subscriber hands over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// The broker's message id, if it kept one (the event id, as published).
    pub message_id: Option<String>,
    /// The subject or routing key it came under.
    pub subject: String,
    /// Its headers, names in lowercase.
    pub headers: BTreeMap<String, String>,
    /// Its body: the event's payload as JSON text.
    pub payload: Vec<u8>,
}

/// Why a message could not be read back into an event. The message is not an ACCI
/// event this build can read: a subscriber should set it aside (dead-letter it), not
/// retry it.
#[derive(Debug, thiserror::Error)]
pub enum IncomingError {
    /// A header every ACCI message carries is missing.
    #[error("the message has no `{0}` header; it was not published by an ACCI relay")]
    MissingHeader(&'static str),
    /// A header holds what it cannot.
    #[error("the `{header}` header holds `{value}`, which is not {expected}")]
    BadHeader {
        /// The header.
        header: &'static str,
        /// Its value.
        value: String,
        /// What it should hold.
        expected: &'static str,
    },
    /// The payload is not JSON text.
    #[error("the payload is not JSON: {0}")]
    Payload(#[source] serde_json::Error),
    /// The payload does not decode into the event enum: an event type the enum does not
    /// list, a schema version newer than this build, or fields that do not match.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl IncomingMessage {
    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    fn required(&self, name: &'static str) -> Result<&str, IncomingError> {
        self.header(name).ok_or(IncomingError::MissingHeader(name))
    }

    /// The event id: the message id the relay published it under. A message id is
    /// needed: it is what an inbox deduplicates by.
    pub fn event_id(&self) -> Result<EventId, IncomingError> {
        let id = self
            .message_id
            .as_deref()
            .ok_or(IncomingError::MissingHeader("message id"))?;
        Uuid::parse_str(id)
            .map(EventId::from)
            .map_err(|_| bad("message id", id, "a UUID"))
    }

    /// The event with its envelope, its payload still JSON: every header read back.
    pub fn decode_stored(&self) -> Result<StoredEvent, IncomingError> {
        let event_id = self.event_id()?;
        let event_type = self.required(headers::EVENT_TYPE)?.to_owned();
        let schema_version = number::<u32>(self, headers::SCHEMA_VERSION)?;
        let tenant = escaped(self, headers::TENANT)?;
        let tenant =
            TenantId::new(&tenant).map_err(|_| bad(headers::TENANT, &tenant, "a tenant id"))?;
        let aggregate_type = self.required(headers::AGGREGATE_TYPE)?;
        let aggregate_id = escaped(self, headers::AGGREGATE_ID)?;
        let aggregate_id = AggregateId::new(&aggregate_id)
            .map_err(|_| bad(headers::AGGREGATE_ID, &aggregate_id, "an aggregate id"))?;
        let stream = StreamId::new(tenant, aggregate_type, aggregate_id).map_err(|_| {
            bad(
                headers::AGGREGATE_TYPE,
                aggregate_type,
                "an aggregate type name",
            )
        })?;
        let sequence = number::<u64>(self, headers::SEQUENCE)?;
        let position = log_position(self.required(headers::LOG_POSITION)?)?;
        let recorded_at = self.required(headers::RECORDED_AT)?;
        let recorded_at = DateTime::parse_from_rfc3339(recorded_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| bad(headers::RECORDED_AT, recorded_at, "an RFC 3339 time"))?;
        let data: Value = serde_json::from_slice(&self.payload).map_err(IncomingError::Payload)?;
        Ok(StoredEvent {
            event_id,
            stream,
            sequence,
            position,
            event_type,
            schema_version,
            metadata: self.metadata()?,
            recorded_at,
            data,
        })
    }

    /// The event decoded into the application's event enum `E`, upcasting an older
    /// schema version as a store read does.
    pub fn decode<E: EventEnum>(&self) -> Result<Recorded<E>, IncomingError> {
        Ok(self.decode_stored()?.decode::<E>()?)
    }

    fn metadata(&self) -> Result<Metadata, IncomingError> {
        let mut metadata = Metadata::new();
        for (header, slot) in [
            (headers::CORRELATION_ID, &mut metadata.correlation_id),
            (headers::CAUSATION_ID, &mut metadata.causation_id),
        ] {
            if let Some(value) = self.header(header) {
                *slot = Some(Uuid::parse_str(value).map_err(|_| bad(header, value, "a UUID"))?);
            }
        }
        if self.header(headers::USER_ID).is_some() {
            metadata.user_id = Some(escaped(self, headers::USER_ID)?);
        }
        if let Some(json) = self.header(headers::METADATA) {
            metadata.entries = serde_json::from_str(json)
                .map_err(|_| bad(headers::METADATA, json, "a JSON object"))?;
        }
        if let Some(parent) = self.header(headers::TRACEPARENT) {
            // A malformed context is dropped, as the W3C recommendation asks.
            if let Some(context) = TraceContext::new(parent, self.header(headers::TRACESTATE)) {
                context.write_to(&mut metadata);
            }
        }
        Ok(metadata)
    }
}

fn bad(header: &'static str, value: &str, expected: &'static str) -> IncomingError {
    IncomingError::BadHeader {
        header,
        value: value.to_owned(),
        expected,
    }
}

fn number<T: std::str::FromStr>(
    message: &IncomingMessage,
    header: &'static str,
) -> Result<T, IncomingError> {
    let value = message.required(header)?;
    value.parse().map_err(|_| bad(header, value, "a number"))
}

fn escaped(message: &IncomingMessage, header: &'static str) -> Result<String, IncomingError> {
    let value = message.required(header)?;
    unescape(value).ok_or_else(|| bad(header, value, "percent-escaped text"))
}

/// A log position as [`LogPosition`] displays it: `<commit>:<position>`.
pub fn log_position(value: &str) -> Result<LogPosition, IncomingError> {
    let parsed = value.split_once(':').and_then(|(commit, position)| {
        Some(LogPosition {
            commit: commit.parse().ok()?,
            position: position.parse().ok()?,
        })
    });
    parsed.ok_or_else(|| {
        bad(
            headers::LOG_POSITION,
            value,
            "a log position `<transaction>:<position>`",
        )
    })
}
