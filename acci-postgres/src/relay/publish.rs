//! [`Relay`]: the log as the outbox. It tails the global log from its checkpoint and
//! publishes each event through a [`Publisher`], moving the checkpoint only over what
//! the broker confirmed.

use std::future::Future;
use std::sync::Arc;

use acci_core::publish::{DefaultSubject, Publisher, SubjectRule};
use acci_core::{
    EventKind, LogPosition, StoreError, TenantId, TenantScope, ValidationError, validate_type_name,
};
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};

use super::error::RelayError;
use super::options::RelayOptions;
use crate::error::store_error;
use crate::observability::{ProjectionLag, SampleLag, sample_projection_lag};
use crate::projection::{
    Advance, Checkpoint, Counts, DeadLetter, EVENTS_CHANNEL, Lock, detached_connection,
    list_dead_letters, retry_wait, unlock, wait_for_lock,
};

/// The version a relay's checkpoint is kept at: a relay has no read model to rebuild.
const RELAY_VERSION: u32 = 1;

/// Publishes the events of the global log to a broker, in log order, at least once.
///
/// The relay reads the events after its checkpoint (every tenant's, or one tenant's;
/// every event, or the kinds it is told), turns each into an [`OutgoingMessage`](acci_core::publish::OutgoingMessage) (the
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
    pub(super) pool: PgPool,
    pub(super) name: &'static str,
    pub(super) publisher: Arc<P>,
    pub(super) options: RelayOptions,
    pub(super) scope: TenantScope,
    pub(super) events: Option<Vec<EventKind>>,
    pub(super) subject: Arc<dyn SubjectRule>,
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

/// A relay is watched by the health check as a projection is: its checkpoint, its lease,
/// its lag over the events it selects.
impl<P> From<&Relay<P>> for crate::health::ProjectionTarget {
    fn from(relay: &Relay<P>) -> Self {
        match &relay.events {
            Some(events) => Self::selecting_owned(relay.name, events.clone()),
            None => Self::named(relay.name),
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
