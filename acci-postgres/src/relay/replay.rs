//! Replaying a relay's dead letters: the events the broker refused, published again once
//! the cause is fixed (a queue bound for an unroutable subject, a larger message limit).

use acci_core::publish::{OutgoingMessage, PublishError, Publisher};
use sqlx::{Connection, Executor};

use super::error::RelayError;
use super::publish::Relay;
use crate::error::store_error;
use crate::projection::{Replayed, failed_again, parked_event, unpark};

impl<P: Publisher> Relay<P> {
    /// Publishes the parked events again, oldest first, each waiting for its
    /// confirmation under the confirm timeout. A confirmed event leaves the dead letters
    /// and counts as applied; one the broker refuses again (or the store cannot read)
    /// stays, with its new error and one more attempt. A retryable broker failure (lost
    /// connection, timeout, negative acknowledgement) stops the replay with
    /// [`RelayError::Replay`]: what was replayed before stays so.
    ///
    /// The checkpoint does not move: a replayed event reaches consumers after the events
    /// that followed it in its stream, which is why it was parked rather than held.
    pub async fn replay_dead_letters(&self) -> Result<Replayed, RelayError> {
        let doing = format!("relay `{}`: replaying dead letters", self.name);
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| store_error(e, &doing))?;
        let mut replayed = Replayed::default();
        for letter in self.dead_letters().await? {
            let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
            tx.execute("SELECT set_config('acci.all_tenants', 'on', true)")
                .await
                .map_err(|e| store_error(e, &doing))?;
            let outcome = match parked_event(&mut tx, &letter).await? {
                Ok(event) => self.publish_one(&event).await,
                Err(reason) => Err(PublishError::Refused(format!(
                    "the store cannot read the event: {reason}"
                ))),
            };
            match outcome {
                Ok(()) => {
                    unpark(&mut tx, self.name, letter.event_id).await?;
                    tx.commit().await.map_err(|e| store_error(e, &doing))?;
                    replayed.applied += 1;
                }
                Err(error) if error.is_retryable() => {
                    return Err(RelayError::Replay {
                        relay: self.name,
                        error,
                    });
                }
                Err(error) => {
                    drop(tx);
                    failed_again(&mut conn, self.name, letter.event_id, &error.to_string()).await?;
                    replayed.still_failing += 1;
                }
            }
        }
        Ok(replayed)
    }

    /// Publishes `event` and waits for its confirmation, at most the confirm timeout.
    async fn publish_one(&self, event: &acci_core::StoredEvent) -> Result<(), PublishError> {
        let message =
            OutgoingMessage::from_event(event, &*self.subject).map_err(PublishError::Refused)?;
        let confirmation = self.publisher.publish(message).await?;
        let timeout = self.options.confirm_timeout;
        tokio::time::timeout(timeout, confirmation)
            .await
            .map_err(|_| PublishError::Timeout(timeout))?
    }
}
