//! [`PgReadModels`]: the query side on PostgreSQL.

use std::str::FromStr;
use std::sync::Arc;

use acci_core::Projection;
use acci_core::authorization::{AuditSink, Caller, QueryAuthorizer, QueryGuard, QueryKind};
use acci_core::observability::observe_query;
use acci_core::query::{QueryError, ReadModels, validate_limit};
use acci_core::{StoreError, ValidationError};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::statements::{key_object, statements};
use crate::error::is_retryable;

/// Reads read models on PostgreSQL with the SQL `#[projection]` generated.
///
/// Its connections look up tables in the `read_models` schema first, so build it with
/// [`connect`](Self::connect) or [`connect_with`](Self::connect_with); a pool of your own
/// must set `search_path` to `read_models` itself. The application role (`acci_app`)
/// may read every read model.
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

/// Turns the `to_jsonb` rows of a query into `P`s.
fn decode_rows<P: Projection>(
    found: Result<Vec<Value>, sqlx::Error>,
) -> Result<Vec<P>, QueryError> {
    let found = found.map_err(|e| read_model_error::<P>(&e))?;
    found
        .into_iter()
        .map(|json| {
            serde_json::from_value(json).map_err(|e| QueryError::ReadModel {
                message: format!("a row of `{}` does not match its struct: {e}", P::NAME),
                retryable: false,
            })
        })
        .collect()
}

fn read_model_error<P: Projection>(error: &sqlx::Error) -> QueryError {
    if let sqlx::Error::Database(db) = error {
        if db.code().as_deref() == Some("42P01") {
            return QueryError::Projection {
                projection: P::NAME.to_owned(),
                reason: "its table does not exist yet; start its runner".to_owned(),
            };
        }
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

fn key_param<P: Projection>(key: &P::Key) -> Result<Value, QueryError> {
    let key = key_object::<P>(key).map_err(|message| QueryError::ReadModel {
        message,
        retryable: false,
    })?;
    // Before any I/O: a key PostgreSQL cannot hold (a NUL in a string) is the caller's.
    acci_core::check_json(&format!("key of `{}`", P::NAME), &key)?;
    Ok(key)
}

#[async_trait]
impl ReadModels for PgReadModels {
    async fn get<P: Projection>(&self, key: &P::Key) -> Result<Option<P>, QueryError> {
        let tenant = self.guard.caller().tenant.as_ref();
        observe_query(P::NAME, "get", tenant, async {
            self.guard.check::<P>(QueryKind::Get).await?;
            let keys = Value::Array(vec![key_param::<P>(key)?]);
            let found = sqlx::query_scalar(&sql::<P>()?.select_by_keys)
                .bind(keys)
                .fetch_all(&self.pool)
                .await;
            Ok(decode_rows::<P>(found)?.into_iter().next())
        })
        .await
    }

    async fn page<P: Projection>(
        &self,
        after: Option<&P::Key>,
        limit: usize,
    ) -> Result<Vec<P>, QueryError> {
        let tenant = self.guard.caller().tenant.as_ref();
        observe_query(P::NAME, "page", tenant, async {
            self.guard.check::<P>(QueryKind::Page).await?;
            validate_limit(limit)?;
            let after = after.map(key_param::<P>).transpose()?;
            let found = sqlx::query_scalar(&sql::<P>()?.select_page)
                .bind(limit as i64)
                .bind(after)
                .fetch_all(&self.pool)
                .await;
            decode_rows::<P>(found)
        })
        .await
    }

    async fn find_by<P: Projection>(
        &self,
        column: &str,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<P>, QueryError> {
        let tenant = self.guard.caller().tenant.as_ref();
        observe_query(P::NAME, "find_by", tenant, async {
            let query = QueryKind::FindBy {
                column: column.to_owned(),
            };
            self.guard.check::<P>(query).await?;
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
            let found = sqlx::query_scalar(finder)
                .bind(Value::Object(probe))
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await;
            decode_rows::<P>(found)
        })
        .await
    }
}
