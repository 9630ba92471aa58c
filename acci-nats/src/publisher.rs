//! [`NatsPublisher`]: publishing to JetStream with acknowledgements, and what the stream
//! last took.

use acci_core::LogPosition;
use acci_core::publish::{
    Confirmation, OutgoingMessage, PublishError, Publisher, headers, log_position,
};
use async_nats::jetstream::context::{Context, ContextBuilder, PublishErrorKind};
use async_nats::jetstream::stream::{Config, StorageType};
use async_trait::async_trait;

use crate::error::NatsError;
use crate::message::to_headers;
use crate::options::NatsOptions;

/// Publishes the relay's messages to a JetStream stream. Each message goes out under its
/// subject with its headers and its event id as `Nats-Msg-Id` (JetStream drops a repeat
/// within the duplicate window), and its confirmation is the stream's publish
/// acknowledgement: `Ok` once the stream stored it (a repeat it dropped counts, it is
/// stored), `Unroutable` when no stream takes the subject, `Timeout` when no answer came
/// within [`ack_timeout`](NatsOptions::ack_timeout) — which is also what a dropped
/// connection looks like, since the client reconnects on its own and an answer lost
/// with the connection never comes.
///
/// Backpressure: at most [`max_pending`](NatsOptions::max_pending) acknowledgements are
/// outstanding; `publish` waits for one beyond that instead of failing or buffering.
///
/// [`last_published`](Publisher::last_published) reads the stream's last message and
/// answers its log position: one relay writes one stream, and a relay that takes over
/// starts after what the stream holds, whatever the duplicate window.
#[derive(Debug, Clone)]
pub struct NatsPublisher {
    options: NatsOptions,
    context: Context,
    limit: usize,
}

impl NatsPublisher {
    /// Connects to the server and (if [`create_stream`](NatsOptions::create_stream))
    /// creates the stream when it does not exist. Invalid options are refused before any
    /// I/O.
    pub async fn connect(options: NatsOptions) -> Result<Self, NatsError> {
        options.validate()?;
        let client = connect(&options).await?;
        let limit = options
            .max_message_bytes
            .min(client.server_info().max_payload);
        let context = ContextBuilder::new()
            .timeout(options.ack_timeout)
            .ack_timeout(options.ack_timeout)
            .max_ack_inflight(options.max_pending)
            .backpressure_on_inflight(true)
            .build(client);
        if options.create_stream {
            let config = Config {
                name: options.stream.clone(),
                subjects: options.subjects.clone(),
                duplicate_window: options.duplicate_window,
                max_message_size: i32::try_from(limit).unwrap_or(i32::MAX),
                storage: StorageType::File,
                ..Config::default()
            };
            context.get_or_create_stream(config).await.map_err(|e| {
                setup(
                    &options,
                    format!("create the stream `{}`", options.stream),
                    e,
                )
            })?;
        }
        Ok(Self {
            options,
            context,
            limit,
        })
    }

    /// The options it was connected with.
    pub fn options(&self) -> &NatsOptions {
        &self.options
    }
}

/// Opens a client connection to the server of `options`.
pub(crate) async fn connect(options: &NatsOptions) -> Result<async_nats::Client, NatsError> {
    async_nats::ConnectOptions::new()
        .connection_timeout(options.connect_timeout)
        .request_timeout(Some(options.ack_timeout))
        .connect(options.url.as_str())
        .await
        .map_err(|e| NatsError::Connect {
            host: options.host(),
            reason: e.to_string(),
        })
}

pub(crate) fn setup(
    options: &NatsOptions,
    action: String,
    error: impl std::fmt::Display,
) -> NatsError {
    NatsError::Setup {
        host: options.host(),
        action,
        reason: error.to_string(),
    }
}

/// Deletes the stream of `options` (for tests and teardown); a stream that is not there
/// is no error.
pub async fn delete_stream(options: &NatsOptions) -> Result<(), NatsError> {
    options.validate()?;
    let context = async_nats::jetstream::new(connect(options).await?);
    match context.delete_stream(&options.stream).await {
        Ok(_) => Ok(()),
        Err(error) if error.to_string().contains("not found") => Ok(()),
        Err(error) => Err(setup(
            options,
            format!("delete the stream `{}`", options.stream),
            error,
        )),
    }
}

/// The relay's error for a JetStream publish error; `ack_timeout` is the wait that ran
/// out when it timed out.
fn publish_error(
    error: &async_nats::jetstream::context::PublishError,
    subject: &str,
    ack_timeout: std::time::Duration,
) -> PublishError {
    match error.kind() {
        PublishErrorKind::StreamNotFound => PublishError::Unroutable(subject.to_owned()),
        PublishErrorKind::TimedOut => PublishError::Timeout(ack_timeout),
        PublishErrorKind::BrokenPipe => PublishError::Connection(error.to_string()),
        _ => PublishError::Nacked(error.to_string()),
    }
}

#[async_trait]
impl Publisher for NatsPublisher {
    async fn publish(&self, message: OutgoingMessage) -> Result<Confirmation, PublishError> {
        let size = message.size();
        if size > self.limit {
            return Err(PublishError::TooLarge {
                size,
                limit: self.limit,
            });
        }
        let headers = to_headers(&message);
        let subject = message.subject;
        let sent = self
            .context
            .publish_with_headers(
                subject.clone(),
                headers,
                message.payload.into_bytes().into(),
            )
            .await
            .map_err(|e| publish_error(&e, &subject, self.options.ack_timeout))?;
        let ack_timeout = self.options.ack_timeout;
        Ok(Box::pin(async move {
            sent.await
                .map(|_| ())
                .map_err(|e| publish_error(&e, &subject, ack_timeout))
        }))
    }

    async fn last_published(&self, _relay: &str) -> Result<Option<LogPosition>, PublishError> {
        let lost = |e: &dyn std::fmt::Display| {
            PublishError::Connection(format!("reading the stream `{}`: {e}", self.options.stream))
        };
        let mut stream = self
            .context
            .get_stream(&self.options.stream)
            .await
            .map_err(|e| lost(&e))?;
        let state = stream.info().await.map_err(|e| lost(&e))?.state.clone();
        if state.messages == 0 {
            return Ok(None);
        }
        let last = stream
            .get_raw_message(state.last_sequence)
            .await
            .map_err(|e| lost(&e))?;
        let Some(value) = last.headers.get(headers::LOG_POSITION) else {
            return Err(PublishError::Refused(format!(
                "the last message of the stream `{}` (sequence {}) has no `{}` header: the stream holds messages no ACCI relay published",
                self.options.stream,
                state.last_sequence,
                headers::LOG_POSITION
            )));
        };
        log_position(value.as_str())
            .map(Some)
            .map_err(|e| PublishError::Refused(e.to_string()))
    }
}
