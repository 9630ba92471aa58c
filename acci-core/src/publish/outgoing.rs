//! [`OutgoingMessage`]: the message a recorded event becomes.

use crate::event::StoredEvent;
use crate::observability::TraceContext;
use crate::store::LogPosition;

use super::escape::escape;
use super::headers;
use super::subject::SubjectRule;

/// A recorded event as a broker message: a stable id, a subject, headers and the JSON
/// payload. Built by [`from_event`](Self::from_event); read back on the other side as an
/// [`IncomingMessage`](super::IncomingMessage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The message id: the event id, so a broker or an inbox that deduplicates by id
    /// sees a message published twice as one (RabbitMQ `message_id`, NATS `Nats-Msg-Id`).
    pub message_id: String,
    /// The subject or routing key.
    pub subject: String,
    /// The headers, by their names in [`headers`], in that order.
    pub headers: Vec<(&'static str, String)>,
    /// The event's payload as JSON text.
    pub payload: String,
    /// The event's place in the global log (also in the headers): what the relay's
    /// checkpoint moves over once the broker confirmed the message.
    pub position: LogPosition,
}

impl OutgoingMessage {
    /// The message of `event`, under the subject `rule` gives it. An error is the rule's
    /// refusal of the event.
    pub fn from_event(event: &StoredEvent, rule: &dyn SubjectRule) -> Result<Self, String> {
        let subject = rule.subject(event)?;
        let metadata = &event.metadata;
        let mut headers = vec![
            (headers::EVENT_TYPE, event.event_type.clone()),
            (headers::SCHEMA_VERSION, event.schema_version.to_string()),
            (headers::TENANT, escape(event.stream.tenant.as_str(), &[])),
            (
                headers::AGGREGATE_TYPE,
                event.stream.aggregate_type.to_string(),
            ),
            (
                headers::AGGREGATE_ID,
                escape(event.stream.aggregate_id.as_str(), &[]),
            ),
            (headers::SEQUENCE, event.sequence.to_string()),
            (headers::LOG_POSITION, event.position.to_string()),
            (
                headers::RECORDED_AT,
                event
                    .recorded_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
        ];
        if let Some(id) = metadata.correlation_id {
            headers.push((headers::CORRELATION_ID, id.to_string()));
        }
        if let Some(id) = metadata.causation_id {
            headers.push((headers::CAUSATION_ID, id.to_string()));
        }
        if let Some(user) = &metadata.user_id {
            headers.push((headers::USER_ID, escape(user, &[])));
        }
        let trace = TraceContext::from_metadata(metadata);
        let mut entries = metadata.entries.clone();
        entries.remove(headers::TRACEPARENT);
        entries.remove(headers::TRACESTATE);
        if !entries.is_empty() {
            // A map of strings to JSON values always serializes.
            let json = serde_json::to_string(&entries).unwrap_or_default();
            headers.push((headers::METADATA, json));
        }
        if let Some(trace) = trace {
            headers.push((headers::TRACEPARENT, trace.traceparent().to_owned()));
            if let Some(state) = trace.tracestate() {
                headers.push((headers::TRACESTATE, state.to_owned()));
            }
        }
        headers.push((headers::CONTENT_TYPE, headers::JSON.to_owned()));
        Ok(Self {
            message_id: event.event_id.to_string(),
            subject,
            headers,
            payload: event.data.to_string(),
            position: event.position,
        })
    }

    /// The value of the header `name`, if the message has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The size a broker weighs: payload and header values, in bytes.
    pub fn size(&self) -> usize {
        self.payload.len()
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    }

    /// The message as a subscriber receives it, for in-memory brokers and tests.
    pub fn to_incoming(&self) -> super::IncomingMessage {
        super::IncomingMessage {
            message_id: Some(self.message_id.clone()),
            subject: self.subject.clone(),
            headers: self
                .headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.clone()))
                .collect(),
            payload: self.payload.clone().into_bytes(),
        }
    }
}
