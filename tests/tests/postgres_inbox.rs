//! Subscribers on PostgreSQL: the inbox processes a redelivered message once whether the
//! consumer crashed after its commit or before it; the same handler runs in process on
//! the log; a consumer behind a broker that repeats messages writes each event once.

use std::time::Duration;

use acci_core::publish::{
    DefaultSubject, InMemoryPublisher, InMemorySubscriber, IncomingMessage, PublishError,
};
use acci_core::{EventKind, EventStore, ExpectedVersion, ProjectionError, Recorded};
use acci_postgres::projection::HandleError;
use acci_postgres::relay::{Relay, RelayOptions};
use acci_postgres::subscribe::{EventHandler, Inbox, InboxError, Processed, in_process};
use acci_tests::events::{CountedEvent, counted, stream};
use acci_tests::pg::{APP_LOGIN, READER_LOGIN, TestDatabase};
use sqlx::PgConnection;

/// Writes one row per event it handles; a second row for one event breaks the primary key.
struct Seen;

#[async_trait::async_trait]
impl EventHandler for Seen {
    type Event = CountedEvent;
    const NAME: &'static str = "seen";
    const EVENTS: &'static [EventKind] = &[EventKind::new("Account", "Counted")];

    async fn handle(
        &self,
        event: &Recorded<CountedEvent>,
        tx: &mut PgConnection,
    ) -> Result<(), HandleError> {
        let CountedEvent::Counted(counted) = &event.data;
        sqlx::query("INSERT INTO public.seen (stream, sequence, n) VALUES ($1, $2, $3)")
            .bind(event.stream.to_string())
            .bind(event.sequence as i64)
            .bind(counted.n as i64)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

/// A database with `public.seen` that both test logins may write.
async fn database() -> TestDatabase {
    let db = TestDatabase::create().await;
    let admin = db.pool_as(None, 1).await;
    for statement in [
        "CREATE TABLE public.seen (stream text, sequence bigint, n bigint, PRIMARY KEY (stream, sequence))",
        "GRANT SELECT, INSERT ON public.seen TO acci_app, acci_all_tenants",
    ] {
        sqlx::query(statement).execute(&admin).await.unwrap();
    }
    db
}

async fn rows(db: &TestDatabase) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM public.seen")
        .fetch_one(&db.pool_as(None, 1).await)
        .await
        .unwrap()
}

/// Appends `n` events over three streams of two tenants and publishes them through a
/// relay to `broker`; returns the messages the broker kept.
async fn published(db: &TestDatabase, broker: &InMemoryPublisher, n: u64) -> Vec<IncomingMessage> {
    let store = db.store().await;
    for i in 0..n {
        let id = stream(&format!("tenant-{}", i % 2), &format!("account-{}", i % 3));
        store
            .append(&id, ExpectedVersion::Any, vec![counted(i)], None)
            .await
            .unwrap();
    }
    let relay = Relay::new(
        db.pool_as(Some(READER_LOGIN), 2).await,
        "relay.inbox",
        broker.clone(),
    )
    .unwrap()
    .with_options(RelayOptions {
        window: 8,
        retry_backoff: Duration::from_millis(5),
        ..RelayOptions::default()
    })
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut confirmed = 0;
    while confirmed < n {
        confirmed += relay.catch_up().await.unwrap();
        assert!(
            std::time::Instant::now() < deadline,
            "the relay confirmed {confirmed} of {n}"
        );
    }
    broker.kept().iter().map(|m| m.to_incoming()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_crashed_after_its_commit_skips_the_redelivery() {
    let db = database().await;
    let messages = published(&db, &InMemoryPublisher::new(), 1).await;
    let inbox = Inbox::new(db.pool_as(Some(APP_LOGIN), 2).await);

    assert_eq!(
        inbox.handle(&Seen, &messages[0]).await.unwrap(),
        Processed::Done(())
    );
    // The acknowledgement was lost: the broker delivers the message again.
    assert_eq!(
        inbox.handle(&Seen, &messages[0]).await.unwrap(),
        Processed::AlreadyProcessed
    );
    assert_eq!(rows(&db).await, 1);
    let id = messages[0].message_id.as_deref().unwrap();
    assert!(inbox.is_processed(Seen::NAME, id).await.unwrap());
    assert!(!inbox.is_processed("another consumer", id).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_crashed_before_its_commit_processes_the_redelivery_once() {
    let db = database().await;
    let messages = published(&db, &InMemoryPublisher::new(), 1).await;
    let message = &messages[0];
    let event = message.decode::<CountedEvent>().unwrap();
    let id = message.message_id.clone().unwrap();
    let inbox = Inbox::new(db.pool_as(Some(APP_LOGIN), 2).await);

    let crashed = inbox
        .process(Seen::NAME, &id, Some(&event.stream.tenant), async |tx| {
            Seen.handle(&event, tx).await?;
            Err::<(), _>(HandleError::Projection(ProjectionError::Storage(
                "the process died".into(),
            )))
        })
        .await
        .unwrap_err();
    assert!(matches!(crashed, InboxError::Handler(_)), "{crashed}");
    assert_eq!(rows(&db).await, 0, "nothing of the crashed attempt is kept");
    assert!(!inbox.is_processed(Seen::NAME, &id).await.unwrap());

    assert_eq!(
        inbox.handle(&Seen, message).await.unwrap(),
        Processed::Done(())
    );
    assert_eq!(
        inbox.handle(&Seen, message).await.unwrap(),
        Processed::AlreadyProcessed
    );
    assert_eq!(rows(&db).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_behind_a_broker_that_repeats_writes_each_event_once() {
    let db = database().await;
    let broker = InMemoryPublisher::new();
    broker.nack_at(20, PublishError::Nacked("full".into()));
    broker.stall_at(90);
    let messages = published(&db, &broker, 150).await;
    assert!(messages.len() > 150, "the broker kept repeats");
    let inbox = Inbox::new(db.pool_as(Some(APP_LOGIN), 2).await);

    let mut subscriber = InMemorySubscriber::new(&broker, DefaultSubject::default());
    assert_eq!(inbox.consume(&Seen, &mut subscriber).await.unwrap(), 150);
    assert_eq!(rows(&db).await, 150);
    // The whole stream again, as after a consumer restart with no acknowledgements.
    let mut again = InMemorySubscriber::new(&broker, DefaultSubject::default());
    assert_eq!(inbox.consume(&Seen, &mut again).await.unwrap(), 0);
    assert_eq!(rows(&db).await, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_handler_runs_in_process_on_the_log() {
    let db = database().await;
    published(&db, &InMemoryPublisher::new(), 30).await;
    let runner = in_process(db.pool_as(Some(READER_LOGIN), 2).await, Seen);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut applied = 0;
    while applied < 30 {
        applied += runner.catch_up().await.unwrap();
        assert!(
            std::time::Instant::now() < deadline,
            "applied {applied} of 30"
        );
    }
    assert_eq!(rows(&db).await, 30);
    let n: i64 = sqlx::query_scalar("SELECT sum(n)::bigint FROM public.seen")
        .fetch_one(&db.pool_as(None, 1).await)
        .await
        .unwrap();
    assert_eq!(n, (0..30).sum::<i64>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_forgets_only_old_records_of_its_consumer() {
    let db = database().await;
    let messages = published(&db, &InMemoryPublisher::new(), 3).await;
    let inbox = Inbox::new(db.pool_as(Some(APP_LOGIN), 2).await);
    for message in &messages {
        inbox.handle(&Seen, message).await.unwrap();
    }
    inbox
        .process("another consumer", "m-1", None, async |_| Ok(()))
        .await
        .unwrap();
    // Two of Seen's records are a day old.
    sqlx::query(
        "UPDATE inbox.processed SET processed_at = processed_at - interval '1 day' \
         WHERE consumer = $1 AND message_id <> $2",
    )
    .bind(Seen::NAME)
    .bind(messages[2].message_id.as_deref().unwrap())
    .execute(&db.pool_as(None, 1).await)
    .await
    .unwrap();

    let hour = Duration::from_secs(3600);
    assert_eq!(inbox.prune(Seen::NAME, hour).await.unwrap(), 2);
    assert_eq!(inbox.prune(Seen::NAME, hour).await.unwrap(), 0);
    let kept = messages[2].message_id.as_deref().unwrap();
    assert!(inbox.is_processed(Seen::NAME, kept).await.unwrap());
    assert!(inbox.is_processed("another consumer", "m-1").await.unwrap());
    let error = inbox.prune(Seen::NAME, Duration::ZERO).await.unwrap_err();
    assert!(error.to_string().contains("inbox retention"), "{error}");
}

#[tokio::test]
async fn bad_consumer_names_and_message_ids_are_refused_before_any_io() {
    let pool = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:9/none").unwrap();
    let inbox = Inbox::new(pool);
    let long = "x".repeat(257);
    for (consumer, id, what) in [
        ("", "m", "inbox consumer"),
        ("c", "", "message id"),
        ("c", long.as_str(), "message id"),
    ] {
        let error = inbox
            .process(consumer, id, None, async |_| Ok(()))
            .await
            .unwrap_err();
        assert!(matches!(&error, InboxError::Invalid(_)), "{error}");
        assert!(error.to_string().contains(what), "{error}");
    }
}

/// Every public async fn of the relay and the inbox returns a `Send` future, so that a
/// service can spawn them.
#[allow(dead_code, clippy::let_underscore_future)]
fn the_futures_are_send(
    relay: acci_postgres::relay::Relay<InMemoryPublisher>,
    inbox: Inbox,
    message: IncomingMessage,
    mut subscriber: InMemorySubscriber,
) {
    fn send<T>(_: std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + '_>>) {}
    send(Box::pin(relay.run(async {})));
    send(Box::pin(relay.catch_up()));
    send(Box::pin(relay.checkpoint()));
    send(Box::pin(relay.dead_letters()));
    send(Box::pin(relay.sample_lag()));
    send(Box::pin(inbox.process("c", "m", None, async |_| Ok(()))));
    send(Box::pin(inbox.handle(&Seen, &message)));
    send(Box::pin(inbox.is_processed("c", "m")));
    send(Box::pin(inbox.consume(&Seen, &mut subscriber)));
}
