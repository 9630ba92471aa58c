//! Rebuilding a read model from the start of the log beside the live one, then swapping
//! it in with its checkpoint in one short transaction.

use sqlx::{Connection, Executor, PgConnection};

use acci_core::projection::Committed;

use super::checkpoint::Checkpoint;
use super::error::RunnerError;
use super::lease::{Lock, detached_connection, lock, unlock};
use super::model::RunnerModel;
use super::observer::tell;
use super::runner::{Failures, Runner};
use super::tables::{REBUILD_SCHEMA, RETIRED_SCHEMA, create_tables, quoted};
use crate::error::store_error;

impl<M: RunnerModel> Runner<M> {
    /// Rebuilds the read model from the start of the log without disturbing its readers:
    /// a new table fills beside the live one (schema `read_models_rebuild`), and once it
    /// has caught up, one short transaction swaps it in with its checkpoint. Readers read
    /// the old rows until the swap and the new ones after it. Returns the events applied.
    ///
    /// A changed `VERSION` rebuilds automatically when the runner starts.
    pub async fn rebuild(&self) -> Result<u64, RunnerError> {
        let mut conn = detached_connection(&self.pool).await?;
        self.rebuild_on(&mut conn).await
    }

    pub(super) async fn rebuild_on(&self, conn: &mut PgConnection) -> Result<u64, RunnerError> {
        // One rebuild at a time: they share the side table and its checkpoint.
        let name = self.model.name();
        lock(conn, Lock::Rebuild, name).await?;
        let rebuilt = self.rebuild_locked(conn).await;
        unlock(conn, Lock::Rebuild, name).await;
        rebuilt
    }

    async fn rebuild_locked(&self, conn: &mut PgConnection) -> Result<u64, RunnerError> {
        let doing = format!("rebuilding projection `{}`", self.model.name());
        let checkpoint = Checkpoint::rebuild(self.model.name());
        let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
        for table in self.model.tables() {
            let drop_stale = format!("DROP TABLE IF EXISTS {REBUILD_SCHEMA}.{}", quoted(table));
            tx.execute(drop_stale.as_str())
                .await
                .map_err(|e| store_error(e, &doing))?;
        }
        create_tables(&*self.model, &mut tx, REBUILD_SCHEMA).await?;
        checkpoint.reset(&mut tx, self.model.version()).await?;
        tx.commit().await.map_err(|e| store_error(e, &doing))?;

        let applied = self
            .drain_into(
                conn,
                REBUILD_SCHEMA,
                checkpoint,
                &mut Failures::default(),
                true,
            )
            .await?;

        let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
        let live = super::READ_MODEL_SCHEMA;
        for table in self.model.tables() {
            let table = quoted(table);
            for statement in [
                format!("DROP TABLE IF EXISTS {RETIRED_SCHEMA}.{table}"),
                format!("ALTER TABLE IF EXISTS {live}.{table} SET SCHEMA {RETIRED_SCHEMA}"),
                format!("ALTER TABLE {REBUILD_SCHEMA}.{table} SET SCHEMA {live}"),
                format!("DROP TABLE IF EXISTS {RETIRED_SCHEMA}.{table}"),
            ] {
                tx.execute(statement.as_str())
                    .await
                    .map_err(|e| store_error(e, &doing))?;
            }
        }
        checkpoint.promote(&mut tx).await?;
        tx.commit().await.map_err(|e| store_error(e, &doing))?;
        let swapped = Committed::Swapped {
            projection: self.model.name(),
        };
        tell(self.observer.as_ref(), swapped).await;
        tracing::info!(
            projection = self.model.name(),
            applied,
            "rebuilt read model swapped in"
        );
        Ok(applied)
    }
}
