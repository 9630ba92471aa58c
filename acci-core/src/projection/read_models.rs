//! [`InMemoryReadModels`]: the read-model queries of [`InMemoryProjection`]s, behind the
//! same [`ReadModels`](crate::query::ReadModels) trait as PostgreSQL's.

use std::sync::{PoisonError, RwLock};

use crate::authorization::{Caller, QueryGuard, QueryKind};
use crate::ids::TenantId;
use crate::observability::observe_query;
use crate::projection::Projection;

use super::memory::InMemoryProjection;

/// In-memory read models behind the [`ReadModels`](crate::query::ReadModels) trait, so
/// query handlers and the finders `#[projection]` generates run in tests without a
/// database. Register each [`InMemoryProjection`] once; queries for a projection that was
/// not registered answer [`QueryError::Projection`](crate::query::QueryError::Projection),
/// as a missing table does on PostgreSQL.
///
/// Like `PgReadModels`, it asks a [`QueryAuthorizer`](crate::authorization::QueryAuthorizer)
/// about each query first, if one is set ([`with_authorizer`](Self::with_authorizer)),
/// on behalf of the caller it is bound to ([`for_caller`](Self::for_caller)). Clones
/// share the registered projections.
#[derive(Debug, Default, Clone)]
pub struct InMemoryReadModels {
    models: std::sync::Arc<
        RwLock<
            std::collections::HashMap<
                std::any::TypeId,
                std::sync::Arc<dyn std::any::Any + Send + Sync>,
            >,
        >,
    >,
    guard: QueryGuard,
}

impl InMemoryReadModels {
    /// No read models yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks `authorizer` about every query before it reads; a denial is
    /// [`QueryError::Unauthorized`](crate::query::QueryError::Unauthorized).
    pub fn with_authorizer(
        mut self,
        authorizer: std::sync::Arc<dyn crate::authorization::QueryAuthorizer>,
    ) -> Self {
        self.guard = self.guard.with_authorizer(authorizer);
        self
    }

    /// Hands the audit records of denied queries to `audit` instead of `tracing`.
    pub fn with_audit(
        mut self,
        audit: std::sync::Arc<dyn crate::authorization::AuditSink>,
    ) -> Self {
        self.guard = self.guard.with_audit(audit);
        self
    }

    /// The same read models (a clone sharing the projections), asking on behalf of
    /// `caller`.
    pub fn for_caller(&self, caller: Caller) -> Self {
        Self {
            models: std::sync::Arc::clone(&self.models),
            guard: self.guard.for_caller(caller),
        }
    }

    /// Makes `projection` answer the queries for `P`.
    pub fn register<P: Projection>(&self, projection: std::sync::Arc<InMemoryProjection<P>>) {
        self.models
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(std::any::TypeId::of::<P>(), projection);
    }

    fn model<P: Projection>(
        &self,
    ) -> Result<std::sync::Arc<InMemoryProjection<P>>, crate::query::QueryError> {
        let found = self
            .models
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&std::any::TypeId::of::<P>())
            .cloned();
        found
            .and_then(|model| model.downcast::<InMemoryProjection<P>>().ok())
            .ok_or_else(|| crate::query::QueryError::Projection {
                projection: P::NAME.to_owned(),
                reason: "it is not registered with these read models".to_owned(),
            })
    }
}

#[async_trait::async_trait]
impl crate::query::ReadModels for InMemoryReadModels {
    async fn get<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        key: &P::Key,
    ) -> Result<Option<P>, crate::query::QueryError> {
        observe_query(P::NAME, "get", tenant, async {
            self.guard.check::<P>(QueryKind::Get).await?;
            crate::query::check_tenant::<P>(tenant)?;
            check_key::<P>(key)?;
            Ok(self.model::<P>()?.get(tenant, key))
        })
        .await
    }

    async fn page<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        after: Option<&P::Key>,
        limit: usize,
    ) -> Result<Vec<P>, crate::query::QueryError> {
        observe_query(P::NAME, "page", tenant, async {
            self.guard.check::<P>(QueryKind::Page).await?;
            crate::query::check_tenant::<P>(tenant)?;
            crate::query::validate_limit(limit)?;
            if let Some(after) = after {
                check_key::<P>(after)?;
            }
            let model = self.model::<P>()?;
            let state = model.read();
            let tenant = tenant.cloned();
            let rows = state
                .rows
                .iter()
                .filter(|((owner, key), _)| {
                    *owner == tenant && after.is_none_or(|after| key > after)
                })
                .map(|(_, row)| row.clone())
                .take(limit)
                .collect();
            Ok(rows)
        })
        .await
    }

    async fn find_by<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        column: &str,
        value: &serde_json::Value,
        limit: usize,
    ) -> Result<Vec<P>, crate::query::QueryError> {
        observe_query(P::NAME, "find_by", tenant, async {
            let query = QueryKind::FindBy {
                column: column.to_owned(),
            };
            self.guard.check::<P>(query).await?;
            crate::query::check_tenant::<P>(tenant)?;
            crate::query::validate_limit(limit)?;
            if !P::TABLE.is_indexed(column) {
                return Err(crate::error::ValidationError::new(
                    format!("column `{column}` of `{}`", P::NAME),
                    "has no index to find by",
                )
                .into());
            }
            crate::store::check_json(&format!("value to find `{column}` by"), value)?;
            let model = self.model::<P>()?;
            if value.is_null() {
                // As in SQL, where `column = NULL` matches nothing.
                return Ok(Vec::new());
            }
            let state = model.read();
            let tenant = tenant.cloned();
            let mut found = Vec::new();
            for ((owner, _), row) in &state.rows {
                if *owner != tenant {
                    continue;
                }
                // Rows serialize with their column names, as they are stored on PostgreSQL.
                let json =
                    serde_json::to_value(row).map_err(|e| crate::query::QueryError::ReadModel {
                        message: format!("a row of `{}` did not serialize: {e}", P::NAME),
                        retryable: false,
                    })?;
                if json.get(column) == Some(value) {
                    found.push(row.clone());
                    if found.len() == limit {
                        break;
                    }
                }
            }
            Ok(found)
        })
        .await
    }
}

/// Refuses a key that PostgreSQL could not hold (a NUL in a string), as its read models do.
fn check_key<P: Projection>(key: &P::Key) -> Result<(), crate::query::QueryError> {
    if let Ok(key) = serde_json::to_value(key) {
        crate::store::check_json(&format!("key of `{}`", P::NAME), &key)?;
    }
    Ok(())
}

impl crate::query::GuardedReadModels for InMemoryReadModels {
    fn guard(&self) -> &QueryGuard {
        &self.guard
    }

    fn for_caller(&self, caller: Caller) -> Self {
        InMemoryReadModels::for_caller(self, caller)
    }
}
