//! The service as operations see it: its exposition passes `promtool check metrics`, a
//! real Prometheus scrapes it and answers a projection-lag series through its HTTP API,
//! and every metric the Grafana dashboard queries is one the service exports.
//!
//! Needs `prometheus` and `promtool` on the `PATH`: `.ci/run` installs Debian's
//! `prometheus` package when they are missing.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use support::{Service, TestDatabase, request};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const ADA: &[(&str, &str)] = &[("X-Tenant-Id", "acme"), ("X-User-Id", "ada")];

/// Opens an account, pays in, refuses and reads: something in every series.
async fn traffic(service: &Service) {
    service
        .request(
            "POST",
            "/accounts/a-1/open",
            ADA,
            Some(json!({"owner": "ada"})),
        )
        .await;
    let deposit = service
        .request(
            "POST",
            "/accounts/a-1/deposit",
            ADA,
            Some(json!({"amount": 10})),
        )
        .await;
    service
        .request(
            "POST",
            "/accounts/a-1/withdraw",
            ADA,
            Some(json!({"amount": 1_000})),
        )
        .await;
    service
        .request("POST", "/accounts/a-1/withdraw", ADA, None)
        .await;
    let token = deposit
        .header("x-acci-position")
        .unwrap_or("0:0")
        .to_owned();
    let with_token = [ADA, &[("X-Acci-Position", token.as_str())][..]].concat();
    service
        .request("GET", "/accounts/a-1", &with_token, None)
        .await;
    service.request("GET", "/health/ready", &[], None).await;
}

/// The program `name`, or a failure saying how to get it.
fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not on the PATH; install Debian's `prometheus` package \
                 (`apt-get install prometheus`), as .ci/run does"
            )
        })
}

/// The names of the series in a Prometheus text exposition.
fn exposed(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_exposition_passes_promtool() {
    let service = Service::start(&[]).await;
    traffic(&service).await;
    let metrics = service.request("GET", "/metrics", &[], None).await;
    let mut check = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = check.stdin.take().unwrap();
    stdin.write_all(metrics.body.as_bytes()).await.unwrap();
    drop(stdin);
    let output = check.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        metrics.body
    );
    service.stop().await;
}

#[tokio::test]
async fn every_metric_of_the_dashboard_is_exported() {
    let dashboard: serde_json::Value =
        serde_json::from_str(include_str!("../grafana/bank-service.json"))
            .expect("the dashboard is JSON");
    let mut queries = Vec::new();
    collect_queries(&dashboard, &mut queries);
    assert!(queries.len() >= 6, "the dashboard's queries: {queries:?}");
    let named: BTreeSet<String> = queries.iter().flat_map(|q| metric_names(q)).collect();
    assert!(!named.is_empty());

    let service = Service::start(&[]).await;
    traffic(&service).await;
    let metrics = service.request("GET", "/metrics", &[], None).await;
    let exported = exposed(&metrics.body);
    let missing: Vec<_> = named.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics the service does not export: {missing:?}\nexported: {exported:?}"
    );
    service.stop().await;
}

/// Every `expr` of a panel and `query` of a template variable.
fn collect_queries(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr" | "query", serde_json::Value::String(q)) => out.push(q.clone()),
                    _ => collect_queries(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_queries(v, out)),
        _ => {}
    }
}

/// The metric names a PromQL expression names: the identifiers of the service's and the
/// library's namespaces.
fn metric_names(query: &str) -> Vec<String> {
    query
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| word.starts_with("acci_") || word.starts_with("bank_service_"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn prometheus_scrapes_a_projection_lag_series() {
    let prometheus = tool("prometheus");
    let database = TestDatabase::create().await;
    let url = database.url(None);
    let service =
        Service::start(&["--database-url", &url, "--migrate", "--sample-every", "1"]).await;
    traffic(&service).await;

    let dir =
        std::env::temp_dir().join(format!("acci-prometheus-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: bank-service\n    static_configs:\n      - targets: ['{}']\n",
            service.addr
        ),
    )
    .unwrap();
    // A free loopback port for Prometheus's own HTTP server.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let web = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut server = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");

    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let series = loop {
        assert!(
            server.try_wait().unwrap().is_none(),
            "prometheus exited early"
        );
        if let Some(series) = lag_series(web).await {
            break series;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus did not answer a lag series within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let _ = server.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        series[0]["metric"]["projection"], "account_view",
        "{series:?}"
    );
    assert_eq!(series[0]["metric"]["job"], "bank-service", "{series:?}");
    let value: f64 = series[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(value >= 0.0);

    service.stop().await;
    database.drop_now().await;
}

/// The `acci_projection_lag_events` series Prometheus at `web` holds, once it has any.
async fn lag_series(web: std::net::SocketAddr) -> Option<Vec<serde_json::Value>> {
    let connect = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(web));
    if !matches!(connect.await, Ok(Ok(_))) {
        return None;
    }
    let answer = request(
        web,
        "GET",
        "/api/v1/query?query=acci_projection_lag_events",
        &[],
        None,
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&answer.body).ok()?;
    let result = json["data"]["result"].as_array()?.clone();
    (!result.is_empty()).then_some(result)
}
