//! Where `relay-cost` publishes: each broker's target (an exchange and its queue, a
//! stream, the in-memory broker), its hand-written baseline loop and the relay through
//! its adapter, each run on a fresh target.

use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::publish::{
    DefaultSubject, InMemoryPublisher, InMemorySubscriber, OutgoingMessage, Publisher, Subscriber,
};
use acci_nats::{NatsOptions, NatsPublisher, NatsSubscriber};
use acci_postgres::PgEventStore;
use acci_postgres::relay::Relay;
use acci_rabbitmq::{RabbitOptions, RabbitPublisher, RabbitSubscriber};

use crate::Error;
use crate::relay::{self, KIND};
use crate::report::Latencies;
use crate::setup::BenchDatabase;

/// A broker `relay-cost` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broker {
    /// The in-memory broker: the relay's own cost.
    Memory,
    /// RabbitMQ, through acci-rabbitmq and lapin.
    RabbitMq,
    /// NATS JetStream, through acci-nats and async-nats.
    Nats,
}

impl Broker {
    /// Its name on the command line and in the scenario names.
    pub fn name(self) -> &'static str {
        match self {
            Broker::Memory => "memory",
            Broker::RabbitMq => "rabbitmq",
            Broker::Nats => "nats",
        }
    }
}

/// Where one broker's messages go, and its two publishers.
pub enum Target {
    /// The in-memory broker.
    Memory(InMemoryPublisher),
    /// The exchange (and its bound queue, of the same name).
    RabbitMq {
        /// The broker's URL.
        url: String,
        /// The exchange, and the name of its queue.
        exchange: String,
    },
    /// The stream, taking `acci.>`.
    Nats {
        /// The server's URL.
        url: String,
        /// The stream's name.
        stream: String,
    },
}

impl Target {
    /// The broker's target, fresh: a new exchange and queue, or stream, of its own.
    pub async fn new(broker: Broker) -> Result<Self, Error> {
        let id = uuid::Uuid::new_v4().simple();
        let target = match broker {
            Broker::Memory => Target::Memory(InMemoryPublisher::new()),
            Broker::RabbitMq => Target::RabbitMq {
                url: std::env::var("RABBITMQ_URL")
                    .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into()),
                exchange: format!("acci.bench.{id}"),
            },
            Broker::Nats => Target::Nats {
                url: std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into()),
                stream: format!("acci_bench_{id}"),
            },
        };
        target.fresh().await?;
        Ok(target)
    }

    /// An empty exchange and queue, or stream, before each run: the queue does not
    /// grow from run to run, and JetStream does not drop a run's messages as repeats of
    /// the last one's ids.
    async fn fresh(&self) -> Result<(), Error> {
        match self {
            Target::Memory(_) => {}
            Target::RabbitMq { url, exchange } => {
                let _ = super::rabbitmq::teardown(url, exchange).await;
                super::rabbitmq::setup(url, exchange).await?;
            }
            Target::Nats { url, stream } => {
                let _ = super::nats::teardown(url, stream).await;
                super::nats::setup(url, stream).await?;
            }
        }
        Ok(())
    }

    /// The hand-written loop: `messages` published with `window` confirmations
    /// outstanding at most.
    pub async fn raw(
        &self,
        messages: &[OutgoingMessage],
        window: usize,
    ) -> Result<Duration, Error> {
        self.fresh().await?;
        Ok(match self {
            Target::Memory(broker) => trait_loop(broker, messages, window).await?,
            Target::RabbitMq { url, exchange } => {
                super::rabbitmq::raw_confirmed_publish(url, exchange, messages, window).await?
            }
            Target::Nats { url, .. } => {
                super::nats::raw_confirmed_publish(url, messages, window).await?
            }
        })
    }

    fn rabbit_options(url: &str, exchange: &str) -> RabbitOptions {
        RabbitOptions::new(url, exchange)
    }

    fn nats_options(url: &str, stream: &str, window: usize) -> NatsOptions {
        let mut options = NatsOptions::new(url, stream);
        options.create_stream = false;
        options.max_pending = window;
        options
    }

    /// A fresh relay named `name` over the whole log of `pool`, to this target: the time
    /// until its `n` messages were confirmed.
    pub async fn relay(
        &self,
        pool: &sqlx::PgPool,
        name: &'static str,
        options: acci_postgres::relay::RelayOptions,
        n: u64,
    ) -> Result<Duration, Error> {
        self.fresh().await?;
        match self {
            Target::Memory(broker) => {
                relay::relay_throughput(pool, name, broker.clone(), options, n).await
            }
            Target::RabbitMq { url, exchange } => {
                let publisher =
                    RabbitPublisher::connect(Self::rabbit_options(url, exchange)).await?;
                relay::relay_throughput(pool, name, publisher, options, n).await
            }
            Target::Nats { url, stream } => {
                let publisher =
                    NatsPublisher::connect(Self::nats_options(url, stream, options.window)).await?;
                relay::relay_throughput(pool, name, publisher, options, n).await
            }
        }
    }

    /// A relay running live on `database` while `n` one-event appends commit at `rate`
    /// a second, with `window` messages in flight: each event's time from its commit to
    /// this target's subscriber.
    pub async fn latency(
        &self,
        database: &BenchDatabase,
        window: usize,
        n: usize,
        rate: f64,
    ) -> Result<Latencies, Error> {
        self.fresh().await?;
        let store = Arc::new(PgEventStore::from_pool(database.owner_pool(2).await?));
        let pool = database.owner_pool(2).await?;
        let relay_options = relay::options(window, 1);
        match self {
            Target::Memory(_) => {
                let broker = InMemoryPublisher::new();
                let relay =
                    Relay::new(pool, "relay.live", broker.clone())?.with_options(relay_options)?;
                let mut subscriber =
                    PollingSubscriber(InMemorySubscriber::new(&broker, DefaultSubject::default()));
                subscriber.subscribe(None, &[KIND]).await?;
                relay::commit_to_consumer(store, relay, subscriber, n, rate).await
            }
            Target::RabbitMq { url, exchange } => {
                let rabbit = Self::rabbit_options(url, exchange);
                let mut subscriber =
                    RabbitSubscriber::connect(rabbit.clone(), &format!("{exchange}.live"), 256)
                        .await?;
                subscriber.subscribe(None, &[KIND]).await?;
                let publisher = RabbitPublisher::connect(rabbit).await?;
                let relay =
                    Relay::new(pool, "relay.live", publisher)?.with_options(relay_options)?;
                let latencies = relay::commit_to_consumer(store, relay, subscriber, n, rate).await;
                let _ = acci_rabbitmq::delete_queue(
                    &Self::rabbit_options(url, exchange),
                    &format!("{exchange}.live"),
                )
                .await;
                latencies
            }
            Target::Nats { url, stream } => {
                let nats = Self::nats_options(url, stream, window);
                let mut subscriber = NatsSubscriber::connect(nats.clone(), "live", 256).await?;
                subscriber.subscribe(None, &[KIND]).await?;
                let publisher = NatsPublisher::connect(nats).await?;
                let relay =
                    Relay::new(pool, "relay.live", publisher)?.with_options(relay_options)?;
                relay::commit_to_consumer(store, relay, subscriber, n, rate).await
            }
        }
    }

    /// Deletes what [`new`](Self::new) set up.
    pub async fn teardown(&self) -> Result<(), Error> {
        match self {
            Target::Memory(_) => {}
            Target::RabbitMq { url, exchange } => super::rabbitmq::teardown(url, exchange).await?,
            Target::Nats { url, stream } => super::nats::teardown(url, stream).await?,
        }
        Ok(())
    }
}

/// Publishes `messages` through any [`Publisher`], `window` confirmations outstanding.
async fn trait_loop<P: Publisher>(
    publisher: &P,
    messages: &[OutgoingMessage],
    window: usize,
) -> Result<Duration, Error> {
    let started = Instant::now();
    let mut pending = std::collections::VecDeque::with_capacity(window);
    for message in messages {
        if pending.len() == window {
            let confirmation: acci_core::publish::Confirmation =
                pending.pop_front().expect("a confirmation");
            confirmation.await?;
        }
        pending.push_back(publisher.publish(message.clone()).await?);
    }
    for confirmation in pending {
        confirmation.await?;
    }
    Ok(started.elapsed())
}

/// The in-memory subscriber answers `None` when nothing is there yet; this one waits.
struct PollingSubscriber(InMemorySubscriber);

#[async_trait::async_trait]
impl Subscriber for PollingSubscriber {
    async fn subscribe(
        &mut self,
        tenant: Option<&acci_core::TenantId>,
        kinds: &[acci_core::EventKind],
    ) -> Result<(), acci_core::publish::SubscribeError> {
        self.0.subscribe(tenant, kinds).await
    }
    async fn unsubscribe(
        &mut self,
        tenant: Option<&acci_core::TenantId>,
        kinds: &[acci_core::EventKind],
    ) -> Result<(), acci_core::publish::SubscribeError> {
        self.0.unsubscribe(tenant, kinds).await
    }
    async fn next(
        &mut self,
    ) -> Result<Option<acci_core::publish::Delivery>, acci_core::publish::SubscribeError> {
        loop {
            if let Some(delivery) = self.0.next().await? {
                return Ok(Some(delivery));
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    async fn ack(
        &mut self,
        delivery: &acci_core::publish::Delivery,
    ) -> Result<(), acci_core::publish::SubscribeError> {
        self.0.ack(delivery).await
    }
    async fn nack(
        &mut self,
        delivery: &acci_core::publish::Delivery,
        requeue: bool,
    ) -> Result<(), acci_core::publish::SubscribeError> {
        self.0.nack(delivery, requeue).await
    }
}
