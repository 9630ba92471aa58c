//! A PostgreSQL database per test: created empty and migrated, dropped when the test ends.
//!
//! The server comes from `DATABASE_URL` (default
//! [`acci_postgres::DEFAULT_DATABASE_URL`]); its user must be able to
//! create databases and roles. Tests connect as two login roles the harness creates:
//! [`APP_LOGIN`], a member of `acci_app` that sees one tenant at a time, and
//! [`READER_LOGIN`], also a member of `acci_all_tenants`. Neither bypasses row-level
//! security, so every test runs under tenant isolation.

use std::str::FromStr;

use acci_postgres::{DEFAULT_DATABASE_URL, PgEventStore};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};

/// A login role limited to one tenant at a time.
pub const APP_LOGIN: &str = "acci_test_app";
/// A login role that may also read every tenant's log.
pub const READER_LOGIN: &str = "acci_test_reader";

/// The server URL the tests use.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned())
}

/// One test's database. Dropping it drops the database.
pub struct TestDatabase {
    name: String,
    admin: PgConnectOptions,
}

impl TestDatabase {
    /// Creates and migrates a fresh database, and makes sure the test roles exist.
    ///
    /// Panics with instructions when no server answers: the PostgreSQL tests never skip.
    pub async fn create() -> Self {
        let database = Self::create_empty().await;
        let owner = PgEventStore::from_pool(database.pool_as(None, 1).await);
        owner.migrate().await.expect("migrate the test database");
        ensure_login_roles(owner.pool()).await;
        owner.pool().close().await;
        database
    }

    /// Creates a fresh database without migrating it.
    pub async fn create_empty() -> Self {
        let url = database_url();
        let admin = PgConnectOptions::from_str(&url)
            .unwrap_or_else(|e| panic!("DATABASE_URL `{url}` is not a PostgreSQL URL: {e}"))
            .disable_statement_logging();
        let mut conn = PgConnection::connect_with(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot reach PostgreSQL at `{url}`: {e}\n\
                 The PostgreSQL tests need a server. Start the local one \
                 (`pg_ctlcluster --skip-systemctl-redirect <version> main start`) or point \
                 DATABASE_URL at one whose user may create databases and roles, e.g. \
                 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres"
                )
            });
        let name = format!("acci_test_{}", uuid::Uuid::new_v4().simple());
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create the test database");
        conn.close().await.ok();
        TestDatabase { name, admin }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connection options for this database, as `login` or as the admin user.
    pub fn options(&self, login: Option<&str>) -> PgConnectOptions {
        let options = self.admin.clone().database(&self.name);
        match login {
            Some(login) => options.username(login).password(""),
            None => options,
        }
    }

    /// A pool on this database, as `login` or as the admin user.
    pub async fn pool_as(&self, login: Option<&str>, max_connections: u32) -> sqlx::PgPool {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(self.options(login))
            .await
            .unwrap_or_else(|e| panic!("connect to {} as {login:?}: {e}", self.name))
    }

    /// A store connected as [`READER_LOGIN`].
    pub async fn store(&self) -> PgEventStore {
        PgEventStore::from_pool(self.pool_as(Some(READER_LOGIN), 8).await)
    }

    /// Terminates every connection to this database but the caller's: a server restart,
    /// as the pools see it.
    pub async fn terminate_connections(&self) -> u64 {
        self.terminate(None).await
    }

    /// Terminates the connections of one login role only.
    pub async fn terminate_connections_of(&self, login: &str) -> u64 {
        self.terminate(Some(login)).await
    }

    async fn terminate(&self, login: Option<&str>) -> u64 {
        let mut conn = PgConnection::connect_with(&self.admin)
            .await
            .expect("admin connection");
        let terminated: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid() AND ($2::text IS NULL OR usename = $2)) t",
        )
        .bind(&self.name)
        .bind(login)
        .fetch_one(&mut conn)
        .await
        .expect("terminate backends");
        conn.close().await.ok();
        u64::try_from(terminated).unwrap_or(0)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (name, admin) = (self.name.clone(), self.admin.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: drop the
        // database from a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let mut conn = PgConnection::connect_with(&admin).await.ok()?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .ok()?;
                Some(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

/// Creates the test login roles when missing. Roles belong to the whole server, and
/// tests run in parallel: a role created by another test at the same moment is fine.
async fn ensure_login_roles(pool: &sqlx::PgPool) {
    for (login, groups) in [
        (APP_LOGIN, "acci_app"),
        (READER_LOGIN, "acci_app, acci_all_tenants"),
    ] {
        let statement = format!(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{login}') THEN
                     CREATE ROLE {login} LOGIN NOBYPASSRLS IN ROLE {groups};
                 END IF;
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
             END $$;"
        );
        pool.execute(statement.as_str())
            .await
            .unwrap_or_else(|e| panic!("create the role {login}: {e}"));
    }
}

/// A fresh store for the conformance suite, with the database that must outlive it.
pub async fn conformance_store() -> (PgEventStore, TestDatabase) {
    let database = TestDatabase::create().await;
    (database.store().await, database)
}

/// Like [`conformance_store`], with group commit off: every append a call of its own.
pub async fn conformance_store_without_group_commit() -> (PgEventStore, TestDatabase) {
    let database = TestDatabase::create().await;
    (database.store().await.without_group_commit(), database)
}
