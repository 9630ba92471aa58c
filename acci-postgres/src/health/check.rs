//! [`HealthCheck`]: runs the checks against the database and judges them by the rules.

use std::borrow::Cow;
use std::future::Future;
use std::time::{Duration, Instant};

use acci_core::EventKind;
use chrono::Utc;
use sqlx::{PgPool, Row};

use super::{CheckResult, HealthReport, HealthRules, HealthStatus, ProjectionReading};
use crate::PgEventStore;
use crate::store::event_filter;

/// The most waiting events a projection check counts.
const LAG_COUNT_LIMIT: i32 = 10_000;

/// A projection the health check watches: its name and the events it selects. Build one
/// from a runner or a relay (`ProjectionTarget::from(&runner)`), which knows both, or from a name
/// alone ([`named`](Self::named)), which counts every event of the log as its lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionTarget {
    name: String,
    events: Option<Cow<'static, [EventKind]>>,
}

impl ProjectionTarget {
    /// The projection `name`, selecting every event.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            events: None,
        }
    }

    /// The projection `name`, selecting `events`.
    pub fn selecting(name: impl Into<String>, events: &'static [EventKind]) -> Self {
        Self {
            name: name.into(),
            events: Some(Cow::Borrowed(events)),
        }
    }

    /// The projection (or relay) `name`, selecting `events` known only at run time.
    pub(crate) fn selecting_owned(name: impl Into<String>, events: Vec<EventKind>) -> Self {
        Self {
            name: name.into(),
            events: Some(Cow::Owned(events)),
        }
    }

    /// The projection's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl From<&str> for ProjectionTarget {
    fn from(name: &str) -> Self {
        ProjectionTarget::named(name)
    }
}

/// Checks the store and the projections a service depends on; see [the
/// module](crate::health) for what each check reads and how it is judged.
///
/// ```no_run
/// # async fn health(pool: sqlx::PgPool) {
/// use acci_postgres::health::{HealthCheck, HealthRules};
///
/// let check = HealthCheck::new(pool, ["account_balances"]).with_rules(HealthRules {
///     max_lag_events: 100,
///     ..HealthRules::default()
/// });
/// let report = check.check().await;
/// println!("{}", serde_json::to_string(&report).unwrap());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HealthCheck {
    pool: PgPool,
    projections: Vec<ProjectionTarget>,
    rules: HealthRules,
    instance: String,
}

impl HealthCheck {
    /// Checks the database of `pool` and the `projections`, by the default rules. Connect
    /// as the application's role (a member of `acci_app`): the checks call the store's
    /// functions and read `pg_locks` and `pg_stat_activity`; seeing other roles'
    /// transactions in the horizon check needs `pg_read_all_stats`.
    pub fn new<T: Into<ProjectionTarget>>(
        pool: PgPool,
        projections: impl IntoIterator<Item = T>,
    ) -> Self {
        Self {
            pool,
            projections: projections.into_iter().map(Into::into).collect(),
            rules: HealthRules::default(),
            instance: "default".to_owned(),
        }
    }

    /// Judges by `rules`.
    pub fn with_rules(mut self, rules: HealthRules) -> Self {
        self.rules = rules;
        self
    }

    /// Writes its heartbeat under `instance` (one row per name in
    /// `event_store.heartbeats`); `default` unless set.
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = instance.into();
        self
    }

    /// Also watches `projection`.
    pub fn with_projection(mut self, projection: impl Into<ProjectionTarget>) -> Self {
        self.projections.push(projection.into());
        self
    }

    /// The rules it judges by.
    pub fn rules(&self) -> &HealthRules {
        &self.rules
    }

    /// Runs every check. When the database is unreachable the others are not tried: the
    /// report says so once.
    pub async fn check(&self) -> HealthReport {
        let database = self.timed("database", self.database()).await;
        if database.status != HealthStatus::Ready {
            return HealthReport::from_checks(vec![database]);
        }
        let mut checks = vec![database];
        checks.push(self.timed("writable", self.writable()).await);
        checks.push(self.timed("log_horizon", self.horizon()).await);
        for target in &self.projections {
            let name = format!("projection:{}", target.name);
            checks.push(self.timed(&name, self.projection(target)).await);
        }
        HealthReport::from_checks(checks)
    }

    /// Runs `check` within the timeout, as the check `name`.
    async fn timed(
        &self,
        name: &str,
        check: impl Future<Output = Result<CheckResult, String>>,
    ) -> CheckResult {
        let started = Instant::now();
        let timeout = self.rules.db_timeout;
        let mut result = match tokio::time::timeout(timeout, check).await {
            Ok(Ok(result)) => result,
            Ok(Err(error)) => CheckResult::new(name, HealthStatus::NotReady, Some(error)),
            Err(_) => CheckResult::new(
                name,
                HealthStatus::NotReady,
                Some(format!("no answer within {} ms", timeout.as_millis())),
            ),
        };
        result.name = name.to_owned();
        result.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        result
    }

    async fn database(&self) -> Result<CheckResult, String> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|e| format!("the database is unreachable: {e}"))?;
        Ok(ready("database", None))
    }

    async fn writable(&self) -> Result<CheckResult, String> {
        let standby: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| format!("asking whether the server is a standby failed: {e}"))?;
        if standby {
            return Ok(CheckResult::new(
                "writable",
                HealthStatus::NotReady,
                Some("the server is a standby in recovery; it takes no writes".to_owned()),
            ));
        }
        sqlx::query("SELECT event_store.heartbeat($1)")
            .bind(&self.instance)
            .execute(&self.pool)
            .await
            .map_err(|e| format!("the heartbeat write failed: {e}"))?;
        Ok(ready("writable", None))
    }

    async fn horizon(&self) -> Result<CheckResult, String> {
        let store = PgEventStore::from_pool(self.pool.clone());
        let holder = store
            .log_horizon_holder()
            .await
            .map_err(|e| format!("reading the oldest open transaction failed: {e}"))?;
        let age = holder
            .as_ref()
            .and_then(|h| h.transaction_started)
            .map_or(0.0, |started| seconds(Utc::now() - started));
        let mut result = match &holder {
            Some(holder) if age > self.rules.max_horizon_age.as_secs_f64() => CheckResult::new(
                "log_horizon",
                HealthStatus::Degraded,
                Some(format!(
                    "transaction of backend {} ({} as {}, application {:?}, {}) has been open \
                     {age:.0} s, longer than {} s; projections cannot read past it",
                    holder.pid,
                    holder.database.as_deref().unwrap_or("?"),
                    holder.user.as_deref().unwrap_or("?"),
                    holder.application.as_deref().unwrap_or(""),
                    holder.state.as_deref().unwrap_or("?"),
                    self.rules.max_horizon_age.as_secs()
                )),
            ),
            _ => ready("log_horizon", None),
        };
        result.horizon_age_seconds = Some(age);
        Ok(result)
    }

    async fn projection(&self, target: &ProjectionTarget) -> Result<CheckResult, String> {
        let (aggregate_types, event_types) = event_filter(target.events.as_deref());
        let row = sqlx::query(include_str!("../../sql/health/projection.sql"))
            .bind(&target.name)
            .bind(crate::projection::lease_key(&target.name))
            .bind(LAG_COUNT_LIMIT)
            .bind(aggregate_types)
            .bind(event_types)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| format!("reading the projection failed: {e}"))?;
        let get_err = |e: sqlx::Error| format!("reading the projection failed: {e}");
        let has_checkpoint: bool = row.try_get("has_checkpoint").map_err(get_err)?;
        let last_error: Option<String> = row.try_get("last_error").map_err(get_err)?;
        let idle: Option<f64> = row.try_get("idle_seconds").map_err(get_err)?;
        let leased: bool = row.try_get("leased").map_err(get_err)?;
        let lag_events: i64 = row.try_get("lag_events").map_err(get_err)?;
        let waiting: Option<f64> = row.try_get("oldest_waiting_seconds").map_err(get_err)?;
        let reading = ProjectionReading {
            projection: target.name.clone(),
            lag_events: u64::try_from(lag_events).unwrap_or(0),
            lag_seconds: waiting.unwrap_or(0.0).max(0.0),
            leased,
            checkpoint_idle_seconds: idle,
            last_error,
        };
        let (status, reason) = self.judge(has_checkpoint, &reading);
        let mut result = CheckResult::new(&*target.name, status, reason);
        result.projection = Some(reading);
        Ok(result)
    }

    /// The status of a projection from what was read, and why.
    fn judge(
        &self,
        has_checkpoint: bool,
        reading: &ProjectionReading,
    ) -> (HealthStatus, Option<String>) {
        let rules = &self.rules;
        let waiting = reading.lag_events;
        if !has_checkpoint {
            return not_ready("it has no checkpoint: no runner has ever started it".to_owned());
        }
        if !reading.leased {
            return not_ready(
                "no runner holds its lease: no process is keeping it current".to_owned(),
            );
        }
        if let Some(idle) = reading.checkpoint_idle_seconds
            && waiting > 0
            && idle > rules.frozen_after.as_secs_f64()
        {
            return not_ready(format!(
                "its checkpoint has not moved for {idle:.0} s while {waiting} events wait \
                     (frozen after {} s)",
                rules.frozen_after.as_secs()
            ));
        }
        if let Some(error) = &reading.last_error {
            return degraded(format!("its last batch failed and is retried: {error}"));
        }
        if waiting > rules.max_lag_events {
            return degraded(format!(
                "{waiting} events wait, more than {}",
                rules.max_lag_events
            ));
        }
        if reading.lag_seconds > rules.max_lag_seconds.as_secs_f64() {
            return degraded(format!(
                "its oldest waiting event has waited {:.0} s, longer than {} s",
                reading.lag_seconds,
                rules.max_lag_seconds.as_secs()
            ));
        }
        (HealthStatus::Ready, None)
    }
}

fn ready(name: &str, reason: Option<String>) -> CheckResult {
    CheckResult::new(name, HealthStatus::Ready, reason)
}

fn not_ready(reason: String) -> (HealthStatus, Option<String>) {
    (HealthStatus::NotReady, Some(reason))
}

fn degraded(reason: String) -> (HealthStatus, Option<String>) {
    (HealthStatus::Degraded, Some(reason))
}

fn seconds(duration: chrono::Duration) -> f64 {
    duration.to_std().map_or(0.0, |d| Duration::as_secs_f64(&d))
}
