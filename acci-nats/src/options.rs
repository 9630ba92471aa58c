//! [`NatsOptions`]: which server, which stream, and how publishing is bounded.

use std::time::Duration;

use acci_core::ValidationError;

/// Where and how a [`NatsPublisher`](crate::NatsPublisher) publishes and a
/// [`NatsSubscriber`](crate::NatsSubscriber) consumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsOptions {
    /// The server, `nats://host:port`.
    pub url: String,
    /// The JetStream stream the relay's subjects land in. One relay writes one stream:
    /// its last message is where that relay goes on from after a takeover.
    pub stream: String,
    /// The subjects the stream takes; `["acci.>"]` by default, the subjects of
    /// [`DefaultSubject`](acci_core::publish::DefaultSubject). A message no stream takes
    /// is unroutable and parked by the relay.
    pub subjects: Vec<String>,
    /// Create the stream on connecting if it does not exist (file storage, these
    /// subjects, this window); `true` by default.
    pub create_stream: bool,
    /// How long JetStream remembers message ids to drop a repeat (2 minutes by default,
    /// JetStream's own). Not what prevents duplicates after a takeover: the relay starts
    /// after the stream's last message.
    pub duplicate_window: Duration,
    /// The largest message published, headers included; larger ones are refused as
    /// `TooLarge` before they are sent (and never above the server's `max_payload`).
    pub max_message_bytes: usize,
    /// How long a publish acknowledgement may take before it counts as lost.
    pub ack_timeout: Duration,
    /// Publishes unacknowledged at most; beyond, `publish` waits (backpressure).
    pub max_pending: usize,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long a subscriber's delivery may stay unacknowledged before JetStream
    /// delivers it again (30 s by default); set when the durable consumer is created.
    pub ack_wait: Duration,
}

impl NatsOptions {
    /// The stream `stream` on the server at `url`, with the defaults above.
    pub fn new(url: impl Into<String>, stream: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: stream.into(),
            subjects: vec!["acci.>".to_owned()],
            create_stream: true,
            duplicate_window: Duration::from_secs(120),
            max_message_bytes: 1024 * 1024,
            ack_timeout: Duration::from_secs(5),
            max_pending: 1024,
            connect_timeout: Duration::from_secs(10),
            ack_wait: Duration::from_secs(30),
        }
    }

    /// Refuses a stream name JetStream cannot take, an empty URL or subject list, and
    /// zero limits or timeouts.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_name("JetStream stream name", &self.stream)?;
        if self.url.trim().is_empty() {
            return Err(ValidationError::new("NATS URL", "is empty"));
        }
        if self.subjects.is_empty() || self.subjects.iter().any(|s| s.trim().is_empty()) {
            return Err(ValidationError::new(
                "JetStream stream subjects",
                "are empty; the stream would take no message",
            ));
        }
        for (what, zero) in [
            ("NATS max_message_bytes", self.max_message_bytes == 0),
            ("NATS max_pending", self.max_pending == 0),
            ("NATS ack_timeout", self.ack_timeout.is_zero()),
            ("NATS connect_timeout", self.connect_timeout.is_zero()),
            (
                "JetStream duplicate_window",
                self.duplicate_window.is_zero(),
            ),
        ] {
            if zero {
                return Err(ValidationError::new(what, "is zero"));
            }
        }
        Ok(())
    }

    /// The host and port of the URL, to name the server in errors without credentials.
    pub fn host(&self) -> String {
        acci_core::publish::broker_host(&self.url).to_owned()
    }
}

/// Refuses a stream or consumer name JetStream cannot take: empty, or holding `.`, `*`,
/// `>`, a path separator, whitespace or control characters.
pub(crate) fn check_name(what: &'static str, name: &str) -> Result<(), ValidationError> {
    if name.is_empty() {
        return Err(ValidationError::new(what, "is empty"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| matches!(c, '.' | '*' | '>' | '/' | '\\') || c.is_whitespace() || c.is_control())
    {
        return Err(ValidationError::new(
            what,
            format!(
                "`{}` holds `{}`; JetStream names cannot hold `.`, `*`, `>`, `/`, `\\`, whitespace or control characters",
                name.escape_debug(),
                bad.escape_debug()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_name_with_a_dot_is_refused_by_name() {
        let error = NatsOptions::new("nats://127.0.0.1:4222", "acci.events")
            .validate()
            .unwrap_err();
        assert_eq!(error.what, "JetStream stream name");
        assert!(error.problem.contains("holds `.`"), "{}", error.problem);
    }

    #[test]
    fn the_host_leaves_the_credentials_out() {
        let options = NatsOptions::new("nats://user:secret@10.0.0.1:4222", "x");
        assert_eq!(options.host(), "10.0.0.1:4222");
    }

    #[test]
    fn zero_limits_are_refused() {
        let mut options = NatsOptions::new("nats://127.0.0.1:4222", "events");
        options.max_pending = 0;
        assert_eq!(options.validate().unwrap_err().what, "NATS max_pending");
    }
}
