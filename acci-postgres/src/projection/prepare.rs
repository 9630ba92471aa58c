//! Preparing a projection: its checkpoint and tables, and the version check that
//! rebuilds a changed read model or stays away from a newer one.

use sqlx::{Connection, PgConnection};

use super::checkpoint::Checkpoint;
use super::error::RunnerError;
use super::lease::{Lock, detached_connection, lock_for_transaction};
use super::model::RunnerModel;
use super::runner::Runner;
use super::tables::create_tables;
use crate::error::store_error;

impl<M: RunnerModel> Runner<M> {
    /// Creates the read-model table, its indexes and its checkpoint if missing. If the
    /// database holds an older version of the read model, rebuilds it first (see
    /// [`rebuild`](Self::rebuild)); a newer one is [`RunnerError::NewerVersion`].
    /// Idempotent; safe when several runners start at once.
    pub async fn prepare(&self) -> Result<(), RunnerError> {
        let mut conn = detached_connection(&self.pool).await?;
        self.prepare_on(&mut conn).await
    }

    pub(super) async fn prepare_on(&self, conn: &mut PgConnection) -> Result<(), RunnerError> {
        let name = self.model.name();
        let build = self.model.version();
        let doing = format!("preparing projection `{name}`");
        let checkpoint = Checkpoint::live(name);
        let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
        lock_for_transaction(&mut tx, Lock::Prepare, name).await?;
        match checkpoint.read(&mut *tx).await?.map(|row| row.version) {
            Some(stored) if stored > build => {
                return Err(RunnerError::NewerVersion {
                    projection: name,
                    stored,
                    build,
                });
            }
            Some(stored) if stored != build => {
                tx.commit().await.map_err(|e| store_error(e, &doing))?;
                tracing::info!(
                    projection = name,
                    from = stored,
                    to = build,
                    "read model version changed; rebuilding"
                );
                return self.rebuild_on(conn).await.map(|_| ());
            }
            Some(_) => {}
            None => checkpoint.create(&mut tx, build).await?,
        }
        create_tables(&*self.model, &mut tx, super::READ_MODEL_SCHEMA).await?;
        tx.commit().await.map_err(|e| store_error(e, &doing))?;
        Ok(())
    }
}
