//! The RabbitMQ baseline: lapin alone, publisher confirms pipelined over a window.
//!
//! [`setup`] declares a durable topic exchange and a durable queue of the same name
//! bound to every routing key (`#`), so that each message is routed and stored as the
//! relay's would be; [`teardown`] deletes both.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use acci_core::publish::OutgoingMessage;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

async fn channel(url: &str) -> Result<(Connection, Channel), String> {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .map_err(|e| format!("connecting to RabbitMQ: {e}"))?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| format!("opening a channel: {e}"))?;
    Ok((connection, channel))
}

/// Declares the exchange `exchange` (durable, topic) and a durable queue of the same
/// name bound to it with `#`.
pub async fn setup(url: &str, exchange: &str) -> Result<(), String> {
    let (connection, channel) = channel(url).await?;
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("declaring the exchange `{exchange}`: {e}"))?;
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(exchange.into(), durable, FieldTable::default())
        .await
        .map_err(|e| format!("declaring the queue `{exchange}`: {e}"))?;
    channel
        .queue_bind(
            exchange.into(),
            exchange.into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| format!("binding the queue `{exchange}`: {e}"))?;
    let _ = connection.close(200, "set up".into()).await;
    Ok(())
}

/// Deletes the queue and the exchange [`setup`] declared.
pub async fn teardown(url: &str, exchange: &str) -> Result<(), String> {
    let (connection, channel) = channel(url).await?;
    channel
        .queue_delete(exchange.into(), QueueDeleteOptions::default())
        .await
        .map_err(|e| format!("deleting the queue `{exchange}`: {e}"))?;
    channel
        .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
        .await
        .map_err(|e| format!("deleting the exchange `{exchange}`: {e}"))?;
    let _ = connection.close(200, "torn down".into()).await;
    Ok(())
}

/// Publishes `messages` to `exchange` as the relay's adapter does (persistent,
/// mandatory, message id, headers as long strings), with up to `window` confirmations
/// outstanding, and waits for all of them; returns the time from the first publish to
/// the last confirmation. A negative acknowledgement or a returned message is an error.
pub async fn raw_confirmed_publish(
    url: &str,
    exchange: &str,
    messages: &[OutgoingMessage],
    window: usize,
) -> Result<Duration, String> {
    let (connection, channel) = channel(url).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| format!("confirm mode: {e}"))?;
    let options = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    let window = window.max(1);
    let mut pending = VecDeque::with_capacity(window);
    let started = Instant::now();
    for message in messages {
        if pending.len() == window
            && let Some(confirm) = pending.pop_front()
        {
            confirmed(confirm).await?;
        }
        let mut headers = FieldTable::default();
        for (name, value) in &message.headers {
            headers.insert(
                ShortString::from(*name),
                AMQPValue::LongString(LongString::from(value.as_str())),
            );
        }
        let properties = BasicProperties::default()
            .with_message_id(message.message_id.as_str().into())
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_headers(headers);
        let confirm = channel
            .basic_publish(
                exchange.into(),
                message.subject.as_str().into(),
                options,
                message.payload.as_bytes(),
                properties,
            )
            .await
            .map_err(|e| format!("publishing: {e}"))?;
        pending.push_back(confirm);
    }
    for confirm in pending {
        confirmed(confirm).await?;
    }
    let elapsed = started.elapsed();
    let _ = connection.close(200, "done".into()).await;
    Ok(elapsed)
}

async fn confirmed(confirm: lapin::PublisherConfirm) -> Result<(), String> {
    match confirm.await.map_err(|e| format!("confirmation: {e}"))? {
        lapin::Confirmation::Ack(None) => Ok(()),
        lapin::Confirmation::Ack(Some(_)) => Err("a message was returned unroutable".into()),
        lapin::Confirmation::Nack(_) => Err("a message was nacked".into()),
        lapin::Confirmation::NotRequested => Err("the channel is not in confirm mode".into()),
    }
}

#[cfg(test)]
mod tests {
    use acci_core::LogPosition;

    use super::*;

    #[tokio::test]
    async fn publishes_and_confirms_every_message() {
        let url = std::env::var("RABBITMQ_URL")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
        let exchange = format!("acci.bench.{}", uuid::Uuid::new_v4());
        setup(&url, &exchange).await.unwrap();
        let messages: Vec<_> = (0..50)
            .map(|n| OutgoingMessage {
                message_id: uuid::Uuid::new_v4().to_string(),
                subject: format!("acci.t.Account.Counted{n}"),
                headers: vec![("acci-sequence", n.to_string())],
                payload: format!("{{\"n\":{n}}}"),
                position: LogPosition {
                    commit: 1,
                    position: n,
                },
            })
            .collect();
        raw_confirmed_publish(&url, &exchange, &messages, 8)
            .await
            .unwrap();
        teardown(&url, &exchange).await.unwrap();
    }
}
