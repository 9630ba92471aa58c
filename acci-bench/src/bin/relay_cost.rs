//! What the relay costs against a plain confirmed-publishing loop, per broker, and how long
//! an event takes from its commit to a consumer.
//!
//! ```text
//! cargo run --release -p acci-bench --bin relay-cost -- [--broker memory|rabbitmq|nats|all]
//!     [--events N] [--streams N] [--window N] [--latency-events N] [--rate PER_SECOND]
//! ```
//!
//! For each broker, on a database of its own (on the server of `DATABASE_URL`), the
//! program seeds `--events` events (20,000 unless told) over `--streams` streams (100),
//! then publishes the same messages twice, in an order that alternates from broker to
//! broker:
//!
//! - `raw`: the client library's own confirmed publishing, written by hand: the messages
//!   prepared in memory beforehand (no database read), up to `--window` (256)
//!   confirmations outstanding, all awaited;
//! - `acci`: a fresh relay (`catch_up`) over the log: reading it, building each message,
//!   the same window (with its default of one message in flight per stream, which keeps
//!   each stream's order through a republish, and once with the per-stream limit lifted
//!   to the window), saving its checkpoint.
//!
//! Then a relay runs live (`run`, woken by the store's notifications) while
//! `--latency-events` (1,000) one-event appends are committed at `--rate` (200) a second
//! to 16 streams; a subscriber through the same broker takes each one, and the time from
//! the append's return to the delivery is one latency sample (p50, p99).
//!
//! `memory` is the in-memory broker: there both loops do the same trait calls, so its
//! ratio is what the relay adds over any publisher.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_bench::relay::{self, KIND};
use acci_bench::report::{Bound, Check, Measurement, Report, System};
use acci_bench::setup::BenchDatabase;
use acci_bench::{Error, brokers};
use acci_core::publish::{
    DefaultSubject, InMemoryPublisher, InMemorySubscriber, OutgoingMessage, Publisher, Subscriber,
};
use acci_nats::{NatsOptions, NatsPublisher, NatsSubscriber};
use acci_postgres::relay::Relay;
use acci_postgres::{DEFAULT_DATABASE_URL, PgEventStore};
use acci_rabbitmq::{RabbitOptions, RabbitPublisher, RabbitSubscriber};

/// The relay's share of the plain loop's throughput it must reach.
const TARGET: f64 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Broker {
    Memory,
    RabbitMq,
    Nats,
}

impl Broker {
    fn name(self) -> &'static str {
        match self {
            Broker::Memory => "memory",
            Broker::RabbitMq => "rabbitmq",
            Broker::Nats => "nats",
        }
    }
}

struct Options {
    brokers: Vec<Broker>,
    events: usize,
    streams: usize,
    window: usize,
    latency_events: usize,
    rate: f64,
}

fn options() -> Result<Options, Error> {
    let mut options = Options {
        brokers: vec![Broker::Memory, Broker::RabbitMq, Broker::Nats],
        events: 20_000,
        streams: 100,
        window: 256,
        latency_events: 1_000,
        rate: 200.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--broker" => {
                options.brokers = match value()?.as_str() {
                    "memory" => vec![Broker::Memory],
                    "rabbitmq" => vec![Broker::RabbitMq],
                    "nats" => vec![Broker::Nats],
                    "all" => vec![Broker::Memory, Broker::RabbitMq, Broker::Nats],
                    other => {
                        return Err(format!(
                            "unknown broker `{other}`; one of memory, rabbitmq, nats, all"
                        )
                        .into());
                    }
                }
            }
            "--events" => options.events = value()?.parse()?,
            "--streams" => options.streams = value()?.parse()?,
            "--window" => options.window = value()?.parse()?,
            "--latency-events" => options.latency_events = value()?.parse()?,
            "--rate" => options.rate = value()?.parse()?,
            other => {
                return Err(format!(
                    "unknown argument `{other}`; options: --broker NAME, --events N, \
                     --streams N, --window N, --latency-events N, --rate PER_SECOND"
                )
                .into());
            }
        }
    }
    for (what, value) in [
        ("--events", options.events),
        ("--streams", options.streams),
        ("--window", options.window),
        ("--latency-events", options.latency_events),
    ] {
        if value == 0 {
            return Err(format!("{what} is 0; it must be at least 1").into());
        }
    }
    if !(options.rate.is_finite() && options.rate > 0.0) {
        return Err(format!("--rate is {}; it must be a positive number", options.rate).into());
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(report) if report.checks.iter().all(Check::met) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(2),
        Err(error) => {
            eprintln!("relay-cost: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<Report, Error> {
    let options = options()?;
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    let mut report = Report::default();
    for (turn, broker) in options.brokers.iter().enumerate() {
        let database = BenchDatabase::create(&url).await?;
        let outcome = measure(&database, *broker, &options, turn % 2 == 1, &mut report).await;
        database.drop().await?;
        outcome?;
    }
    println!("{}", report.table());
    Ok(report)
}

/// Both loops on one broker, the relay's latency after them.
async fn measure(
    database: &BenchDatabase,
    broker: Broker,
    options: &Options,
    relay_first: bool,
    report: &mut Report,
) -> Result<(), Error> {
    let pool = database.owner_pool(4).await?;
    relay::seed(&pool, options.events, options.streams).await?;
    let messages = relay::messages(&pool, &DefaultSubject::default()).await?;
    let n = messages.len() as u64;
    let scenario = format!("relay_{}", broker.name());
    let target = Target::new(broker, &scenario).await?;

    let mut raw = None;
    let mut acci = None;
    let mut unlimited = None;
    for step in 0..2 {
        if (step == 0) == relay_first {
            let per_stream = relay::options(options.window, 1);
            acci = Some(target.relay(&pool, "relay.bench", per_stream, n).await?);
            let lifted = relay::options(options.window, options.window);
            unlimited = Some(target.relay(&pool, "relay.unlimited", lifted, n).await?);
        } else {
            raw = Some(target.raw(&messages, options.window).await?);
        }
    }
    let (raw, acci, unlimited) = (
        raw.expect("measured"),
        acci.expect("measured"),
        unlimited.expect("measured"),
    );
    report.measured(Measurement::new(&scenario, System::Raw, n, raw));
    report.measured(Measurement::new(&scenario, System::Acci, n, acci));
    let mut lifted = Measurement::new(
        &format!("{scenario}_per_stream_{}", options.window),
        System::Acci,
        n,
        unlimited,
    );
    lifted
        .extra
        .insert("per_stream".into(), options.window.into());
    report.measured(lifted);
    let ratio = raw.as_secs_f64() / acci.as_secs_f64();
    // In memory the loop costs next to nothing: the ratio shows the relay's own cost,
    // not a target.
    let bound = match broker {
        Broker::Memory => Bound::Reported,
        _ => Bound::AtLeast(TARGET),
    };
    report.check(Check::new(&scenario, "acci/raw throughput", ratio, bound));
    let ratio = raw.as_secs_f64() / unlimited.as_secs_f64();
    report.check(Check::new(
        &scenario,
        "acci/raw, per-stream limit lifted",
        ratio,
        Bound::Reported,
    ));

    // The latency on a log of its own, so the live relay starts with nothing behind it.
    sqlx::query("TRUNCATE event_store.events")
        .execute(&pool)
        .await?;
    let latencies = target.latency(database, options).await?;
    let mut live = Measurement::new(
        &format!("{scenario}_latency"),
        System::Acci,
        latencies.len() as u64,
        Duration::ZERO,
    );
    let p50 = latencies.percentile(50.0);
    let p99 = latencies.percentile(99.0);
    live.latencies = latencies;
    report.measured(live);
    report.check(Check::new(
        &scenario,
        "commit to consumer p50 (ms)",
        p50.as_secs_f64() * 1e3,
        Bound::Reported,
    ));
    report.check(Check::new(
        &scenario,
        "commit to consumer p99 (ms)",
        p99.as_secs_f64() * 1e3,
        Bound::Reported,
    ));
    target.teardown().await
}

/// Where one broker's messages go, and its two publishers.
enum Target {
    Memory(InMemoryPublisher),
    /// The exchange (and its bound queue, of the same name).
    RabbitMq {
        url: String,
        exchange: String,
    },
    /// The stream, taking `acci.>`.
    Nats {
        url: String,
        stream: String,
    },
}

impl Target {
    async fn new(broker: Broker, _scenario: &str) -> Result<Self, Error> {
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
                let _ = brokers::rabbitmq::teardown(url, exchange).await;
                brokers::rabbitmq::setup(url, exchange).await?;
            }
            Target::Nats { url, stream } => {
                let _ = brokers::nats::teardown(url, stream).await;
                brokers::nats::setup(url, stream).await?;
            }
        }
        Ok(())
    }

    /// The hand-written loop: `messages` published with `window` confirmations
    /// outstanding at most.
    async fn raw(&self, messages: &[OutgoingMessage], window: usize) -> Result<Duration, Error> {
        self.fresh().await?;
        Ok(match self {
            Target::Memory(broker) => trait_loop(broker, messages, window).await?,
            Target::RabbitMq { url, exchange } => {
                brokers::rabbitmq::raw_confirmed_publish(url, exchange, messages, window).await?
            }
            Target::Nats { url, .. } => {
                brokers::nats::raw_confirmed_publish(url, messages, window).await?
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

    async fn relay(
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

    async fn latency(
        &self,
        database: &BenchDatabase,
        options: &Options,
    ) -> Result<acci_bench::report::Latencies, Error> {
        self.fresh().await?;
        let store = Arc::new(PgEventStore::from_pool(database.owner_pool(2).await?));
        let pool = database.owner_pool(2).await?;
        let relay_options = relay::options(options.window, 1);
        let (n, rate) = (options.latency_events, options.rate);
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
                let nats = Self::nats_options(url, stream, options.window);
                let mut subscriber = NatsSubscriber::connect(nats.clone(), "live", 256).await?;
                subscriber.subscribe(None, &[KIND]).await?;
                let publisher = NatsPublisher::connect(nats).await?;
                let relay =
                    Relay::new(pool, "relay.live", publisher)?.with_options(relay_options)?;
                relay::commit_to_consumer(store, relay, subscriber, n, rate).await
            }
        }
    }

    async fn teardown(&self) -> Result<(), Error> {
        match self {
            Target::Memory(_) => {}
            Target::RabbitMq { url, exchange } => {
                brokers::rabbitmq::teardown(url, exchange).await?
            }
            Target::Nats { url, stream } => brokers::nats::teardown(url, stream).await?,
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
