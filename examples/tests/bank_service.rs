//! The `bank-service` binary driven over HTTP, on both stores: commands, a
//! read-your-writes query, a stale write, a refused and a denied command, a replayed
//! command id, validation errors, and `/health/ready` turning 503 when the store goes.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Proxy, Service, TestDatabase, eventually};

const ADA: &[(&str, &str)] = &[("X-Tenant-Id", "acme"), ("X-User-Id", "ada")];

/// What both stores must answer alike.
async fn scenario(service: &Service) {
    let open = service
        .request(
            "POST",
            "/accounts/a-1/open",
            ADA,
            Some(json!({"owner": "ada"})),
        )
        .await;
    assert_eq!(open.status, 201, "{}", open.body);
    assert_eq!(open.json()["version"], 1);
    assert!(open.header("x-correlation-id").is_some());

    // A deposit, then a read of it through its position token.
    let deposit = service
        .request(
            "POST",
            "/accounts/a-1/deposit",
            ADA,
            Some(json!({"amount": 100})),
        )
        .await;
    assert_eq!(deposit.status, 200, "{}", deposit.body);
    let token = deposit
        .header("x-acci-position")
        .expect("a position token")
        .to_owned();
    assert_eq!(deposit.json()["position"], token.as_str());
    let with_token = [ADA, &[("X-Acci-Position", token.as_str())][..]].concat();
    let read = service
        .request("GET", "/accounts/a-1", &with_token, None)
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["balance"], 100);
    assert_eq!(read.json()["owner"], "ada");
    assert_eq!(read.json()["version"], 2);

    // The same command id twice: applied once, answered alike.
    let id = uuid::Uuid::new_v4().to_string();
    let with_id = [ADA, &[("X-Command-Id", id.as_str())][..]].concat();
    let first = service
        .request(
            "POST",
            "/accounts/a-1/deposit",
            &with_id,
            Some(json!({"amount": 5})),
        )
        .await;
    let again = service
        .request(
            "POST",
            "/accounts/a-1/deposit",
            &with_id,
            Some(json!({"amount": 5})),
        )
        .await;
    assert_eq!((first.status, again.status), (200, 200), "{}", again.body);
    assert_eq!(first.json()["duplicate"], false);
    assert_eq!(again.json()["duplicate"], true);
    assert_eq!(again.json()["version"], first.json()["version"]);
    assert_eq!(again.json()["position"], first.json()["position"]);
    let token = again.header("x-acci-position").unwrap().to_owned();
    let with_token = [ADA, &[("X-Acci-Position", token.as_str())][..]].concat();
    let read = service
        .request("GET", "/accounts/a-1", &with_token, None)
        .await;
    assert_eq!(
        read.json()["balance"],
        105,
        "the replayed deposit counted once"
    );

    // A write against a version the account has left: 409 conflict, nothing stored.
    let stale = [ADA, &[("If-Match", "\"2\"")][..]].concat();
    let conflict = service
        .request(
            "POST",
            "/accounts/a-1/withdraw",
            &stale,
            Some(json!({"amount": 1})),
        )
        .await;
    assert_eq!(conflict.status, 409, "{}", conflict.body);
    assert_eq!(conflict.json()["error"], "conflict");

    // The account refuses: 409 refused.
    let refused = service
        .request(
            "POST",
            "/accounts/a-1/withdraw",
            ADA,
            Some(json!({"amount": 1_000})),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.json()["error"], "refused");

    // Someone else's withdrawal, and a blocked user's deposit: 403.
    let bob = [("X-Tenant-Id", "acme"), ("X-User-Id", "bob")];
    let denied = service
        .request(
            "POST",
            "/accounts/a-1/withdraw",
            &bob,
            Some(json!({"amount": 1})),
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.json()["error"], "unauthorized");
    let mallory = [("X-Tenant-Id", "acme"), ("X-User-Id", "mallory")];
    let blocked = service
        .request(
            "POST",
            "/accounts/a-1/deposit",
            &mallory,
            Some(json!({"amount": 1})),
        )
        .await;
    assert_eq!(blocked.status, 403, "{}", blocked.body);

    // Validation: 400.
    let zero = service
        .request(
            "POST",
            "/accounts/a-1/deposit",
            ADA,
            Some(json!({"amount": 0})),
        )
        .await;
    assert_eq!(zero.status, 400, "{}", zero.body);
    let no_tenant = service
        .request(
            "POST",
            "/accounts/a-1/deposit",
            &[("X-User-Id", "ada")],
            Some(json!({"amount": 1})),
        )
        .await;
    assert_eq!(no_tenant.status, 400, "{}", no_tenant.body);
    let not_json = service
        .request("POST", "/accounts/a-1/deposit", ADA, None)
        .await;
    assert_eq!(not_json.status, 400, "{}", not_json.body);

    // Not found: 404, for the read and for a command on an account never opened.
    let missing = service.request("GET", "/accounts/nobody", ADA, None).await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    let never_opened = service
        .request(
            "POST",
            "/accounts/nobody/deposit",
            ADA,
            Some(json!({"amount": 1})),
        )
        .await;
    assert_eq!(never_opened.status, 404, "{}", never_opened.body);
    // Another tenant does not see acme's account.
    let globex = [("X-Tenant-Id", "globex"), ("X-User-Id", "ada")];
    let other = service.request("GET", "/accounts/a-1", &globex, None).await;
    assert_eq!(other.status, 404, "{}", other.body);

    let live = service.request("GET", "/health/live", &[], None).await;
    assert_eq!(live.status, 200);
    let ready = service.request("GET", "/health/ready", &[], None).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json()["status"], "ready", "{}", ready.body);

    let metrics = service.request("GET", "/metrics", &[], None).await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .body
            .contains("acci_projection_lag_events{projection=\"account_view\"}"),
        "{}",
        metrics.body
    );

    // Logs are JSON lines carrying the correlation and tenant ids.
    let correlation = open.header("x-correlation-id").unwrap().to_owned();
    let logs = service.logs.lock().unwrap().clone();
    let line = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["spans"][0]["correlation_id"] == correlation.as_str())
        .expect("a log line of the open request");
    assert_eq!(line["spans"][0]["tenant_id"], "acme");
}

#[tokio::test]
async fn in_memory_service_answers_every_route() {
    let service = Service::start(&["--blocked-user", "mallory"]).await;
    scenario(&service).await;
    service.stop().await;
}

#[tokio::test]
async fn postgres_service_answers_and_is_not_ready_once_the_store_is_gone() {
    let database = TestDatabase::create().await;
    let proxy = Proxy::start(database.server_addr()).await;
    let url = database.url(Some(proxy.addr));
    let service = Service::start(&[
        "--database-url",
        &url,
        "--migrate",
        "--blocked-user",
        "mallory",
    ])
    .await;
    scenario(&service).await;

    proxy.cut();
    let report = eventually(
        Duration::from_secs(30),
        "/health/ready turns 503",
        || async {
            let ready = service.request("GET", "/health/ready", &[], None).await;
            (ready.status == 503).then(|| ready.json())
        },
    )
    .await;
    assert_eq!(report["status"], "not_ready", "{report}");
    assert_eq!(report["checks"][0]["name"], "database", "{report}");
    let live = service.request("GET", "/health/live", &[], None).await;
    assert_eq!(live.status, 200, "alive, if not ready");
    let command = service
        .request(
            "POST",
            "/accounts/a-1/deposit",
            ADA,
            Some(json!({"amount": 1})),
        )
        .await;
    assert_eq!(command.status, 503, "{}", command.body);
    assert_eq!(command.json()["error"], "unavailable");

    service.stop().await;
    database.drop_now().await;
}
