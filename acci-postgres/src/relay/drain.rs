//! One turn of a relay: from a position until every event available is confirmed or
//! parked, with the window, the republishing after a failure, and the checkpoint saves.

use std::collections::VecDeque;

use acci_core::observability::names::{
    RELAY, RELAY_CONFIRMED_TOTAL, RELAY_IN_FLIGHT, RELAY_PARKED_TOTAL, RELAY_PUBLISHED_TOTAL,
    RELAY_RETRIES_TOTAL, SPAN_RELAY_PUBLISH,
};
use acci_core::publish::{Confirmation, OutgoingMessage, PublishError, Publisher};
use acci_core::{EventId, LogPosition, ReadAll, StoreError, StoredEvent};
use sqlx::{Connection, PgConnection};
use tracing::Instrument;

use super::error::RelayError;
use super::publish::Relay;
use super::window::Window;
use crate::error::store_error;
use crate::projection::{
    Advance, Checkpoint, Counts, EventFailure, park, park_unreadable, retry_wait,
};

/// Where a turn of publishing stands in the log.
struct Progress {
    /// Where the stored checkpoint is.
    saved: LogPosition,
    /// Everything up to here is confirmed, parked or not selected.
    settled: LogPosition,
    /// What settled since the checkpoint was saved.
    counts: Counts,
    last_event_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// An event the store cannot hand out, met where the next read was to start.
struct Unreadable {
    event_id: EventId,
    position: LogPosition,
    reason: String,
}

impl<P: Publisher> Relay<P> {
    /// Publishes from `from` until every event available is confirmed or parked;
    /// returns how many were confirmed.
    pub(super) async fn drain(
        &self,
        conn: &mut PgConnection,
        from: LogPosition,
    ) -> Result<u64, RelayError> {
        let span = tracing::info_span!(parent: None, SPAN_RELAY_PUBLISH, relay = self.name, after = %from,
            confirmed = tracing::field::Empty, retries = tracing::field::Empty);
        self.drain_from(conn, from).instrument(span).await
    }

    async fn drain_from(
        &self,
        conn: &mut PgConnection,
        from: LogPosition,
    ) -> Result<u64, RelayError> {
        let options = &self.options;
        let mut progress = Progress {
            saved: from,
            settled: from,
            counts: Counts::default(),
            last_event_at: None,
        };
        let mut read_after = from;
        let mut exhausted = false;
        let mut unreadable: Option<Unreadable> = None;
        let mut pending: VecDeque<StoredEvent> = VecDeque::new();
        let mut window = Window::new(options.confirm_timeout);
        let (mut confirmed, mut retries, mut failures) = (0u64, 0u64, 0u32);
        let in_flight = metrics::gauge!(RELAY_IN_FLIGHT, RELAY => self.name);
        loop {
            // Fill the window, in log order; an event whose stream has its share in
            // flight waits, and with it every later one.
            while window.len() < options.window {
                if pending.is_empty() && !exhausted && unreadable.is_none() {
                    match self.read(conn, read_after).await {
                        Ok((events, next, complete)) => {
                            exhausted = complete;
                            read_after = next;
                            pending.extend(events);
                        }
                        Err(StoreError::Unreadable {
                            event_id,
                            position,
                            reason,
                        }) => {
                            unreadable = Some(Unreadable {
                                event_id,
                                position,
                                reason,
                            });
                        }
                        Err(error) => return Err(error.into()),
                    }
                }
                let Some(next) = pending.front() else { break };
                if window.of_stream(&next.stream) >= options.per_stream {
                    break;
                }
                let event = pending.pop_front().expect("an event is pending");
                let confirmation = self.send(&event).await;
                window.push(event, confirmation);
            }
            in_flight.set(window.len() as f64);

            let settled = match window.try_settle() {
                Some(settled) => Some(settled),
                None if window.is_empty() => None,
                None => {
                    // Waiting for the broker anyway: save what is confirmed meanwhile.
                    self.save(conn, &mut progress).await?;
                    window.settle().await
                }
            };
            let Some((event, answer)) = settled else {
                // Nothing in flight, nothing pending: all read is settled.
                if let Some(stuck) = unreadable.take() {
                    self.park_unreadable(conn, &mut progress, stuck).await?;
                    read_after = progress.settled;
                    continue;
                }
                progress.settled = progress.settled.max(read_after);
                self.save(conn, &mut progress).await?;
                if exhausted {
                    in_flight.set(0.0);
                    tracing::Span::current().record("confirmed", confirmed);
                    tracing::Span::current().record("retries", retries);
                    return Ok(confirmed);
                }
                continue;
            };
            match answer {
                Ok(()) => {
                    metrics::counter!(RELAY_CONFIRMED_TOTAL, RELAY => self.name).increment(1);
                    progress.settled = event.position;
                    progress.counts.applied += 1;
                    progress.last_event_at = Some(event.recorded_at);
                    confirmed += 1;
                    failures = 0;
                }
                Err(error) if !error.is_retryable() => {
                    metrics::counter!(RELAY_PARKED_TOTAL, RELAY => self.name).increment(1);
                    park(
                        self.name,
                        conn,
                        &event,
                        &EventFailure::Unpublishable(error),
                        1,
                    )
                    .await?;
                    progress.settled = event.position;
                    progress.counts.parked += 1;
                }
                Err(error) => {
                    // Everything from this message on goes out again, in log order.
                    self.save(conn, &mut progress).await?;
                    let mut again: VecDeque<StoredEvent> = window.abandon().into();
                    again.push_front(event);
                    again.append(&mut pending);
                    pending = again;
                    in_flight.set(0.0);
                    failures = failures.saturating_add(1);
                    retries += 1;
                    metrics::counter!(RELAY_RETRIES_TOTAL, RELAY => self.name).increment(1);
                    let wait = retry_wait(options.retry_backoff, failures);
                    tracing::warn!(relay = self.name, %error, from = %progress.settled, ?wait,
                        "publishing failed; publishing again from the first unconfirmed event");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Publishes the message of `event`. Every outcome becomes its confirmation, so
    /// that it is handled in log order: a send that failed, or a message the subject
    /// rule refused, is a confirmation that fails at once.
    async fn send(&self, event: &StoredEvent) -> Confirmation {
        metrics::counter!(RELAY_PUBLISHED_TOTAL, RELAY => self.name).increment(1);
        let failed =
            |error: PublishError| -> Confirmation { Box::pin(std::future::ready(Err(error))) };
        match OutgoingMessage::from_event(event, &*self.subject) {
            Ok(message) => match self.publisher.publish(message).await {
                Ok(confirmation) => confirmation,
                Err(error) => failed(error),
            },
            Err(reason) => failed(PublishError::Refused(reason)),
        }
    }

    /// The next events after `after`: them, where to read on, and whether the log had
    /// no more.
    async fn read(
        &self,
        conn: &mut PgConnection,
        after: LogPosition,
    ) -> Result<(Vec<StoredEvent>, LogPosition, bool), StoreError> {
        let doing = format!("relay `{}`: reading the log", self.name);
        let mut request = ReadAll::new(self.scope.clone())
            .after(after)
            .limit(self.options.batch_size);
        request.events.clone_from(&self.events);
        let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
        let (batch, stopped) = crate::store::read_log_to_unreadable(&mut tx, &request).await?;
        tx.commit().await.map_err(|e| store_error(e, &doing))?;
        let complete = batch.events.len() < self.options.batch_size && !stopped;
        Ok((batch.events, batch.next.max(after), complete))
    }

    /// Moves the stored checkpoint to what is settled, if that is further.
    async fn save(
        &self,
        conn: &mut PgConnection,
        progress: &mut Progress,
    ) -> Result<(), RelayError> {
        if progress.settled <= progress.saved {
            return Ok(());
        }
        let advance = Advance {
            from: progress.saved,
            to: progress.settled,
            counts: progress.counts,
            last_event_at: progress.last_event_at,
        };
        Checkpoint::live(self.name).advance(conn, advance).await?;
        progress.saved = progress.settled;
        progress.counts = Counts::default();
        progress.last_event_at = None;
        Ok(())
    }

    /// Parks an event the store cannot hand out and moves the checkpoint past it, in one
    /// transaction; everything before it is settled.
    async fn park_unreadable(
        &self,
        conn: &mut PgConnection,
        progress: &mut Progress,
        stuck: Unreadable,
    ) -> Result<(), RelayError> {
        self.save(conn, progress).await?;
        let doing = format!("relay `{}`: parking an unreadable event", self.name);
        let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
        let failure = EventFailure::Unreadable {
            reason: stuck.reason,
        };
        park_unreadable(self.name, &mut tx, stuck.event_id, &failure, 1).await?;
        let advance = Advance {
            from: progress.saved,
            to: stuck.position,
            counts: Counts {
                parked: 1,
                ..Counts::default()
            },
            last_event_at: None,
        };
        Checkpoint::live(self.name)
            .advance(&mut tx, advance)
            .await?;
        tx.commit().await.map_err(|e| store_error(e, &doing))?;
        metrics::counter!(RELAY_PARKED_TOTAL, RELAY => self.name).increment(1);
        progress.saved = stuck.position;
        progress.settled = stuck.position;
        Ok(())
    }
}
