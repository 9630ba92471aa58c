//! [`Relay`]: the log as the outbox. It tails the global log from its checkpoint and
//! publishes each event through a [`Publisher`], moving the checkpoint only over what
//! the broker confirmed.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;

use acci_core::observability::names::{
    RELAY, RELAY_CONFIRMED_TOTAL, RELAY_IN_FLIGHT, RELAY_PARKED_TOTAL, RELAY_PUBLISHED_TOTAL,
    RELAY_RETRIES_TOTAL, SPAN_RELAY_PUBLISH,
};
use acci_core::publish::{
    Confirmation, DefaultSubject, OutgoingMessage, PublishError, Publisher, SubjectRule,
};
use acci_core::{
    EventId, EventKind, LogPosition, ReadAll, StoreError, StoredEvent, TenantId, TenantScope,
    ValidationError, validate_type_name,
};
use sqlx::postgres::PgListener;
use sqlx::{Connection, PgConnection, PgPool};
use tracing::Instrument;

use super::error::RelayError;
use super::options::RelayOptions;
use super::window::Window;
use crate::error::store_error;
use crate::observability::{ProjectionLag, SampleLag, sample_projection_lag};
use crate::projection::{
    Advance, Checkpoint, Counts, DeadLetter, EVENTS_CHANNEL, EventFailure, Lock,
    detached_connection, list_dead_letters, park, park_unreadable, retry_wait, unlock,
    wait_for_lock,
};

/// The version a relay's checkpoint is kept at: a relay has no read model to rebuild.
const RELAY_VERSION: u32 = 1;

/// Publishes the events of the global log to a broker, in log order, at least once.
///
/// The relay reads the events after its checkpoint (every tenant's, or one tenant's;
/// every event, or the kinds it is told), turns each into an [`OutgoingMessage`] (the
/// event id as message id, a subject from its [`SubjectRule`]) and publishes it, with
/// at most [`window`](RelayOptions::window) messages unconfirmed. Its checkpoint (a row
/// in `projections.checkpoints` under its name, as a projection's) moves only over
/// confirmed messages, in log order, never past an unconfirmed one. A lost connection, a
/// negative acknowledgement or a confirmation that does not come within
/// [`confirm_timeout`](RelayOptions::confirm_timeout) sends it back to the first
/// unconfirmed message, which it publishes again, with the rest of the window, after a
/// growing wait: a consumer may see a message twice (it deduplicates by message id),
/// never a gap, and each stream in order. A message the broker refuses for good
/// (unroutable, too large) is parked in the relay's dead letters, and the relay goes on.
///
/// One relay of a name is active across processes, holding the same advisory lock a
/// projection runner of that name would: relay and projection names share one
/// namespace, so name relays apart (`"relay.orders"`). On start and on each takeover the
/// relay asks the publisher what it published last
/// ([`last_published`](Publisher::last_published)) and starts after the later of that
/// and its checkpoint.
///
/// Connect it as a role in `acci_all_tenants`, or, [`for_tenant`](Self::for_tenant), a
/// role that may read that tenant.
pub struct Relay<P> {
    pool: PgPool,
    name: &'static str,
    publisher: Arc<P>,
    options: RelayOptions,
    scope: TenantScope,
    events: Option<Vec<EventKind>>,
    subject: Arc<dyn SubjectRule>,
}

impl<P> Clone for Relay<P> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            name: self.name,
            publisher: Arc::clone(&self.publisher),
            options: self.options,
            scope: self.scope.clone(),
            events: self.events.clone(),
            subject: Arc::clone(&self.subject),
        }
    }
}

impl<P> std::fmt::Debug for Relay<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("name", &self.name)
            .field("options", &self.options)
            .field("scope", &self.scope)
            .field("events", &self.events)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

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
    /// A relay named `name` publishing every tenant's events through `publisher`, with
    /// [`DefaultSubject`] and the default options. Refuses a name that is not a valid
    /// type name (empty, too long, with control characters), before any I/O.
    pub fn new(pool: PgPool, name: &'static str, publisher: P) -> Result<Self, ValidationError> {
        validate_type_name("relay name", name)?;
        Ok(Self {
            pool,
            name,
            publisher: Arc::new(publisher),
            options: RelayOptions::default(),
            scope: TenantScope::AllTenants,
            events: None,
            subject: Arc::new(DefaultSubject::default()),
        })
    }

    /// Uses `options`; refuses options out of range ([`RelayOptions::validate`]).
    pub fn with_options(mut self, options: RelayOptions) -> Result<Self, ValidationError> {
        options.validate()?;
        self.options = options;
        Ok(self)
    }

    /// Publishes only `tenant`'s events.
    pub fn for_tenant(mut self, tenant: TenantId) -> Self {
        self.scope = TenantScope::Tenant(tenant);
        self
    }

    /// Publishes only events of these kinds; refuses an empty list (which would publish
    /// nothing), before any I/O.
    pub fn with_events(
        mut self,
        kinds: impl IntoIterator<Item = EventKind>,
    ) -> Result<Self, ValidationError> {
        let kinds: Vec<_> = kinds.into_iter().collect();
        if kinds.is_empty() {
            return Err(ValidationError::new(
                "relay events",
                "is an empty list; leave it out to publish every event",
            ));
        }
        self.events = Some(kinds);
        Ok(self)
    }

    /// Builds subjects with `rule` instead of [`DefaultSubject`].
    pub fn with_subject(mut self, rule: impl SubjectRule) -> Self {
        self.subject = Arc::new(rule);
        self
    }

    /// The relay's name: the key of its checkpoint, its lock and its dead letters.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The publisher it publishes through.
    pub fn publisher(&self) -> &P {
        &self.publisher
    }

    /// The stored checkpoint: every event up to it is confirmed or parked. `None` before
    /// the relay first ran.
    pub async fn checkpoint(&self) -> Result<Option<LogPosition>, RelayError> {
        let row = Checkpoint::live(self.name).read(&self.pool).await?;
        Ok(row.map(|row| row.position))
    }

    /// How far the relay trails the log's head: the committed events it selects after
    /// its checkpoint (of every tenant, even for a relay of one: an upper bound there),
    /// and the age of the oldest; recorded in the projection lag gauges under the
    /// relay's name.
    pub async fn sample_lag(&self) -> Result<ProjectionLag, RelayError> {
        let position = Checkpoint::live(self.name)
            .read_prepared(&self.pool)
            .await?
            .position;
        Ok(sample_projection_lag(&self.pool, self.name, position, self.events.as_deref()).await?)
    }

    /// The events the broker refused, which the relay parked, oldest first.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, RelayError> {
        Ok(list_dead_letters(&self.pool, self.name).await?)
    }

    /// Publishes every event available now and returns how many the broker confirmed.
    /// Broker failures are retried as in [`run`](Self::run), so it returns once every
    /// event is confirmed or parked; a database failure returns at once. Does not take
    /// the lock: a relay running elsewhere makes the checkpoint refuse this one's moves
    /// ([`RunnerError::CheckpointMoved`](crate::RunnerError::CheckpointMoved)).
    pub async fn catch_up(&self) -> Result<u64, RelayError> {
        let mut conn = detached_connection(&self.pool).await?;
        let from = self.start(&mut conn).await?;
        self.drain(&mut conn, from).await
    }

    /// Runs until `shutdown` completes: waits to become the active relay of its name,
    /// starts after the later of its checkpoint and what the broker says it has, and
    /// publishes as events commit (notifications, with polling as the fallback). A
    /// database failure or a broker that cannot answer `last_published` sends it back
    /// to waiting for the lock after a growing wait; broker failures while publishing
    /// are retried in place. Dropping the future stops it at once: what was not
    /// confirmed is published again by the next relay.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), RelayError> {
        tokio::pin!(shutdown);
        let mut streak = 0u32;
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                result = self.run_while_active(&mut streak) => {
                    if let Err(error) = result {
                        streak = streak.saturating_add(1);
                        let wait = retry_wait(self.options.standby_interval, streak);
                        tracing::warn!(relay = self.name, %error, failed_turns = streak, ?wait,
                            "relay failed; retrying");
                        Checkpoint::live(self.name).note_error(&self.pool, &error.to_string()).await;
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
    }

    /// One turn of [`run`](Self::run): wait for the lock, then publish until something
    /// fails. `streak` counts the turns failed in a row; a drain that succeeds clears it.
    async fn run_while_active(&self, streak: &mut u32) -> Result<(), RelayError> {
        let mut conn = detached_connection(&self.pool).await?;
        wait_for_lock(
            &mut conn,
            Lock::Active,
            self.name,
            self.options.standby_interval,
        )
        .await?;
        tracing::info!(relay = self.name, "active relay");
        let result = self.work(&mut conn, streak).await;
        unlock(&mut conn, Lock::Active, self.name).await;
        result
    }

    async fn work(&self, conn: &mut PgConnection, streak: &mut u32) -> Result<(), RelayError> {
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(|e| store_error(e, "listening"))?;
        listener
            .listen(EVENTS_CHANNEL)
            .await
            .map_err(|e| store_error(e, "listening"))?;
        let mut from = self.start(conn).await?;
        loop {
            self.drain(conn, from).await?;
            if *streak > 0 {
                // Caught up after failed turns: the status says so at once.
                Checkpoint::live(self.name).clear_error(&mut *conn).await?;
                *streak = 0;
            }
            from = Checkpoint::live(self.name)
                .read_prepared(&mut *conn)
                .await?
                .position;
            tokio::select! {
                received = listener.try_recv() => {
                    received.map_err(|e| store_error(e, "waiting for notifications"))?;
                }
                () = tokio::time::sleep(self.options.poll_interval) => {}
            }
        }
    }

    /// Creates the checkpoint if missing and returns where to start: after the later of
    /// the checkpoint and what the publisher says it published last, which the
    /// checkpoint is moved to.
    async fn start(&self, conn: &mut PgConnection) -> Result<LogPosition, RelayError> {
        let checkpoint = Checkpoint::live(self.name);
        checkpoint.ensure(conn, RELAY_VERSION).await?;
        let stored = checkpoint.read_prepared(&mut *conn).await?.position;
        let last = self
            .publisher
            .last_published(self.name)
            .await
            .map_err(|error| RelayError::LastPublished {
                relay: self.name,
                error,
            })?;
        match last {
            Some(last) if last > stored => {
                tracing::info!(relay = self.name, checkpoint = %stored, last_published = %last,
                    "the broker has published past the checkpoint; starting after it");
                let advance = Advance {
                    from: stored,
                    to: last,
                    counts: Counts::default(),
                    last_event_at: None,
                };
                checkpoint.advance(conn, advance).await?;
                Ok(last)
            }
            _ => Ok(stored),
        }
    }

    /// Publishes from `from` until every event available is confirmed or parked;
    /// returns how many were confirmed.
    async fn drain(&self, conn: &mut PgConnection, from: LogPosition) -> Result<u64, RelayError> {
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

impl<P: Publisher> SampleLag for Relay<P> {
    fn projection(&self) -> &'static str {
        self.name
    }

    fn sample(
        &self,
    ) -> std::pin::Pin<
        Box<dyn Future<Output = Result<ProjectionLag, crate::RunnerError>> + Send + '_>,
    > {
        Box::pin(async move {
            self.sample_lag().await.map_err(|error| match error {
                RelayError::Runner(error) => error,
                other => crate::RunnerError::Store(StoreError::Backend {
                    message: other.to_string(),
                    retryable: other.is_retryable(),
                    source: Some(Box::new(other)),
                }),
            })
        })
    }
}
