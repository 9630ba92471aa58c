//! [`TenantBound`]: a store that serves one tenant and refuses every call for another.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::event::{NewEvent, StoredEvent};
use crate::ids::{CommandId, StreamId, TenantId};
use crate::store::{
    AggregateLoad, AppendOutcome, CommandRecord, EventStore, ExpectedVersion, LogBatch, ReadAll,
    Snapshot, TenantScope,
};

/// An [`EventStore`] bound to one tenant: every call naming another tenant (or, for
/// [`read_all`](EventStore::read_all), every tenant) fails with
/// [`StoreError::WrongTenant`] before any I/O; the rest goes to the store inside.
///
/// This is the store a request handler holds: the handler of a request for tenant A
/// gets `TenantBound::new(store, A)` (`PgEventStore::for_tenant(A)` in acci-postgres),
/// so application code that passes the wrong tenant to a store call is caught in Rust,
/// and, on PostgreSQL, again by the store's SQL functions (see `docs/security.md`).
/// Projection runners and other all-tenant readers use the unbound store.
#[derive(Debug, Clone)]
pub struct TenantBound<S> {
    store: S,
    tenant: TenantId,
}

impl<S: EventStore> TenantBound<S> {
    /// Binds `store` to `tenant`.
    pub fn new(store: S, tenant: TenantId) -> Self {
        Self { store, tenant }
    }

    /// The tenant this store serves.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The store inside, unbound.
    pub fn inner(&self) -> &S {
        &self.store
    }

    /// Refuses a call for `asked` unless it is this store's tenant.
    fn check(&self, asked: Option<&TenantId>) -> Result<(), StoreError> {
        match asked {
            Some(asked) if *asked == self.tenant => Ok(()),
            _ => Err(StoreError::WrongTenant {
                bound: Some(self.tenant.as_str().to_owned()),
                asked: asked.map(|t| t.as_str().to_owned()),
            }),
        }
    }
}

#[async_trait]
impl<S: EventStore> EventStore for TenantBound<S> {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<CommandId>,
    ) -> Result<AppendOutcome, StoreError> {
        self.check(Some(&stream.tenant))?;
        self.store
            .append(stream, expected, events, command_id)
            .await
    }

    async fn load(
        &self,
        stream: &StreamId,
        from_sequence: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.check(Some(&stream.tenant))?;
        self.store.load(stream, from_sequence).await
    }

    async fn load_range(
        &self,
        stream: &StreamId,
        first: u64,
        last: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.check(Some(&stream.tenant))?;
        self.store.load_range(stream, first, last).await
    }

    async fn load_aggregate(
        &self,
        stream: &StreamId,
        state_version: Option<u64>,
    ) -> Result<AggregateLoad, StoreError> {
        self.check(Some(&stream.tenant))?;
        self.store.load_aggregate(stream, state_version).await
    }

    async fn read_all(&self, request: &ReadAll) -> Result<LogBatch, StoreError> {
        match &request.scope {
            TenantScope::Tenant(tenant) => self.check(Some(tenant))?,
            TenantScope::AllTenants => self.check(None)?,
        }
        self.store.read_all(request).await
    }

    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        self.check(Some(&stream.tenant))?;
        self.store.save_snapshot(stream, snapshot).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        self.check(Some(&stream.tenant))?;
        self.store.load_snapshot(stream).await
    }

    async fn find_command(
        &self,
        tenant: &TenantId,
        command_id: CommandId,
    ) -> Result<Option<CommandRecord>, StoreError> {
        self.check(Some(tenant))?;
        self.store.find_command(tenant, command_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AggregateId;
    use crate::store::InMemoryEventStore;

    fn stream(tenant: &str) -> StreamId {
        StreamId::new(
            TenantId::new(tenant).unwrap(),
            "Account",
            AggregateId::new("acc").unwrap(),
        )
        .unwrap()
    }

    fn event() -> NewEvent {
        NewEvent {
            event_id: crate::ids::EventId::new(),
            event_type: "Opened".into(),
            schema_version: 1,
            payload: serde_json::json!({}),
            metadata: crate::metadata::Metadata::default(),
        }
    }

    #[tokio::test]
    async fn a_bound_store_serves_its_tenant_and_refuses_others() {
        let store = TenantBound::new(InMemoryEventStore::new(), TenantId::new("a").unwrap());
        store
            .append(&stream("a"), ExpectedVersion::NoStream, vec![event()], None)
            .await
            .unwrap();
        assert_eq!(store.load(&stream("a"), 1).await.unwrap().len(), 1);
        let refused = store
            .append(&stream("b"), ExpectedVersion::Any, vec![event()], None)
            .await;
        assert!(matches!(
            refused,
            Err(StoreError::WrongTenant { ref bound, ref asked })
                if bound.as_deref() == Some("a") && asked.as_deref() == Some("b")
        ));
        assert!(
            store
                .inner()
                .load(&stream("b"), 1)
                .await
                .unwrap()
                .is_empty()
        );
        let all = store.read_all(&ReadAll::new(TenantScope::AllTenants)).await;
        assert!(matches!(
            all,
            Err(StoreError::WrongTenant { asked: None, .. })
        ));
        assert_eq!(
            all.unwrap_err().to_string(),
            "this store is bound to tenant `a`, but the call asked for every tenant"
        );
    }
}
