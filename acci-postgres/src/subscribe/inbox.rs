//! [`Inbox`]: message ids a consumer processed, recorded in the same transaction as its
//! writes (table `inbox.processed`, migration 0003), so that a redelivered message is
//! processed once.

use acci_core::StoreError;
use acci_core::publish::{Delivery, IncomingError, IncomingMessage, SubscribeError, Subscriber};
use acci_core::{TenantId, ValidationError};
use sqlx::{Connection, PgConnection, PgPool};

use super::handler::EventHandler;
use crate::error::store_error;
use crate::projection::HandleError;

/// The longest consumer name and message id the inbox takes, in bytes.
pub const MAX_INBOX_ID_BYTES: usize = 256;

/// What [`Inbox::process`] did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed<T> {
    /// The work ran and committed with the message id; its result.
    Done(T),
    /// The message id was recorded before: the work did not run.
    AlreadyProcessed,
}

/// Why the inbox did not process a message.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// A consumer name or message id the inbox cannot take; nothing was done.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The message is not an event this build can read (a missing header, an unknown
    /// event type, a schema version newer than the code). Processing it again will not
    /// help: set it aside.
    #[error("the message cannot be read: {0}")]
    Unreadable(#[from] IncomingError),
    /// The consumer's work failed; nothing of it, and no record of the message, was kept.
    #[error("the consumer failed: {0}")]
    Handler(#[source] HandleError),
    /// The database failed; nothing was kept.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The broker failed.
    #[error(transparent)]
    Broker(#[from] SubscribeError),
}

/// The inbox of consumers in PostgreSQL. Connect it as the application role (it needs
/// `inbox.processed` only, and whatever the consumers' own writes need).
#[derive(Debug, Clone)]
pub struct Inbox {
    pool: PgPool,
}

fn check_id(what: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() || value.len() > MAX_INBOX_ID_BYTES {
        return Err(ValidationError::new(
            what,
            format!(
                "is {} bytes; it must be 1 to {MAX_INBOX_ID_BYTES}",
                value.len()
            ),
        ));
    }
    Ok(())
}

impl Inbox {
    /// The inbox in the database of `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Runs `work` and records `message_id` as processed by `consumer`, in one
    /// transaction; if the id was recorded before, does not run `work` and answers
    /// [`Processed::AlreadyProcessed`]. A crash before the commit keeps neither the work
    /// nor the record, so the message is processed again when redelivered; a crash after
    /// it (before the broker heard the acknowledgement) keeps both, and the redelivery
    /// is skipped. Two deliveries of one message at once: the second waits for the
    /// first's transaction and then skips, or runs if the first rolled back.
    ///
    /// With `tenant`, the transaction is bound to it (`acci.tenant_id`) so that the
    /// work's reads and writes of tenant-scoped tables see that tenant's rows.
    pub async fn process<T>(
        &self,
        consumer: &str,
        message_id: &str,
        tenant: Option<&TenantId>,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T, HandleError>,
    ) -> Result<Processed<T>, InboxError> {
        check_id("inbox consumer", consumer)?;
        check_id("message id", message_id)?;
        let doing = format!("inbox `{consumer}`: processing message {message_id}");
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| store_error(e, &doing))?;
        let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
        if let Some(tenant) = tenant {
            sqlx::query("SELECT set_config('acci.tenant_id', $1, true)")
                .bind(tenant.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| store_error(e, &doing))?;
        }
        // The record first: a second delivery running at once waits here on the key.
        let recorded = sqlx::query(
            "INSERT INTO inbox.processed (consumer, message_id) VALUES ($1, $2) \
             ON CONFLICT (consumer, message_id) DO NOTHING",
        )
        .bind(consumer)
        .bind(message_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error(e, &doing))?;
        if recorded.rows_affected() == 0 {
            return Ok(Processed::AlreadyProcessed);
        }
        let result = work(&mut tx).await.map_err(InboxError::Handler)?;
        tx.commit().await.map_err(|e| store_error(e, &doing))?;
        Ok(Processed::Done(result))
    }

    /// Whether `consumer` processed `message_id`.
    pub async fn is_processed(&self, consumer: &str, message_id: &str) -> Result<bool, InboxError> {
        check_id("inbox consumer", consumer)?;
        check_id("message id", message_id)?;
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT FROM inbox.processed WHERE consumer = $1 AND message_id = $2)",
        )
        .bind(consumer)
        .bind(message_id)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| store_error(e, "reading the inbox").into())
    }

    /// Forgets the messages `consumer` processed more than `older_than` ago and returns
    /// how many records went (the index on `(consumer, processed_at)` serves it). Keep
    /// `older_than` longer than the broker may deliver a message again (a queue's
    /// message TTL, a stream's maximum age, the longest a consumer may be down): a
    /// message delivered after its record was pruned is processed again.
    pub async fn prune(
        &self,
        consumer: &str,
        older_than: std::time::Duration,
    ) -> Result<u64, InboxError> {
        check_id("inbox consumer", consumer)?;
        if older_than.is_zero() {
            return Err(ValidationError::new(
                "inbox retention",
                "is zero; it must be longer than the broker may redeliver a message",
            )
            .into());
        }
        let pruned = sqlx::query(
            "DELETE FROM inbox.processed WHERE consumer = $1 \
             AND processed_at < clock_timestamp() - make_interval(secs => $2)",
        )
        .bind(consumer)
        .bind(older_than.as_secs_f64())
        .execute(&self.pool)
        .await
        .map_err(|e| store_error(e, &format!("inbox `{consumer}`: pruning")))?;
        Ok(pruned.rows_affected())
    }

    /// Decodes `message` into `H`'s event enum and hands it to `handler` through
    /// [`process`](Self::process), under the handler's name, bound to the event's tenant.
    pub async fn handle<H: EventHandler>(
        &self,
        handler: &H,
        message: &IncomingMessage,
    ) -> Result<Processed<()>, InboxError> {
        let event = message.decode::<H::Event>()?;
        let message_id = event.event_id.to_string();
        let tenant = event.stream.tenant.clone();
        self.process(H::NAME, &message_id, Some(&tenant), async |tx| {
            handler.handle(&event, tx).await
        })
        .await
    }

    /// Subscribes `subscriber` to `H`'s events and processes what it delivers until it
    /// has nothing more (`next` answers `None`); returns how many messages it processed
    /// (a redelivery skipped not counted). Each message is acknowledged after its
    /// transaction committed (or after it was found processed before). A message that
    /// cannot be read is refused without requeueing (the broker's dead-letter exchange
    /// or stream takes it, if one is set up) and the others go on; any other failure
    /// gives the message back to be delivered again and returns the error.
    pub async fn consume<H: EventHandler, S: Subscriber>(
        &self,
        handler: &H,
        subscriber: &mut S,
    ) -> Result<u64, InboxError> {
        subscriber.subscribe(None, H::EVENTS).await?;
        let mut processed = 0;
        while let Some(delivery) = subscriber.next().await? {
            match self.handle(handler, &delivery.message).await {
                Ok(outcome) => {
                    subscriber.ack(&delivery).await?;
                    if matches!(outcome, Processed::Done(())) {
                        processed += 1;
                    }
                }
                Err(InboxError::Unreadable(error)) => {
                    refuse(&delivery, &error);
                    subscriber.nack(&delivery, false).await?;
                }
                Err(error) => {
                    subscriber.nack(&delivery, true).await?;
                    return Err(error);
                }
            }
        }
        Ok(processed)
    }
}

fn refuse(delivery: &Delivery, error: &IncomingError) {
    tracing::warn!(subject = %delivery.message.subject, message_id = ?delivery.message.message_id,
        %error, "refusing a message that is not a readable event");
}
