//! The publishing pair end to end: `bank-service` on PostgreSQL publishes its events to
//! RabbitMQ through its relay; `bank-ledger`, with a database of its own, consumes them
//! and keeps its ledger. Needs RabbitMQ at `RABBITMQ_URL` (default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`).

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use support::{Service, TestDatabase, eventually};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const ADA: &[(&str, &str)] = &[("X-Tenant-Id", "acme"), ("X-User-Id", "ada")];
const BOB: &[(&str, &str)] = &[("X-Tenant-Id", "globex"), ("X-User-Id", "bob")];

fn broker_url() -> String {
    std::env::var("RABBITMQ_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// Starts `bank-ledger` and waits until its queue is bound.
async fn start_ledger(database: &str, exchange: &str, queue: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bank-ledger"))
        .args(["--database-url", database, "--migrate"])
        .args([
            "--broker-url",
            &broker_url(),
            "--exchange",
            exchange,
            "--queue",
            queue,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the bank-ledger binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("stdout reads") {
            if line.starts_with("ready:") {
                return;
            }
        }
        panic!("bank-ledger ended before it was ready");
    });
    ready.await.expect("bank-ledger is ready within 60 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

async fn command(service: &Service, who: &[(&str, &str)], path: &str, body: serde_json::Value) {
    let answer = service.request("POST", path, who, Some(body)).await;
    assert!(
        answer.status < 300,
        "{path}: {} {}",
        answer.status,
        answer.body
    );
}

#[tokio::test]
async fn the_ledger_keeps_what_the_bank_published_each_event_once() {
    let bank = TestDatabase::create().await;
    let ledger_db = TestDatabase::create().await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let exchange = format!("bank-test-{suffix}");
    let queue = format!("bank-ledger-test-{suffix}");
    let ledger = start_ledger(&ledger_db.url(None), &exchange, &queue).await;

    let bank_url = bank.url(None);
    let broker = broker_url();
    let service = Service::start(&[
        "--database-url",
        &bank_url,
        "--migrate",
        "--publish-to",
        &broker,
        "--exchange",
        &exchange,
    ])
    .await;
    command(&service, ADA, "/accounts/a-1/open", json!({"owner": "ada"})).await;
    command(&service, BOB, "/accounts/a-1/open", json!({"owner": "bob"})).await;
    for amount in 1..=20 {
        command(
            &service,
            ADA,
            "/accounts/a-1/deposit",
            json!({"amount": amount}),
        )
        .await;
    }
    command(
        &service,
        ADA,
        "/accounts/a-1/withdraw",
        json!({"amount": 10}),
    )
    .await;
    command(&service, BOB, "/accounts/a-1/deposit", json!({"amount": 7})).await;

    let pool = sqlx::PgPool::connect(&ledger_db.url(None)).await.unwrap();
    let expected = vec![
        ("acme".to_owned(), "a-1".to_owned(), 200, 21, 22),
        ("globex".to_owned(), "a-1".to_owned(), 7, 1, 2),
    ];
    eventually(Duration::from_secs(60), "the ledger caught up", || async {
        let accounts = acci_examples::ledger::Ledger::accounts(&pool).await.ok()?;
        let seen: Vec<_> = accounts
            .into_iter()
            .map(|a| {
                (
                    a.tenant,
                    a.account_id,
                    a.balance,
                    a.movements,
                    a.last_sequence,
                )
            })
            .collect();
        (seen == expected).then_some(())
    })
    .await;
    let processed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM inbox.processed WHERE consumer = 'bank-ledger'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(processed, 24, "one inbox record per published event");

    drop(ledger);
    service.stop().await;
    pool.close().await;
    let options = acci_rabbitmq::RabbitOptions::new(&broker, &exchange);
    acci_rabbitmq::delete_queue(&options, &queue).await.unwrap();
    acci_rabbitmq::delete_exchange(&options).await.unwrap();
    bank.drop_now().await;
    ledger_db.drop_now().await;
}
