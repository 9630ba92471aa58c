//! The bank domain as an HTTP service: commands and queries over axum, on the in-memory
//! store or on PostgreSQL, with health, Prometheus metrics and JSON logs. The
//! `bank-service` binary parses its [`Config`] and calls [`run`].
//!
//! | route | what |
//! |---|---|
//! | `POST /accounts/{id}/open` | `{"owner": "…", "currency": "EUR"}` (currency optional) |
//! | `POST /accounts/{id}/deposit`, `/withdraw` | `{"amount": N}`, in cents |
//! | `GET /accounts/{id}` | the account from the read model |
//! | `GET /metrics` | Prometheus text |
//! | `GET /health/live`, `/health/ready` | liveness; the [`HealthReport`](acci_postgres::health::HealthReport) as JSON, 503 when not ready |
//!
//! Every request names its tenant in `X-Tenant-Id` and its user in `X-User-Id`; it may
//! carry `X-Correlation-Id` (a UUID, made up otherwise and echoed back). A command may
//! carry `X-Command-Id` (a UUID): sent again with the same id it is applied once and
//! answers as the first time, with `"duplicate": true`. It may carry `If-Match` with the
//! account version the client last read: a command against a newer version is refused
//! with 409. A command answers with a position token (in its body and in
//! `X-Acci-Position`); a query sent with that header waits until the read model has
//! passed it (read-your-writes).

mod authorize;
mod background;
mod error;
mod health;
mod publish;
mod read;
mod routes;
mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use acci_core::prelude::*;
use acci_core::{EventStore, InMemoryEventStore};
use acci_postgres::PgEventStore;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;

use crate::bank::BankAccount;

pub use error::ApiError;
pub use publish::{RELAY_NAME, SUBJECT_PREFIX};
pub use routes::{COMMAND_ID_HEADER, POSITION_HEADER};
pub use telemetry::{
    CORRELATION_HEADER, HEALTH_STATUS, HTTP_DURATION, HTTP_REQUESTS, PROJECTION_LAG_EVENTS,
    PROJECTION_LAG_SECONDS, TENANT_HEADER, USER_HEADER,
};

/// How to run the service.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; `127.0.0.1:8080` by default (`--listen`).
    pub listen: SocketAddr,
    /// The PostgreSQL URL the service works on, as a role in `acci_app`
    /// (`--database-url`, or `DATABASE_URL`); the in-memory store when `None`.
    pub database_url: Option<String>,
    /// The URL the projection runner connects with, as a role in `acci_all_tenants`
    /// (`--runner-url`); `database_url` when `None`.
    pub runner_url: Option<String>,
    /// Run the migrations at start-up (`--migrate`), with `owner_url`.
    pub migrate: bool,
    /// The URL of the role owning the schema, for `--migrate` (`--owner-url`);
    /// `database_url` when `None`.
    pub owner_url: Option<String>,
    /// Users refused every command (`--blocked-user`, repeatable).
    pub blocked_users: Vec<String>,
    /// How often the health is sampled into the lag gauges (`--sample-every`, seconds).
    pub sample_every: Duration,
    /// How long a query waits for its position token (`--wait-timeout`, seconds).
    pub wait_timeout: Duration,
    /// The RabbitMQ URL the relay publishes the events to (`--publish-to`); no relay
    /// when `None`. Needs PostgreSQL: the relay tails its log, as the runner's role.
    pub publish_url: Option<String>,
    /// The topic exchange the relay publishes to (`--exchange`, default `bank`).
    pub exchange: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            runner_url: None,
            migrate: false,
            owner_url: None,
            blocked_users: Vec::new(),
            sample_every: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(5),
            publish_url: None,
            exchange: "bank".to_owned(),
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What every request handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) accounts: Repository<BankAccount>,
    pub(crate) read: read::ReadSide,
    pub(crate) metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub(crate) wait_timeout: Duration,
}

/// Runs the service until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), Error> {
    telemetry::init_logs();
    let metrics = telemetry::init_metrics()?;
    let (stop, stopped) = watch::channel(false);
    let (store, read): (Arc<dyn EventStore>, _) = match &config.database_url {
        None if config.publish_url.is_some() => {
            return Err(
                "--publish-to needs --database-url: the relay tails the PostgreSQL log".into(),
            );
        }
        None => {
            let store = Arc::new(InMemoryEventStore::new());
            let read = read::ReadSide::memory(Arc::clone(&store), stopped.clone());
            (store, read)
        }
        Some(url) => {
            if config.migrate {
                let owner = config.owner_url.as_deref().unwrap_or(url);
                PgEventStore::connect(owner).await?.migrate().await?;
                tracing::info!("migrations applied");
            }
            let pool = pool(url, None)?;
            let reader_pool = self::pool(url, Some(acci_postgres::projection::READ_MODEL_SCHEMA))?;
            let runner_pool = self::pool(config.runner_url.as_deref().unwrap_or(url), None)?;
            if let Some(broker) = &config.publish_url {
                publish::spawn_relay(
                    runner_pool.clone(),
                    broker,
                    &config.exchange,
                    stopped.clone(),
                )?;
            }
            let store = Arc::new(PgEventStore::from_pool(pool.clone()));
            let read = read::ReadSide::postgres(
                read::PgPools {
                    app: pool,
                    reader: reader_pool,
                    runner: runner_pool,
                },
                stopped.clone(),
            );
            (store, read)
        }
    };
    let authorizer = authorize::BankAuthorizer::new(
        Repository::<BankAccount>::new(Arc::clone(&store)),
        config.blocked_users.iter().cloned(),
    );
    let accounts = Repository::<BankAccount>::new(store).with_authorizer(Arc::new(authorizer));
    let state = AppState {
        accounts,
        read: read.clone(),
        metrics: metrics.clone(),
        wait_timeout: config.wait_timeout,
    };
    telemetry::spawn_upkeep(metrics, stopped.clone());
    health::spawn_sampler(read, config.sample_every, stopped.clone());
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, store = if config.database_url.is_some() { "postgres" } else { "memory" }, "listening");
    axum::serve(listener, routes::router(state))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        })
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// A pool of `url` that connects when first used, so the service starts (and says it is
/// not ready) while the database is away, and gives up on it within seconds, so a
/// request fails with 503 instead of hanging. `search_path` for the read models' pool.
fn pool(url: &str, search_path: Option<&str>) -> Result<sqlx::PgPool, Error> {
    let mut options: sqlx::postgres::PgConnectOptions = url.parse()?;
    if let Some(path) = search_path {
        options = options.options([("search_path", path)]);
    }
    let pool: PgPoolOptions = PgEventStore::pool_options();
    Ok(pool
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy_with(options))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
