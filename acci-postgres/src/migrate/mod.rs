//! Embedded migrations and SQL functions, applied by one call, idempotent and safe when
//! several processes start at once.
//!
//! Migrations (`migrations/*.sql`) hold the tables, indexes, policies and rights on
//! tables; each runs once, and never changes after release. Every SQL function lives in
//! a file of its own (`sql/functions/<schema>.<name>.sql`) and is applied again whenever
//! its text changes: see [`functions`].

mod functions;

pub use functions::{FUNCTIONS, SqlFunction};

use acci_core::StoreError;
use sha2::{Digest, Sha256};
use sqlx::{Executor, PgConnection, PgPool};

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
        name: "baseline",
        sql: include_str!("../../migrations/0001_baseline.sql"),
    },
    Migration {
        version: 2,
        name: "index diet",
        sql: include_str!("../../migrations/0002_index_diet.sql"),
    },
    Migration {
        version: 3,
        name: "inbox",
        sql: include_str!("../../migrations/0003_inbox.sql"),
    },
];

/// Any 64-bit number serves as the advisory lock key, as long as it is always the same.
const MIGRATION_LOCK: i64 = 0x0acc_1000_0000_0001;

/// Applies the migrations the database does not have yet, then every function whose
/// text is new or changed.
///
/// Runs in one transaction that first takes an advisory lock, so two processes starting
/// together apply each migration and function once: the second waits, then finds
/// nothing to do. A migration whose text changed after it was applied is refused rather
/// than run again; a function whose text changed is applied again.
pub(crate) async fn migrate(
    pool: &PgPool,
    migrations: &[Migration],
    functions: &[SqlFunction],
) -> Result<(), StoreError> {
    let doing = "applying migrations";
    let mut tx = pool.begin().await.map_err(|e| store_error(e, doing))?;
    apply(&mut tx, migrations, functions).await?;
    tx.commit().await.map_err(|e| store_error(e, doing))
}

async fn apply(
    conn: &mut PgConnection,
    migrations: &[Migration],
    functions: &[SqlFunction],
) -> Result<(), StoreError> {
    let doing = "applying migrations";
    // Under a stricter default isolation the snapshot would predate the lock, and a
    // second migrator would not see what the first applied.
    execute_script(conn, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .await
        .map_err(|e| store_error(e, doing))?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(|e| store_error(e, doing))?;
    execute_script(conn, include_str!("../../sql/migrate/bookkeeping.sql"))
        .await
        .map_err(|e| store_error(e, doing))?;
    apply_migrations(conn, migrations).await?;
    functions::apply(conn, functions).await?;
    check_transaction_ids(conn).await
}

async fn apply_migrations(
    conn: &mut PgConnection,
    migrations: &[Migration],
) -> Result<(), StoreError> {
    let applied: Vec<(i32, String)> =
        sqlx::query_as("SELECT version, checksum FROM event_store.schema_migrations")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| store_error(e, "reading the applied migrations"))?;
    for migration in migrations {
        let checksum = checksum(migration.sql);
        if let Some((_, stored)) = applied.iter().find(|(v, _)| *v == migration.version) {
            if *stored != checksum {
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
        let doing = format!(
            "applying migration {} ({})",
            migration.version, migration.name
        );
        execute_script(conn, migration.sql)
            .await
            .map_err(|e| store_error(e, &doing))?;
        sqlx::query(include_str!("../../sql/migrate/record_migration.sql"))
            .bind(migration.version)
            .bind(migration.name)
            .bind(&checksum)
            .execute(&mut *conn)
            .await
            .map_err(|e| store_error(e, &doing))?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    Ok(())
}

/// Refuses a database whose stored transaction ids are not below the server's current
/// one: after a dump and restore into another cluster, or a failover to a standby that
/// had not seen every commit, new events would sort before readers' checkpoints and be
/// skipped. Such a database needs its projections rebuilt (see docs/postgres.md).
async fn check_transaction_ids(conn: &mut PgConnection) -> Result<(), StoreError> {
    let ahead: bool =
        sqlx::query_scalar(include_str!("../../sql/migrate/transaction_ids_ahead.sql"))
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| store_error(e, "checking transaction ids"))?;
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

/// SHA-256 of a migration's or function's text, in hex, line endings normalised (a
/// checkout with CRLF is the same text).
fn checksum(sql: &str) -> String {
    let digest = Sha256::digest(sql.replace("\r\n", "\n").as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Runs SQL that may hold several statements (the simple query protocol, no parameters).
///
/// Through [`Executor::execute`] rather than `RawSql::execute`: the future of the latter
/// is not `Send` for every lifetime of the connection ("implementation of `Executor` is
/// not general enough"), and a caller could not spawn `migrate()` or box it as a `Send`
/// future.
async fn execute_script(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    conn.execute(sqlx::raw_sql(sql)).await.map(drop)
}
