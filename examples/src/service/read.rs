//! The read side: the account read model on either store, kept current in the
//! background, and waiting for a position token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::projection::InMemoryProjection;
use acci_core::query::QueryError;
use acci_core::{
    EventStore, InMemoryEventStore, LogPosition, Projection, ReadAll, TenantId, TenantScope,
};
use acci_postgres::health::{
    CheckResult, HealthCheck, HealthReport, HealthStatus, ProjectionReading, ProjectionTarget,
};
use acci_postgres::{PgReadModels, ProjectionRunner};
use tokio::sync::watch;

use super::background::spawn_restarting;
use crate::bank_view::AccountView;

/// The read model and whatever keeps it current.
#[derive(Clone)]
pub(crate) enum ReadSide {
    /// Next to the in-memory store: caught up by a task of its own and before a query
    /// that waits for a position.
    Memory {
        store: Arc<InMemoryEventStore>,
        projection: Arc<InMemoryProjection<AccountView>>,
        reader: acci_core::projection::InMemoryReadModels,
    },
    /// On PostgreSQL: the projection runner runs in this process (boxed: it is most of
    /// the enum's size, and the enum lives in the service's state).
    Postgres {
        runner: Box<ProjectionRunner<AccountView>>,
        reader: PgReadModels,
        health: HealthCheck,
    },
}

/// The pools of the read side on PostgreSQL.
pub(crate) struct PgPools {
    /// The application's: the health check.
    pub(crate) app: sqlx::PgPool,
    /// The application's, with `search_path` at the read models.
    pub(crate) reader: sqlx::PgPool,
    /// The projection runner's, a role in `acci_all_tenants`.
    pub(crate) runner: sqlx::PgPool,
}

/// Why a query could not wait for its position.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WaitError {
    /// The read model did not reach the position in time.
    #[error("the read model has not reached position {0} yet")]
    Behind(LogPosition),
    /// The read model's store failed.
    #[error("the read model's store failed: {0}")]
    Store(String),
}

impl ReadSide {
    /// The read side on the in-memory store; a task catches it up every 100 ms until
    /// `stopped`.
    pub(crate) fn memory(store: Arc<InMemoryEventStore>, stopped: watch::Receiver<bool>) -> Self {
        let projection = Arc::new(InMemoryProjection::<AccountView>::new());
        let reader = acci_core::projection::InMemoryReadModels::new();
        reader.register(Arc::clone(&projection));
        let read = ReadSide::Memory {
            store,
            projection,
            reader,
        };
        let background = read.clone();
        tokio::spawn(until_stopped(stopped, async move {
            loop {
                if let Err(error) = background.catch_up_memory().await {
                    tracing::warn!(%error, "catching up the account read model failed");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
        read
    }

    /// The read side on PostgreSQL: the runner runs the projection (restarted after a
    /// failure) until `stopped`.
    pub(crate) fn postgres(pools: PgPools, stopped: watch::Receiver<bool>) -> Self {
        let runner = ProjectionRunner::<AccountView>::new(pools.runner);
        let health = HealthCheck::new(pools.app, [ProjectionTarget::from(&runner)])
            .with_instance(format!("bank-service-{}", std::process::id()));
        let background = runner.clone();
        spawn_restarting(
            "projection runner",
            AccountView::NAME,
            stopped,
            move |shutdown| {
                let runner = background.clone();
                async move { runner.run(shutdown).await }
            },
        );
        ReadSide::Postgres {
            runner: Box::new(runner),
            reader: PgReadModels::from_pool(pools.reader),
            health,
        }
    }

    /// The row of `account_id` in `tenant`.
    pub(crate) async fn get(
        &self,
        tenant: &TenantId,
        account_id: &str,
    ) -> Result<Option<AccountView>, QueryError> {
        let key = account_id.to_owned();
        match self {
            ReadSide::Memory { reader, .. } => AccountView::find(reader, tenant, &key).await,
            ReadSide::Postgres { reader, .. } => AccountView::find(reader, tenant, &key).await,
        }
    }

    /// Waits until the read model has passed `position`, at most `timeout`.
    pub(crate) async fn wait_for(
        &self,
        position: LogPosition,
        timeout: Duration,
    ) -> Result<(), WaitError> {
        match self {
            ReadSide::Memory { projection, .. } => {
                let deadline = Instant::now() + timeout;
                loop {
                    self.catch_up_memory().await.map_err(WaitError::Store)?;
                    if projection.status().position >= position {
                        return Ok(());
                    }
                    if Instant::now() >= deadline {
                        return Err(WaitError::Behind(position));
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            ReadSide::Postgres { runner, .. } => match runner.wait_for(position, timeout).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(WaitError::Behind(position)),
                Err(error) => Err(WaitError::Store(error.to_string())),
            },
        }
    }

    /// The health of the store and the read model.
    pub(crate) async fn health(&self) -> HealthReport {
        match self {
            ReadSide::Postgres { health, .. } => health.check().await,
            ReadSide::Memory {
                store, projection, ..
            } => {
                let store_check = CheckResult::new(
                    "store",
                    HealthStatus::Ready,
                    Some("in-memory store: nothing outside this process to check".to_owned()),
                );
                let position = projection.status().position;
                let request = ReadAll::new(TenantScope::AllTenants)
                    .after(position)
                    .limit(acci_core::MAX_READ_BATCH)
                    .events(AccountView::EVENTS.iter().cloned());
                let mut check = match store.read_all(&request).await {
                    Ok(batch) => {
                        let mut check = CheckResult::new(
                            format!("projection:{}", AccountView::NAME),
                            HealthStatus::Ready,
                            None,
                        );
                        let oldest = batch.events.first().map(|e| e.recorded_at);
                        check.projection = Some(ProjectionReading {
                            projection: AccountView::NAME.to_owned(),
                            lag_events: batch.events.len() as u64,
                            lag_seconds: oldest.map_or(0.0, |at| {
                                (chrono::Utc::now() - at)
                                    .to_std()
                                    .map_or(0.0, |d| d.as_secs_f64())
                            }),
                            leased: true,
                            checkpoint_idle_seconds: None,
                            last_error: None,
                        });
                        check
                    }
                    Err(error) => CheckResult::new(
                        format!("projection:{}", AccountView::NAME),
                        HealthStatus::NotReady,
                        Some(error.to_string()),
                    ),
                };
                check.name = format!("projection:{}", AccountView::NAME);
                HealthReport::from_checks(vec![store_check, check])
            }
        }
    }

    async fn catch_up_memory(&self) -> Result<u64, String> {
        match self {
            ReadSide::Memory {
                store, projection, ..
            } => projection
                .catch_up(store.as_ref())
                .await
                .map_err(|e| e.to_string()),
            ReadSide::Postgres { .. } => Ok(0),
        }
    }
}

/// Runs `work` until `stopped` turns true.
pub(crate) async fn until_stopped(
    mut stopped: watch::Receiver<bool>,
    work: impl std::future::Future<Output = ()>,
) {
    tokio::select! {
        _ = stopped.wait_for(|stopped| *stopped) => {}
        () = work => {}
    }
}
