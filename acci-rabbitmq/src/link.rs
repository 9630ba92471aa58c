//! Opening a connection and a channel to RabbitMQ, declaring the exchange, and the
//! delete helpers.

use lapin::options::{ExchangeDeclareOptions, ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

use crate::error::RabbitError;
use crate::options::{RabbitOptions, check_name};

/// A connection with the one channel it is used through. The connection is kept so
/// that it lives as long as its channel and is closed with it.
pub(crate) struct Link {
    pub(crate) connection: Connection,
    pub(crate) channel: Channel,
}

impl Link {
    /// Whether the connection and channel are still open.
    pub(crate) fn is_open(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }
}

/// Connects to `options.url` within `connect_timeout`, opens a channel and, if asked,
/// declares the exchange as a durable topic exchange.
pub(crate) async fn open(options: &RabbitOptions) -> Result<Link, RabbitError> {
    let host = options.host();
    let connect = async {
        let connection = Connection::connect(&options.url, ConnectionProperties::default())
            .await
            .map_err(|e| RabbitError::Connect {
                host: host.clone(),
                reason: e.to_string(),
            })?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| RabbitError::Connect {
                host: host.clone(),
                reason: format!("opening a channel: {e}"),
            })?;
        Ok::<_, RabbitError>(Link {
            connection,
            channel,
        })
    };
    let link = tokio::time::timeout(options.connect_timeout, connect)
        .await
        .map_err(|_| RabbitError::Connect {
            host: host.clone(),
            reason: format!("no answer within {:?}", options.connect_timeout),
        })??;
    if options.declare_exchange {
        let declare = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        link.channel
            .exchange_declare(
                options.exchange.as_str().into(),
                ExchangeKind::Topic,
                declare,
                FieldTable::default(),
            )
            .await
            .map_err(|e| {
                setup(
                    options,
                    format!("declare the exchange `{}`", options.exchange),
                    e,
                )
            })?;
    }
    Ok(link)
}

/// A [`RabbitError::Setup`] naming the broker, `action` and lapin's error.
pub(crate) fn setup(options: &RabbitOptions, action: String, error: lapin::Error) -> RabbitError {
    RabbitError::Setup {
        host: options.host(),
        action,
        reason: error.to_string(),
    }
}

/// Deletes the queue `queue` on the broker of `options` (for tests and teardown).
pub async fn delete_queue(options: &RabbitOptions, queue: &str) -> Result<(), RabbitError> {
    options.validate()?;
    check_name("RabbitMQ queue name", queue)?;
    let link = open(&RabbitOptions {
        declare_exchange: false,
        ..options.clone()
    })
    .await?;
    link.channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await
        .map_err(|e| setup(options, format!("delete the queue `{queue}`"), e))?;
    let _ = link.connection.close(200, "done".into()).await;
    Ok(())
}

/// Deletes the exchange of `options` (for tests and teardown).
pub async fn delete_exchange(options: &RabbitOptions) -> Result<(), RabbitError> {
    options.validate()?;
    let link = open(&RabbitOptions {
        declare_exchange: false,
        ..options.clone()
    })
    .await?;
    link.channel
        .exchange_delete(
            options.exchange.as_str().into(),
            ExchangeDeleteOptions::default(),
        )
        .await
        .map_err(|e| {
            setup(
                options,
                format!("delete the exchange `{}`", options.exchange),
                e,
            )
        })?;
    let _ = link.connection.close(200, "done".into()).await;
    Ok(())
}
