//! The database each scenario runs on: created fresh, migrated, with the raw baseline's
//! tables beside ACCI's, and dropped at the end.

use std::str::FromStr;

use acci_postgres::PgEventStore;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool};

use crate::Error;

/// The login both systems write through: a member of `acci_app`, under row-level
/// security, as an application connects.
pub const APP_LOGIN: &str = "acci_bench_app";

/// The hand-written event store the baselines use: what a careful program without a
/// framework would create. One stream column, the same payload columns, an identity for
/// the global order, and the unique index that makes concurrent appends collide.
const RAW_SCHEMA: &str = "
CREATE SCHEMA raw;
CREATE TABLE raw.events (
    position       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       uuid        NOT NULL UNIQUE,
    stream_id      text        NOT NULL,
    sequence       bigint      NOT NULL,
    event_type     text        NOT NULL,
    schema_version integer     NOT NULL,
    data           jsonb       NOT NULL,
    metadata       jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, sequence)
);
CREATE TABLE raw.balances (account text PRIMARY KEY, balance bigint NOT NULL, movements bigint NOT NULL);
CREATE TABLE raw.checkpoint (position bigint NOT NULL);
INSERT INTO raw.checkpoint VALUES (0);
";

/// One scenario's database on the server of the configured URL.
pub struct BenchDatabase {
    url: String,
    admin: PgConnectOptions,
    name: String,
}

impl BenchDatabase {
    /// Creates a database of its own, migrates it, creates the application login and the
    /// raw baseline's tables.
    pub async fn create(url: &str) -> Result<Self, Error> {
        let admin = Self::admin_options(url)?;
        let mut conn = PgConnection::connect_with(&admin).await.map_err(|e| {
            format!(
                "cannot reach PostgreSQL at `{url}`: {e}; start it or set DATABASE_URL to a \
                 server whose user may create databases and roles"
            )
        })?;
        let name = format!("acci_bench_{}", uuid::Uuid::new_v4().simple());
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        conn.close().await.ok();
        let database = BenchDatabase {
            url: url.to_owned(),
            admin,
            name,
        };
        if let Err(error) = database.prepare().await {
            database.drop().await.ok();
            return Err(error);
        }
        Ok(database)
    }

    /// The database `name` that another process of the program created on `url`; it is
    /// left to that process to drop.
    pub fn attach(url: &str, name: &str) -> Result<Self, Error> {
        Ok(BenchDatabase {
            url: url.to_owned(),
            admin: Self::admin_options(url)?,
            name: name.to_owned(),
        })
    }

    fn admin_options(url: &str) -> Result<PgConnectOptions, Error> {
        Ok(PgConnectOptions::from_str(url)
            .map_err(|e| format!("DATABASE_URL `{url}` is not a PostgreSQL URL: {e}"))?
            .disable_statement_logging())
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    async fn prepare(&self) -> Result<(), Error> {
        let owner = self.owner_pool(1).await?;
        PgEventStore::from_pool(owner.clone()).migrate().await?;
        owner
            .execute(
                format!(
                    "DO $$ BEGIN
                         IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_LOGIN}') THEN
                             CREATE ROLE {APP_LOGIN} LOGIN NOBYPASSRLS IN ROLE acci_app;
                         END IF;
                     EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                     END $$;"
                )
                .as_str(),
            )
            .await?;
        owner.execute(RAW_SCHEMA).await?;
        owner
            .execute(
                format!(
                    "GRANT USAGE ON SCHEMA raw TO {APP_LOGIN};
                     GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA raw TO {APP_LOGIN};"
                )
                .as_str(),
            )
            .await?;
        owner.close().await;
        Ok(())
    }

    /// A pool of the database's owner (the server's admin user): for seeding and for
    /// projection runners, which read every tenant.
    pub async fn owner_pool(&self, connections: u32) -> Result<PgPool, Error> {
        self.pool(self.admin.clone().database(&self.name), connections)
            .await
    }

    /// A pool of the application login.
    pub async fn app_pool(&self, connections: u32) -> Result<PgPool, Error> {
        let options = self
            .admin
            .clone()
            .database(&self.name)
            .username(APP_LOGIN)
            .password("");
        self.pool(options, connections).await
    }

    async fn pool(&self, options: PgConnectOptions, connections: u32) -> Result<PgPool, Error> {
        // The store's recommended settings, for the baseline as well: both get the same pool.
        Ok(PgEventStore::pool_options()
            .max_connections(connections)
            .min_connections(connections)
            .connect_with(options)
            .await?)
    }

    /// Drops the database, closing whatever is still connected.
    pub async fn drop(self) -> Result<(), Error> {
        let mut conn = PgConnection::connect_with(&self.admin).await?;
        conn.execute(format!("DROP DATABASE {} WITH (FORCE)", self.name).as_str())
            .await?;
        conn.close().await.ok();
        Ok(())
    }
}
