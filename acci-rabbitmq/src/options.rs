//! [`RabbitOptions`]: which broker, which exchange, and the limits.

use std::time::Duration;

use acci_core::ValidationError;

/// The longest exchange or queue name AMQP carries, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// Where and how to publish and subscribe on RabbitMQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RabbitOptions {
    /// The broker's AMQP URL: `amqp://user:password@host:port/vhost` (`%2f` for `/`).
    pub url: String,
    /// The exchange events are published to and queues are bound to.
    pub exchange: String,
    /// Whether to declare the exchange (a durable topic exchange) on connecting; leave it
    /// `false` where the exchange is set up by other means. Default `true`.
    pub declare_exchange: bool,
    /// The largest message (payload and headers, [`OutgoingMessage::size`]) published;
    /// a larger one is refused with
    /// [`PublishError::TooLarge`](acci_core::publish::PublishError::TooLarge) before it
    /// is sent. Default 16 MiB, RabbitMQ's own default limit.
    ///
    /// [`OutgoingMessage::size`]: acci_core::publish::OutgoingMessage::size
    pub max_message_bytes: usize,
    /// How long opening a connection (TCP, AMQP handshake, channel) may take. Default 10 s.
    pub connect_timeout: Duration,
}

impl RabbitOptions {
    /// Options for the broker at `url` and the exchange `exchange`, the rest default.
    pub fn new(url: impl Into<String>, exchange: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            exchange: exchange.into(),
            declare_exchange: true,
            max_message_bytes: 16 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Refuses an empty or overlong exchange name, an empty URL, a zero size limit or
    /// connect timeout.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_name("RabbitMQ exchange name", &self.exchange)?;
        if self.url.trim().is_empty() {
            return Err(ValidationError::new("RabbitMQ URL", "is empty"));
        }
        if self.max_message_bytes == 0 {
            return Err(ValidationError::new(
                "RabbitMQ max_message_bytes",
                "is 0; no message would be published",
            ));
        }
        if self.connect_timeout.is_zero() {
            return Err(ValidationError::new("RabbitMQ connect_timeout", "is zero"));
        }
        Ok(())
    }

    /// The host and port of the URL, to name the broker in errors without its password.
    pub fn host(&self) -> String {
        acci_core::publish::broker_host(&self.url).to_owned()
    }
}

/// Refuses a name AMQP cannot carry, or the empty name (the default exchange, or a
/// server-named queue, neither of which ACCI means).
pub(crate) fn check_name(what: &'static str, name: &str) -> Result<(), ValidationError> {
    if name.is_empty() {
        return Err(ValidationError::new(what, "is empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(ValidationError::new(
            what,
            format!(
                "`{name}` is {} bytes; AMQP takes {MAX_NAME_BYTES}",
                name.len()
            ),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            what,
            format!("`{}` holds control characters", name.escape_debug()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_exchange_is_refused_by_name() {
        let error = RabbitOptions::new("amqp://127.0.0.1", "")
            .validate()
            .unwrap_err();
        assert_eq!(error.what, "RabbitMQ exchange name");
    }

    #[test]
    fn the_host_leaves_the_password_out() {
        let options = RabbitOptions::new("amqp://guest:secret@10.0.0.1:5672/%2f", "x");
        assert_eq!(options.host(), "10.0.0.1:5672");
    }
}
