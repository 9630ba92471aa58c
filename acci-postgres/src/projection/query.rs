//! [`PgReadModels`]: the query side on PostgreSQL.

use std::str::FromStr;
use std::sync::Arc;

use acci_core::Projection;
use acci_core::authorization::{AuditSink, Caller, QueryAuthorizer, QueryGuard, QueryKind};
use acci_core::observability::observe_query;
use acci_core::query::{GuardedReadModels, QueryError, ReadModels, check_tenant, validate_limit};
use acci_core::{StoreError, TenantId, ValidationError};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::statements::{key_object, split_row, statements};
use crate::error::is_retryable;

/// Reads read models on PostgreSQL with the SQL `#[projection]` generated.
///
/// Its connections look up tables in the `read_models` schema first, so build it with
/// [`connect`](Self::connect) or [`connect_with`](Self::connect_with); a pool of your own
/// must set `search_path` to `read_models` itself. The application role (`acci_app`)
/// may read every read model, each tenant-scoped one a tenant at a time: every query of
/// one binds its tenant to the session (`acci.tenant_id`, for its transaction only) and
/// names it in its SQL, so row-level security keeps other tenants' rows out even of a
/// statement that forgot its filter.
///
/// With an authorizer ([`with_authorizer`](Self::with_authorizer)), each query is first
/// put to it on behalf of the caller the read models are bound to
/// ([`for_caller`](Self::for_caller)), before a connection is taken: a denial is
/// [`QueryError::Unauthorized`]. Clones share the pool.
#[derive(Debug, Clone)]
pub struct PgReadModels {
    pool: PgPool,
    guard: QueryGuard,
}

impl PgReadModels {
    /// Connects a pool of up to 8 connections to `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| crate::error::store_error(e, "reading the database URL"))?;
        Self::connect_with(options).await
    }

    /// Connects a pool of up to 8 connections with `options`.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let options = options.options([("search_path", super::READ_MODEL_SCHEMA)]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| crate::error::store_error(e, "connecting to PostgreSQL"))?;
        Ok(Self::from_pool(pool))
    }

    /// Uses a pool whose connections have `search_path` set to `read_models`.
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            guard: QueryGuard::new(),
        }
    }

    /// Asks `authorizer` about every query before it reads.
    pub fn with_authorizer(mut self, authorizer: Arc<dyn QueryAuthorizer>) -> Self {
        self.guard = self.guard.with_authorizer(authorizer);
        self
    }

    /// Hands the audit records of denied queries to `audit` instead of `tracing`.
    pub fn with_audit(mut self, audit: Arc<dyn AuditSink>) -> Self {
        self.guard = self.guard.with_audit(audit);
        self
    }

    /// The same read models (a clone sharing the pool), asking on behalf of `caller`.
    pub fn for_caller(&self, caller: Caller) -> Self {
        Self {
            pool: self.pool.clone(),
            guard: self.guard.for_caller(caller),
        }
    }
}

/// Turns the `to_jsonb` rows of a query into `P`s, without their tenant column.
fn decode_rows<P: Projection>(
    found: Result<Vec<Value>, sqlx::Error>,
) -> Result<Vec<P>, QueryError> {
    let found = found.map_err(|e| read_model_error::<P>(&e))?;
    found
        .into_iter()
        .map(|json| {
            split_row::<P>(json)
                .map(|(_, row)| row)
                .map_err(|message| QueryError::ReadModel {
                    message,
                    retryable: false,
                })
        })
        .collect()
}

fn read_model_error<P: Projection>(error: &sqlx::Error) -> QueryError {
    if let sqlx::Error::Database(db) = error
        && db.code().as_deref() == Some("42P01")
    {
        return QueryError::Projection {
            projection: P::NAME.to_owned(),
            reason: "its table does not exist yet; start its runner".to_owned(),
        };
    }
    QueryError::ReadModel {
        message: format!("reading `{}`: {error}", P::NAME),
        retryable: is_retryable(error),
    }
}

/// The statements of `P`'s table, or why it has none.
fn sql<P: Projection>() -> Result<&'static acci_schema::postgres::TableSql, QueryError> {
    statements::<P>().map_err(|reason| QueryError::Projection {
        projection: P::NAME.to_owned(),
        reason,
    })
}

fn key_param<P: Projection>(tenant: Option<&TenantId>, key: &P::Key) -> Result<Value, QueryError> {
    let key = key_object::<P>(tenant, key).map_err(|message| QueryError::ReadModel {
        message,
        retryable: false,
    })?;
    // Before any I/O: a key PostgreSQL cannot hold (a NUL in a string) is the caller's.
    acci_core::check_json(&format!("key of `{}`", P::NAME), &key)?;
    Ok(key)
}

impl PgReadModels {
    /// Runs `query` (built on the statement `sql`), binding `tenant` to the session for
    /// its transaction when there is one: row-level security then admits only its rows.
    async fn fetch<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        query: sqlx::query::QueryScalar<'_, sqlx::Postgres, Value, sqlx::postgres::PgArguments>,
    ) -> Result<Vec<P>, QueryError> {
        let Some(tenant) = tenant else {
            return decode_rows::<P>(query.fetch_all(&self.pool).await);
        };
        let found = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT set_config('acci.tenant_id', $1, true)")
                .bind(tenant.as_str())
                .execute(&mut *tx)
                .await?;
            let found = query.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok(found)
        }
        .await;
        decode_rows::<P>(found)
    }
}

#[async_trait]
impl ReadModels for PgReadModels {
    async fn get<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        key: &P::Key,
    ) -> Result<Option<P>, QueryError> {
        observe_query(P::NAME, "get", tenant, async {
            self.guard.check::<P>(QueryKind::Get).await?;
            check_tenant::<P>(tenant)?;
            let keys = Value::Array(vec![key_param::<P>(tenant, key)?]);
            let query = sqlx::query_scalar(&sql::<P>()?.select_by_keys).bind(keys);
            Ok(self.fetch::<P>(tenant, query).await?.into_iter().next())
        })
        .await
    }

    async fn page<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        after: Option<&P::Key>,
        limit: usize,
    ) -> Result<Vec<P>, QueryError> {
        observe_query(P::NAME, "page", tenant, async {
            self.guard.check::<P>(QueryKind::Page).await?;
            check_tenant::<P>(tenant)?;
            validate_limit(limit)?;
            // The key object `after` carries the tenant too; the statement reads only the key columns.
            let after = after.map(|key| key_param::<P>(tenant, key)).transpose()?;
            let mut query = sqlx::query_scalar(&sql::<P>()?.select_page)
                .bind(limit as i64)
                .bind(after);
            if let Some(tenant) = tenant {
                query = query.bind(tenant.as_str().to_owned());
            }
            self.fetch::<P>(tenant, query).await
        })
        .await
    }

    async fn find_by<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        column: &str,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<P>, QueryError> {
        observe_query(P::NAME, "find_by", tenant, async {
            let query = QueryKind::FindBy {
                column: column.to_owned(),
            };
            self.guard.check::<P>(query).await?;
            check_tenant::<P>(tenant)?;
            validate_limit(limit)?;
            let finder = sql::<P>()?.finder(column).ok_or_else(|| {
                let indexed: Vec<String> = P::TABLE
                    .indexed_columns()
                    .map(|c| format!("`{}`", c.column))
                    .collect();
                ValidationError::new(
                    format!("column `{column}` of `{}`", P::NAME),
                    format!(
                        "has no index to find by; indexed columns: {}",
                        if indexed.is_empty() {
                            "none".to_owned()
                        } else {
                            indexed.join(", ")
                        }
                    ),
                )
            })?;
            acci_core::check_json(&format!("value to find `{column}` by"), value)?;
            let mut probe = serde_json::Map::new();
            probe.insert(column.to_owned(), value.clone());
            let mut query = sqlx::query_scalar(finder)
                .bind(Value::Object(probe))
                .bind(limit as i64);
            if let Some(tenant) = tenant {
                query = query.bind(tenant.as_str().to_owned());
            }
            self.fetch::<P>(tenant, query).await
        })
        .await
    }
}

impl GuardedReadModels for PgReadModels {
    fn guard(&self) -> &QueryGuard {
        &self.guard
    }

    fn for_caller(&self, caller: Caller) -> Self {
        PgReadModels::for_caller(self, caller)
    }
}
