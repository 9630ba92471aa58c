//! The relay and the inbox through RabbitMQ (`RABBITMQ_URL`, default the local broker):
//! thousands of events arrive complete and in order per stream; a relay killed mid
//! window, a cut or stalled connection and a consumer that dies before acknowledging
//! lose nothing and process nothing twice; unroutable and too large messages are parked.
//! Each test declares its own exchange and queue and deletes them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use acci_core::publish::{DefaultSubject, IncomingMessage, OutgoingMessage, Publisher, Subscriber};
use acci_core::{EventId, LogPosition, Metadata, StoredEvent, TenantId};
use acci_postgres::relay::Relay;
use acci_postgres::subscribe::{EventHandler, Inbox, Processed};
use acci_rabbitmq::{
    RabbitOptions, RabbitPublisher, RabbitSubscriber, delete_exchange, delete_queue,
};
use acci_tests::events::{CountedEvent, stream};
use acci_tests::pg::{APP_LOGIN, READER_LOGIN, TestDatabase};
use acci_tests::proxy::Proxy;
use acci_tests::relay::{
    Seen, assert_delivered, database, drain, fill, options, reached_head, rows, total,
};

const RELAY: &str = "relay.rabbitmq";

fn url() -> String {
    std::env::var("RABBITMQ_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// An exchange and a queue of this test's own, deleted by [`Broker::delete`].
struct Broker {
    options: RabbitOptions,
    queue: String,
}

impl Broker {
    fn new() -> Self {
        let id = uuid::Uuid::new_v4();
        Broker {
            options: RabbitOptions::new(url(), format!("acci.test.{id}")),
            queue: format!("acci.test.{id}"),
        }
    }

    /// A subscriber on the test's queue, bound to every `Counted` event already, so
    /// that what the relay publishes is routed; `next` ends once idle for a second.
    async fn subscriber(&self) -> RabbitSubscriber {
        let mut subscriber = RabbitSubscriber::connect(self.options.clone(), &self.queue, 256)
            .await
            .unwrap()
            .with_idle_timeout(Duration::from_secs(1));
        subscriber.subscribe(None, Seen::EVENTS).await.unwrap();
        subscriber
    }

    async fn publisher(&self) -> RabbitPublisher {
        RabbitPublisher::connect(self.options.clone())
            .await
            .unwrap()
    }

    /// A publisher connected through `proxy` instead of to the broker.
    async fn publisher_through(&self, proxy: &Proxy) -> RabbitPublisher {
        let options = RabbitOptions {
            url: format!("amqp://guest:guest@{}/%2f", proxy.addr()),
            connect_timeout: Duration::from_secs(2),
            ..self.options.clone()
        };
        RabbitPublisher::connect(options).await.unwrap()
    }

    async fn delete(self) {
        delete_queue(&self.options, &self.queue).await.unwrap();
        delete_exchange(&self.options).await.unwrap();
    }
}

/// The broker's own address, for the proxy.
fn broker_addr() -> SocketAddr {
    let host = RabbitOptions::new(url(), "x").host();
    let host = if host.contains(':') {
        host
    } else {
        format!("{host}:5672")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&host)
        .unwrap()
        .next()
        .unwrap()
}

async fn relay(
    db: &TestDatabase,
    name: &'static str,
    publisher: RabbitPublisher,
) -> Relay<RabbitPublisher> {
    Relay::new(db.pool_as(Some(READER_LOGIN), 4).await, name, publisher)
        .unwrap()
        .with_options(options())
        .unwrap()
}

/// Everything in the queue until it is idle, each acknowledged.
async fn collect(subscriber: &mut RabbitSubscriber) -> Vec<IncomingMessage> {
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
    let mut subscriber = broker.subscriber().await;
    let publisher = broker.publisher().await;
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
    let message = OutgoingMessage::from_event(&event, &DefaultSubject::default()).unwrap();
    publisher
        .publish(message.clone())
        .await
        .unwrap()
        .await
        .unwrap();

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
        event.decode::<CountedEvent>().unwrap()
    );
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_events_arrive_complete_and_in_order_per_stream() {
    let db = database().await;
    let broker = Broker::new();
    let mut subscriber = broker.subscriber().await;
    let expected = fill(&db.store().await, 2, 10, 150).await;
    assert_eq!(total(&expected), 3000);
    let relay = relay(&db, RELAY, broker.publisher().await).await;

    drain(&relay, &db).await;
    assert!(relay.dead_letters().await.unwrap().is_empty());
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
    let mut subscriber = broker.subscriber().await;
    let expected = fill(&db.store().await, 2, 10, 40).await;
    let first = relay(&db, RELAY, broker.publisher().await).await;
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

    let second = relay(&db, RELAY, broker.publisher().await).await;
    drain(&second, &db).await;
    let inbox = Inbox::new(db.pool_as(Some(APP_LOGIN), 2).await);
    let processed = inbox.consume(&Seen, &mut subscriber).await.unwrap();
    assert_eq!(processed, total(&expected), "each event processed once");
    assert_eq!(rows(&db).await, total(&expected));
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_or_stalled_connection_loses_nothing_and_keeps_each_stream_in_order() {
    let db = database().await;
    let broker = Broker::new();
    let mut subscriber = broker.subscriber().await;
    let expected = fill(&db.store().await, 2, 10, 50).await;
    let proxy = Proxy::start(broker_addr()).await;
    let relay = relay(&db, RELAY, broker.publisher_through(&proxy).await).await;
    let task = tokio::spawn({
        let relay = relay.clone();
        async move { relay.run(std::future::pending()).await }
    });

    // Cut twice as the checkpoint moves, then stall until confirmations time out and
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
    let messages = collect(&mut subscriber).await;
    assert_delivered(&messages, &expected);
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_dies_before_acknowledging_processes_each_event_once() {
    let db = database().await;
    let broker = Broker::new();
    let mut subscriber = broker.subscriber().await;
    let expected = fill(&db.store().await, 2, 2, 5).await;
    let relay = relay(&db, RELAY, broker.publisher().await).await;
    drain(&relay, &db).await;
    let inbox = Inbox::new(db.pool_as(Some(APP_LOGIN), 2).await);

    // The first consumer commits five events, then dies with none acknowledged.
    for _ in 0..5 {
        let delivery = subscriber.next().await.unwrap().expect("a delivery");
        assert_eq!(
            inbox.handle(&Seen, &delivery.message).await.unwrap(),
            Processed::Done(())
        );
    }
    subscriber.close().await.unwrap();
    assert_eq!(rows(&db).await, 5);

    let mut again = broker.subscriber().await;
    let processed = inbox.consume(&Seen, &mut again).await.unwrap();
    assert_eq!(processed, total(&expected) - 5, "the five are skipped");
    assert_eq!(rows(&db).await, total(&expected), "each event once");
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unroutable_and_too_large_messages_are_parked_and_the_rest_go_on() {
    let db = database().await;
    let broker = Broker::new();
    // Only tenant-0's events have a queue: tenant-1's come back unroutable.
    let mut subscriber = RabbitSubscriber::connect(broker.options.clone(), &broker.queue, 64)
        .await
        .unwrap()
        .with_idle_timeout(Duration::from_secs(1));
    let tenant = TenantId::new("tenant-0").unwrap();
    subscriber
        .subscribe(Some(&tenant), Seen::EVENTS)
        .await
        .unwrap();
    let mut expected = fill(&db.store().await, 2, 3, 4).await;
    let routed = relay(&db, RELAY, broker.publisher().await).await;

    drain(&routed, &db).await;
    let letters = routed.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 12, "tenant-1's events");
    assert!(
        letters[0].error.contains("no queue"),
        "{}",
        letters[0].error
    );
    expected.retain(|id, _| id.tenant == tenant);
    assert_delivered(&collect(&mut subscriber).await, &expected);

    // A limit below every message's size: each is refused before it is sent.
    let small = RabbitOptions {
        max_message_bytes: 64,
        ..broker.options.clone()
    };
    let small = relay(
        &db,
        "relay.small",
        RabbitPublisher::connect(small).await.unwrap(),
    )
    .await;
    drain(&small, &db).await;
    let letters = small.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 24, "every event parked");
    assert!(
        letters[0].error.contains("limit of 64"),
        "{}",
        letters[0].error
    );
    assert!(collect(&mut subscriber).await.is_empty());
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsubscribed_kind_is_no_longer_routed_to_the_queue() {
    let broker = Broker::new();
    let mut subscriber = broker.subscriber().await;
    subscriber.unsubscribe(None, Seen::EVENTS).await.unwrap();
    let publisher = broker.publisher().await;
    let event = StoredEvent {
        event_id: EventId::new(),
        stream: stream("tenant-0", "account.1"),
        sequence: 1,
        position: LogPosition {
            commit: 1,
            position: 1,
        },
        event_type: "Counted".into(),
        schema_version: 1,
        metadata: Metadata::new(),
        recorded_at: chrono::Utc::now(),
        data: serde_json::json!({ "n": 1 }),
    };
    let message = OutgoingMessage::from_event(&event, &DefaultSubject::default()).unwrap();
    let subject = message.subject.clone();
    let confirmed = publisher.publish(message).await.unwrap().await;
    assert_eq!(
        confirmed,
        Err(acci_core::publish::PublishError::Unroutable(subject))
    );
    assert!(subscriber.next().await.unwrap().is_none());
    broker.delete().await;
}
