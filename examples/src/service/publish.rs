//! The bank's events to RabbitMQ: with `--publish-to`, a relay in this process tails the
//! log and publishes each event to a topic exchange, for other services (the
//! `bank-ledger` example) to consume. One relay of the name is active across instances
//! of the service; the others stand by.

use acci_core::publish::DefaultSubject;
use acci_postgres::relay::Relay;
use acci_rabbitmq::{RabbitOptions, RabbitPublisher};
use tokio::sync::watch;

use super::background::spawn_restarting;

/// The relay's name: its checkpoint and lease in `projections.checkpoints`.
pub const RELAY_NAME: &str = "relay.bank";

/// The subject prefix of the bank's messages: `bank.<tenant>.BankAccount.<event>`.
pub const SUBJECT_PREFIX: &str = "bank";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Starts the relay on `pool` (a role in `acci_all_tenants`), publishing to `exchange`
/// at `url`, until `stopped`. It connects to RabbitMQ lazily: a broker that is away at
/// start-up delays publication, never the service.
pub(crate) fn spawn_relay(
    pool: sqlx::PgPool,
    url: &str,
    exchange: &str,
    stopped: watch::Receiver<bool>,
) -> Result<(), Error> {
    let publisher = RabbitPublisher::lazy(RabbitOptions::new(url, exchange))?;
    let relay =
        Relay::new(pool, RELAY_NAME, publisher)?.with_subject(DefaultSubject::new(SUBJECT_PREFIX));
    spawn_restarting("relay", RELAY_NAME, stopped, move |shutdown| {
        let relay = relay.clone();
        async move { relay.run(shutdown).await }
    });
    Ok(())
}
