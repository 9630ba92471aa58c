//! The domain the runner tests share: counts per stream, projected by a `#[projection]`
//! and by a hand-written projection, and the helpers that append and catch up.

use std::time::{Duration, Instant};

use acci_core::prelude::*;
use acci_core::{
    AppendOutcome, EventKind, EventStore, ExpectedVersion, LogPosition, Metadata, NewEvent,
    StoredEvent, StreamId,
};
use acci_postgres::projection::{CustomProjection, HandleError, Runner, RunnerModel};
use acci_postgres::{FailurePolicy, PgEventStore, RunnerOptions};
use acci_tests::pg::TestDatabase;

#[event]
pub(crate) struct Counted {
    pub(crate) n: i64,
}

/// One row per stream: its tenant and the sum of its counts.
#[projection(table = "count_totals", events(Counted))]
pub(crate) struct CountTotal {
    #[projection(key)]
    pub(crate) stream: String,
    pub(crate) tenant: String,
    pub(crate) total: i64,
}

impl Project<Counted> for CountTotal {
    fn project(row: &mut Option<Self>, event: &Recorded<Counted>) {
        let row = row.get_or_insert_with(|| CountTotal {
            stream: event.stream.aggregate_id.to_string(),
            tenant: event.stream.tenant.to_string(),
            total: 0,
        });
        row.total += event.data.n;
    }
}

/// A hand-written projection of the same events: one row per event, decoded as typed.
pub(crate) struct CountLog;

#[async_trait::async_trait]
impl CustomProjection for CountLog {
    const NAME: &'static str = "count_log";
    const VERSION: u32 = 1;
    const EVENTS: &'static [EventKind] = &[EventKind::new("Account", "Counted")];
    const TABLES: &'static [&'static str] = &["count_log"];

    async fn setup(&self, tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS count_log \
             (event_id uuid PRIMARY KEY, tenant text NOT NULL, n bigint NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map(|_| ())
    }

    async fn handle(
        &self,
        event: &StoredEvent,
        tx: &mut sqlx::PgConnection,
    ) -> Result<(), HandleError> {
        let counted = acci_core::__private::decode_recorded::<Counted>(event.clone())
            .map_err(acci_core::ProjectionError::from)?;
        sqlx::query("INSERT INTO count_log VALUES ($1, $2, $3)")
            .bind(event.event_id.as_uuid())
            .bind(event.stream.tenant.as_str())
            .bind(counted.data.n)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

pub(crate) fn stream(tenant: &str, id: &str) -> StreamId {
    StreamId::new(
        TenantId::new(tenant).unwrap(),
        "Account",
        AggregateId::new(id).unwrap(),
    )
    .unwrap()
}

pub(crate) async fn count(store: &PgEventStore, tenant: &str, n: i64) -> LogPosition {
    let event = NewEvent::from_event(&Counted { n }, Metadata::new()).unwrap();
    let appended = store
        .append(
            &stream(tenant, &format!("s-{tenant}")),
            ExpectedVersion::Any,
            vec![event],
            None,
        )
        .await
        .expect("append");
    match appended {
        AppendOutcome::Appended(appended) => appended.last_position,
        other => panic!("{other:?}"),
    }
}

/// Catches up until the runner has passed `last` (a transaction of another test's
/// database may hold the log's horizon back for a moment); returns the events applied.
pub(crate) async fn catch_up_to<M: RunnerModel>(runner: &Runner<M>, last: LogPosition) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut applied = 0;
    while !runner.wait_for(last, Duration::ZERO).await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "the runner never got to {last:?}"
        );
        applied += runner.catch_up().await.expect("catch up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    applied
}

pub(crate) fn options(failure: FailurePolicy) -> RunnerOptions {
    RunnerOptions {
        batch_size: 3,
        poll_interval: Duration::from_millis(50),
        standby_interval: Duration::from_millis(50),
        failure,
    }
}

pub(crate) const RETRY: FailurePolicy = FailurePolicy::RetryThenPark {
    attempts: 2,
    backoff: Duration::from_millis(10),
};

pub(crate) async fn totals(db: &TestDatabase) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT tenant, total FROM read_models.count_totals ORDER BY tenant")
        .fetch_all(&db.pool_as(None, 1).await)
        .await
        .unwrap()
}
