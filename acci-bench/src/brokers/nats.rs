//! The NATS JetStream baseline: async-nats alone, publish acknowledgements pipelined
//! over a window.
//!
//! [`setup`] creates a file-backed stream taking the relay's subjects (`acci.>`);
//! [`teardown`] deletes it. A fresh stream for each run, since JetStream would drop the
//! second run's messages as repeats of the first's ids.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use acci_core::publish::OutgoingMessage;
use async_nats::HeaderMap;
use async_nats::jetstream::context::{Context, ContextBuilder};
use async_nats::jetstream::stream::{Config, StorageType};

async fn context(url: &str, in_flight: usize) -> Result<Context, String> {
    let client = async_nats::connect(url)
        .await
        .map_err(|e| format!("connecting to NATS: {e}"))?;
    Ok(ContextBuilder::new()
        .max_ack_inflight(in_flight.max(1))
        .build(client))
}

/// Creates the stream `stream` on the subjects `acci.>`.
pub async fn setup(url: &str, stream: &str) -> Result<(), String> {
    context(url, 1)
        .await?
        .create_stream(Config {
            name: stream.to_owned(),
            subjects: vec!["acci.>".to_owned()],
            storage: StorageType::File,
            ..Config::default()
        })
        .await
        .map_err(|e| format!("creating the stream `{stream}`: {e}"))?;
    Ok(())
}

/// Deletes the stream [`setup`] created.
pub async fn teardown(url: &str, stream: &str) -> Result<(), String> {
    context(url, 1)
        .await?
        .delete_stream(stream)
        .await
        .map_err(|e| format!("deleting the stream `{stream}`: {e}"))?;
    Ok(())
}

/// Publishes `messages` as the relay's adapter does (its headers and `Nats-Msg-Id`),
/// with up to `window` acknowledgements outstanding, and waits for all of them; returns
/// the time from the first publish to the last acknowledgement.
pub async fn raw_confirmed_publish(
    url: &str,
    messages: &[OutgoingMessage],
    window: usize,
) -> Result<Duration, String> {
    let window = window.max(1);
    let context = context(url, window).await?;
    let mut pending = VecDeque::with_capacity(window);
    let started = Instant::now();
    for message in messages {
        if pending.len() == window
            && let Some(ack) = pending.pop_front()
        {
            acknowledged(ack).await?;
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &message.headers {
            headers.insert(*name, value.as_str());
        }
        headers.insert("Nats-Msg-Id", message.message_id.as_str());
        let ack = context
            .publish_with_headers(
                message.subject.clone(),
                headers,
                message.payload.clone().into_bytes().into(),
            )
            .await
            .map_err(|e| format!("publishing: {e}"))?;
        pending.push_back(ack);
    }
    for ack in pending {
        acknowledged(ack).await?;
    }
    Ok(started.elapsed())
}

async fn acknowledged(ack: async_nats::jetstream::context::PublishAckFuture) -> Result<(), String> {
    let ack = ack.await.map_err(|e| format!("acknowledgement: {e}"))?;
    if ack.duplicate {
        return Err(format!("message {} was a repeat", ack.sequence));
    }
    Ok(())
}
