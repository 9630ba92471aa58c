//! [`EventHandler`]: a consumer's code for typed events, run in process on the log (as a
//! projection, no broker) or behind a broker through the [`Inbox`](super::Inbox).

use std::marker::PhantomData;

use acci_core::{EventEnum, EventKind, ProjectionError, Recorded, StoredEvent};
use async_trait::async_trait;
use sqlx::{PgConnection, PgPool};

use crate::projection::{CustomProjection, CustomProjectionRunner, HandleError, Runner};

/// Handles the events of one aggregate's event enum, writing in the transaction it is
/// given. The same type serves both ways of receiving events:
///
/// - in process, with [`in_process`]: a projection runner on the log, no broker; what
///   `handle` writes commits with the runner's checkpoint, so each event counts once;
/// - through a broker, with [`Inbox::handle`](super::Inbox::handle) or
///   [`Inbox::consume`](super::Inbox::consume): what `handle` writes commits with the
///   message id in the inbox, so a message delivered again is processed once.
///
/// The errors are a custom projection's: a database error the data caused and the
/// handler's own errors are the event's; any other database error is a storage failure.
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// The event enum it reads.
    type Event: EventEnum;
    /// Its name: the checkpoint's in process, the inbox's consumer through a broker.
    const NAME: &'static str;
    /// The events it subscribes to, by aggregate type and event type.
    const EVENTS: &'static [EventKind];

    /// Handles one event inside the transaction `tx`.
    async fn handle(
        &self,
        event: &Recorded<Self::Event>,
        tx: &mut PgConnection,
    ) -> Result<(), HandleError>;
}

/// An [`EventHandler`] run in process as a [`CustomProjection`]: each event decoded into
/// the handler's enum (upcast as a store read does) and handed to it.
#[derive(Debug)]
pub struct InProcess<H> {
    handler: H,
    _event: PhantomData<fn() -> H>,
}

impl<H> InProcess<H> {
    /// The handler, as a projection.
    pub fn new(handler: H) -> Self {
        Self {
            handler,
            _event: PhantomData,
        }
    }

    /// The handler inside.
    pub fn handler(&self) -> &H {
        &self.handler
    }
}

/// A projection runner on the log that feeds `handler` every event it subscribes to:
/// `run` and `catch_up` as for any runner, the checkpoint under the handler's name.
pub fn in_process<H: EventHandler>(
    pool: PgPool,
    handler: H,
) -> CustomProjectionRunner<InProcess<H>> {
    Runner::<crate::projection::Custom<InProcess<H>>>::new(pool, InProcess::new(handler))
}

#[async_trait]
impl<H: EventHandler> CustomProjection for InProcess<H> {
    const NAME: &'static str = H::NAME;
    const VERSION: u32 = 1;
    const EVENTS: &'static [EventKind] = H::EVENTS;
    const TABLES: &'static [&'static str] = &[];

    async fn setup(&self, _tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn handle(&self, event: &StoredEvent, tx: &mut PgConnection) -> Result<(), HandleError> {
        let recorded = event
            .clone()
            .decode::<H::Event>()
            .map_err(ProjectionError::from)?;
        self.handler.handle(&recorded, tx).await
    }
}
