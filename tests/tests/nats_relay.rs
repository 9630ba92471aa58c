//! The relay and the inbox through NATS JetStream (`NATS_URL`, default the local
//! server): thousands of events arrive complete and in order per stream; a relay killed
//! mid window, a cut or stalled connection and a consumer that dies before acknowledging
//! lose nothing and process nothing twice; a relay taking over starts after the stream's
//! last message, past the deduplication window; unroutable and too large messages are
//! parked. Each test creates its own stream, on subjects of its own, and deletes it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use acci_core::publish::{DefaultSubject, IncomingMessage, OutgoingMessage, Publisher, Subscriber};
use acci_core::{EventId, EventStore, LogPosition, Metadata, StoredEvent, TenantId};
use acci_nats::{NatsOptions, NatsPublisher, NatsSubscriber, delete_stream};
use acci_postgres::relay::Relay;
use acci_postgres::subscribe::{EventHandler, Inbox, Processed};
use acci_tests::events::{CountedEvent, stream};
use acci_tests::pg::{APP_LOGIN, READER_LOGIN, TestDatabase};
use acci_tests::proxy::Proxy;
use acci_tests::relay::{
    Seen, assert_delivered, database, drain, fill, options, reached_head, rows, total,
};

const RELAY: &str = "relay.nats";

fn url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A stream of this test's own, on subjects under a prefix of its own (streams may not
/// share subjects), deleted by [`Broker::delete`].
struct Broker {
    options: NatsOptions,
    prefix: String,
}

impl Broker {
    fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let prefix = format!("t{id}");
        let mut options = NatsOptions::new(url(), format!("acci_test_{id}"));
        options.subjects = vec![format!("{prefix}.>")];
        options.ack_timeout = Duration::from_secs(1);
        options.ack_wait = Duration::from_secs(2);
        Broker { options, prefix }
    }

    /// The subjects the relay publishes under and the subscriber subscribes by.
    fn subject(&self) -> DefaultSubject {
        DefaultSubject::new(&self.prefix)
    }

    /// A subscriber of the durable `durable`, subscribed to every `Counted` event; `next`
    /// ends once idle for `idle`.
    async fn subscriber_idle(&self, durable: &str, idle: Duration) -> NatsSubscriber {
        let mut subscriber = NatsSubscriber::connect(self.options.clone(), durable, 256)
            .await
            .unwrap()
            .with_subject(self.subject())
            .with_idle_timeout(idle);
        subscriber.subscribe(None, Seen::EVENTS).await.unwrap();
        subscriber
    }

    async fn subscriber(&self) -> NatsSubscriber {
        self.subscriber_idle("consumer", Duration::from_secs(1))
            .await
    }

    async fn publisher(&self) -> NatsPublisher {
        NatsPublisher::connect(self.options.clone()).await.unwrap()
    }

    /// A publisher connected through `proxy` instead of to the server.
    async fn publisher_through(&self, proxy: &Proxy) -> NatsPublisher {
        let options = NatsOptions {
            url: format!("nats://{}", proxy.addr()),
            connect_timeout: Duration::from_secs(2),
            ..self.options.clone()
        };
        NatsPublisher::connect(options).await.unwrap()
    }

    /// How many messages the stream holds.
    async fn messages(&self) -> u64 {
        let client = async_nats::connect(url()).await.unwrap();
        let context = async_nats::jetstream::new(client);
        let mut stream = context.get_stream(&self.options.stream).await.unwrap();
        stream.info().await.unwrap().state.messages
    }

    async fn delete(self) {
        delete_stream(&self.options).await.unwrap();
    }
}

/// The server's own address, for the proxy.
fn server_addr() -> SocketAddr {
    let host = NatsOptions::new(url(), "x").host();
    let host = if host.contains(':') {
        host
    } else {
        format!("{host}:4222")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&host)
        .unwrap()
        .next()
        .unwrap()
}

async fn relay(
    db: &TestDatabase,
    name: &'static str,
    broker: &Broker,
    publisher: NatsPublisher,
) -> Relay<NatsPublisher> {
    Relay::new(db.pool_as(Some(READER_LOGIN), 4).await, name, publisher)
        .unwrap()
        .with_options(options())
        .unwrap()
        .with_subject(broker.subject())
}

/// Everything the consumer delivers until it is idle, each acknowledged.
async fn collect(subscriber: &mut NatsSubscriber) -> Vec<IncomingMessage> {
    let mut messages = Vec::new();
    while let Some(delivery) = subscriber.next().await.unwrap() {
        subscriber.ack(&delivery).await.unwrap();
        messages.push(delivery.message);
    }
    messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_reads_back_as_the_event_it_was_made_from() {
    let broker = Broker::new();
    let publisher = broker.publisher().await;
    let mut subscriber = broker.subscriber().await;
    let mut metadata = Metadata::new();
    metadata.correlation_id = Some(uuid::Uuid::new_v4());
    metadata.causation_id = Some(uuid::Uuid::new_v4());
    metadata.user_id = Some("ada lovelace/ü".into());
    metadata.entries.insert(
        "origin".into(),
        serde_json::json!({ "via": "test", "n": 3 }),
    );
    let recorded_at = chrono::DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap();
    let event = StoredEvent {
        event_id: EventId::new(),
        stream: stream("tenant-0", "account.7"),
        sequence: 4,
        position: LogPosition {
            commit: 77,
            position: 1234,
        },
        event_type: "Counted".into(),
        schema_version: 1,
        metadata,
        recorded_at,
        data: serde_json::json!({ "n": 42 }),
    };
    let message = OutgoingMessage::from_event(&event, &broker.subject()).unwrap();
    publisher
        .publish(message.clone())
        .await
        .unwrap()
        .await
        .unwrap();
    // The same id again within the window: JetStream drops it, the publish succeeds.
    publisher
        .publish(message.clone())
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(broker.messages().await, 1);

    let delivery = subscriber.next().await.unwrap().expect("the message");
    subscriber.ack(&delivery).await.unwrap();
    assert!(!delivery.redelivered);
    let incoming = &delivery.message;
    assert_eq!(incoming.subject, message.subject);
    assert_eq!(incoming.message_id.as_deref(), Some(&*message.message_id));
    for (name, value) in &message.headers {
        assert_eq!(incoming.header(name), Some(value.as_str()), "header {name}");
    }
    assert_eq!(incoming.decode_stored().unwrap(), event);
    assert_eq!(
        incoming.decode::<CountedEvent>().unwrap(),
        event.clone().decode::<CountedEvent>().unwrap()
    );
    assert!(subscriber.next().await.unwrap().is_none(), "one delivery");
    assert_eq!(
        publisher.last_published(RELAY).await.unwrap(),
        Some(event.position)
    );
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_events_arrive_complete_and_in_order_per_stream() {
    let db = database().await;
    let broker = Broker::new();
    let expected = fill(&db.store().await, 2, 10, 150).await;
    assert_eq!(total(&expected), 3000);
    let relay = relay(&db, RELAY, &broker, broker.publisher().await).await;

    drain(&relay, &db).await;
    assert!(relay.dead_letters().await.unwrap().is_empty());
    assert_eq!(broker.messages().await, 3000);
    let mut subscriber = broker.subscriber().await;
    let messages = collect(&mut subscriber).await;
    assert_eq!(
        assert_delivered(&messages, &expected),
        0,
        "no failure, no repeat"
    );
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_window_loses_nothing_and_the_inbox_absorbs_the_repeats() {
    let db = database().await;
    let broker = Broker::new();
    let expected = fill(&db.store().await, 2, 10, 40).await;
    let first = relay(&db, RELAY, &broker, broker.publisher().await).await;
    let task = tokio::spawn({
        let first = first.clone();
        async move { first.run(std::future::pending()).await }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.checkpoint().await.unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the first relay confirmed nothing"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    task.abort();
    let _ = task.await;

    let second = relay(&db, RELAY, &broker, broker.publisher().await).await;
    drain(&second, &db).await;
    let mut subscriber = broker.subscriber().await;
    let inbox = Inbox::new(db.pool_as(Some(APP_LOGIN), 2).await);
    let processed = inbox.consume(&Seen, &mut subscriber).await.unwrap();
    assert_eq!(processed, total(&expected), "each event processed once");
    assert_eq!(rows(&db).await, total(&expected));
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_taking_over_starts_after_the_streams_last_message_past_the_dedup_window() {
    let db = database().await;
    let mut broker = Broker::new();
    broker.options.duplicate_window = Duration::from_secs(1);
    let expected = fill(&db.store().await, 1, 4, 10).await;
    let first = relay(&db, RELAY, &broker, broker.publisher().await).await;
    assert_eq!(drain(&first, &db).await, 40);
    // The first relay dies before its checkpoint was saved: the store says nothing was
    // published, and the window that would drop repeats has passed.
    sqlx::query("DELETE FROM projections.checkpoints WHERE name = $1")
        .bind(RELAY)
        .execute(&db.pool_as(None, 1).await)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let second = relay(&db, RELAY, &broker, broker.publisher().await).await;
    assert_eq!(drain(&second, &db).await, 0, "nothing published again");
    assert_eq!(broker.messages().await, 40);
    // Past the window, a repeat would have been stored: the window did not stop it.
    let publisher = broker.publisher().await;
    let events = db
        .store()
        .await
        .load(expected.keys().next().unwrap(), 1)
        .await
        .unwrap();
    let again = OutgoingMessage::from_event(&events[0], &broker.subject()).unwrap();
    publisher.publish(again).await.unwrap().await.unwrap();
    assert_eq!(broker.messages().await, 41);
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_or_stalled_connection_loses_nothing_and_keeps_each_stream_in_order() {
    let db = database().await;
    let broker = Broker::new();
    let expected = fill(&db.store().await, 2, 10, 50).await;
    let proxy = Proxy::start(server_addr()).await;
    let relay = relay(&db, RELAY, &broker, broker.publisher_through(&proxy).await).await;
    let task = tokio::spawn({
        let relay = relay.clone();
        async move { relay.run(std::future::pending()).await }
    });

    // Cut twice as the checkpoint moves, then stall until acknowledgements time out and
    // cut the stalled connection.
    let mut last = None;
    for _ in 0..2 {
        let deadline = Instant::now() + Duration::from_secs(30);
        while relay.checkpoint().await.unwrap() == last {
            assert!(
                Instant::now() < deadline,
                "the relay did not move after a cut"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        last = relay.checkpoint().await.unwrap();
        proxy.drop_connections();
    }
    proxy.stall(true);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.drop_connections();
    proxy.stall(false);

    reached_head(&relay, &db).await;
    task.abort();
    let _ = task.await;
    assert!(relay.dead_letters().await.unwrap().is_empty());
    let mut subscriber = broker.subscriber().await;
    let messages = collect(&mut subscriber).await;
    assert_delivered(&messages, &expected);
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_dies_before_acknowledging_processes_each_event_once() {
    let db = database().await;
    let broker = Broker::new();
    let expected = fill(&db.store().await, 2, 2, 5).await;
    let relay = relay(&db, RELAY, &broker, broker.publisher().await).await;
    drain(&relay, &db).await;
    let inbox = Inbox::new(db.pool_as(Some(APP_LOGIN), 2).await);

    // The first consumer commits five events, then dies with none acknowledged.
    let mut subscriber = broker.subscriber().await;
    for _ in 0..5 {
        let delivery = subscriber.next().await.unwrap().expect("a delivery");
        assert_eq!(
            inbox.handle(&Seen, &delivery.message).await.unwrap(),
            Processed::Done(())
        );
    }
    drop(subscriber);
    assert_eq!(rows(&db).await, 5);

    // The same durable again: what was not acknowledged comes back after `ack_wait`.
    let mut again = broker
        .subscriber_idle("consumer", Duration::from_secs(4))
        .await;
    let processed = inbox.consume(&Seen, &mut again).await.unwrap();
    assert_eq!(processed, total(&expected) - 5, "the five are skipped");
    assert_eq!(rows(&db).await, total(&expected), "each event once");
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unroutable_and_too_large_messages_are_parked_and_the_rest_go_on() {
    let db = database().await;
    let broker = Broker::new();
    let expected = fill(&db.store().await, 2, 3, 4).await;
    // Subjects no stream takes: every message is unroutable.
    let elsewhere = relay(&db, "relay.elsewhere", &broker, broker.publisher().await)
        .await
        .with_subject(DefaultSubject::new(format!("{}x", broker.prefix)));
    drain(&elsewhere, &db).await;
    let letters = elsewhere.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 24, "every event parked");
    assert!(
        letters[0].error.contains("no queue or stream"),
        "{}",
        letters[0].error
    );

    // One tenant's events too large for the limit: parked, the other tenant's published.
    let mut small = broker.options.clone();
    small.max_message_bytes = 64;
    let tenant = TenantId::new("tenant-0").unwrap();
    let limited = relay(
        &db,
        "relay.small",
        &broker,
        NatsPublisher::connect(small).await.unwrap(),
    )
    .await;
    drain(&limited, &db).await;
    assert!(
        limited.dead_letters().await.unwrap()[0]
            .error
            .contains("limit of 64")
    );
    assert_eq!(limited.dead_letters().await.unwrap().len(), 24);
    let routed = relay(&db, RELAY, &broker, broker.publisher().await)
        .await
        .for_tenant(tenant.clone());
    drain(&routed, &db).await;
    let mut expected = expected;
    expected.retain(|id, _| id.tenant == tenant);
    let mut subscriber = broker.subscriber().await;
    assert_delivered(&collect(&mut subscriber).await, &expected);
    broker.delete().await;
}
