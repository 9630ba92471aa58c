//! Embedded migrations, applied by one call, idempotent and safe when several processes
//! start at once.

use acci_core::StoreError;
use sqlx::{Executor, PgPool, Row};

use crate::error::store_error;

/// One schema migration, embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Applied in ascending order; never reused.
    pub version: i32,
    /// What it does.
    pub name: &'static str,
    /// The SQL, run in one transaction with its record.
    pub sql: &'static str,
}

/// Every migration of the store, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "event store",
        sql: include_str!("../migrations/0001_event_store.sql"),
    },
    Migration {
        version: 2,
        name: "store functions",
        sql: include_str!("../migrations/0002_store_functions.sql"),
    },
    Migration {
        version: 3,
        name: "projections",
        sql: include_str!("../migrations/0003_projections.sql"),
    },
    Migration {
        version: 4,
        name: "lean command path",
        sql: include_str!("../migrations/0004_lean_command_path.sql"),
    },
];

/// Any 64-bit number serves as the advisory lock key, as long as it is always the same.
const MIGRATION_LOCK: i64 = 0x0acc_1000_0000_0001;

/// Applies the migrations the database does not have yet.
///
/// Runs in one transaction that first takes an advisory lock, so two processes starting
/// together apply each migration once: the second waits, then finds nothing to do. A
/// migration whose text changed after it was applied is refused rather than run again.
pub(crate) async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let doing = "applying migrations";
    let mut tx = pool.begin().await.map_err(|e| store_error(e, doing))?;
    // Under a stricter default isolation the snapshot would predate the lock, and a
    // second migrator would not see what the first applied.
    tx.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .await
        .map_err(|e| store_error(e, doing))?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error(e, doing))?;
    tx.execute(
        "CREATE SCHEMA IF NOT EXISTS event_store;
         CREATE TABLE IF NOT EXISTS event_store.schema_migrations (
             version    integer     PRIMARY KEY,
             name       text        NOT NULL,
             checksum   text        NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         );",
    )
    .await
    .map_err(|e| store_error(e, doing))?;
    let applied = sqlx::query("SELECT version, checksum FROM event_store.schema_migrations")
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| store_error(e, doing))?;
    for migration in MIGRATIONS {
        let checksum = checksum(migration.sql);
        let found = applied
            .iter()
            .find(|row| row.get::<i32, _>("version") == migration.version);
        if let Some(row) = found {
            let stored: String = row.get("checksum");
            if stored != checksum {
                return Err(StoreError::Backend {
                    message: format!(
                        "migration {} ({}) differs from the one applied to this database; migrations must never change once released",
                        migration.version, migration.name
                    ),
                    retryable: false,
                    source: None,
                });
            }
            continue;
        }
        let doing_this = format!(
            "applying migration {} ({})",
            migration.version, migration.name
        );
        sqlx::raw_sql(migration.sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error(e, &doing_this))?;
        sqlx::query("INSERT INTO event_store.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(&checksum)
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error(e, &doing_this))?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    check_transaction_ids(&mut tx).await?;
    tx.commit().await.map_err(|e| store_error(e, doing))
}

/// Refuses a database whose stored transaction ids are not below the server's current
/// one: after a dump and restore into another cluster, or a failover to a standby that
/// had not seen every commit, new events would sort before readers' checkpoints and be
/// skipped. Such a database needs its projections rebuilt (see docs/postgres.md).
async fn check_transaction_ids(tx: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    let doing = "checking transaction ids";
    let ahead: bool = sqlx::query_scalar(
        "SELECT coalesce((SELECT transaction_id FROM event_store.events ORDER BY transaction_id DESC LIMIT 1) \
                >= pg_current_xact_id(), false)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| store_error(e, doing))?;
    if ahead {
        return Err(StoreError::Backend {
            message: "the event store holds transaction ids from the server's future: it was restored into another \
                      cluster or failed over; the global log order would break, so the store refuses to start"
                .to_owned(),
            retryable: false,
            source: None,
        });
    }
    Ok(())
}

/// FNV-1a of the migration's text, line endings normalised (a checkout with CRLF is the
/// same migration): enough to notice an edit.
fn checksum(sql: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.replace("\r\n", "\n").as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
