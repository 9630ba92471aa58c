//! A store wrapper that records every call made through it.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::error::StoreError;
use crate::event::{NewEvent, StoredEvent};
use crate::ids::{CommandId, StreamId, TenantId};
use crate::store::{
    AggregateLoad, AppendOutcome, CommandRecord, EventStore, ExpectedVersion, LogBatch, ReadAll,
    Snapshot,
};

/// Wraps a store and records the name of each [`EventStore`] method called through it, in
/// order, so a test can state what a path costs: one entry is one call to the store (one
/// round trip on PostgreSQL). Every call is passed to the wrapped store as it is.
///
/// ```
/// # use std::sync::Arc;
/// # use acci_core::prelude::*;
/// use acci_core::testing::Counting;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = Arc::new(Counting::new(InMemoryEventStore::new()));
/// let tenant = TenantId::new("acme").unwrap();
/// assert!(store.find_command(&tenant, CommandId::new()).await.unwrap().is_none());
/// assert_eq!(store.take_calls(), ["find_command"]);
/// assert!(store.calls().is_empty());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct Counting<S> {
    inner: S,
    calls: Mutex<Vec<&'static str>>,
}

impl<S: EventStore> Counting<S> {
    /// Wraps `inner`, with no call recorded yet.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            calls: Mutex::new(Vec::new()),
        }
    }

    /// The methods called so far, oldest first.
    pub fn calls(&self) -> Vec<&'static str> {
        self.lock().clone()
    }

    /// The methods called so far, oldest first, forgetting them: the next
    /// [`calls`](Self::calls) starts empty.
    pub fn take_calls(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.lock())
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<&'static str>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, method: &'static str) {
        self.lock().push(method);
    }
}

#[async_trait]
impl<S: EventStore> EventStore for Counting<S> {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<CommandId>,
    ) -> Result<AppendOutcome, StoreError> {
        self.record("append");
        self.inner
            .append(stream, expected, events, command_id)
            .await
    }

    async fn load(
        &self,
        stream: &StreamId,
        from_sequence: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.record("load");
        self.inner.load(stream, from_sequence).await
    }

    async fn load_range(
        &self,
        stream: &StreamId,
        first: u64,
        last: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.record("load_range");
        self.inner.load_range(stream, first, last).await
    }

    async fn load_aggregate(
        &self,
        stream: &StreamId,
        state_version: Option<u64>,
    ) -> Result<AggregateLoad, StoreError> {
        self.record("load_aggregate");
        self.inner.load_aggregate(stream, state_version).await
    }

    async fn read_all(&self, request: &ReadAll) -> Result<LogBatch, StoreError> {
        self.record("read_all");
        self.inner.read_all(request).await
    }

    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        self.record("save_snapshot");
        self.inner.save_snapshot(stream, snapshot).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        self.record("load_snapshot");
        self.inner.load_snapshot(stream).await
    }

    async fn find_command(
        &self,
        tenant: &TenantId,
        command_id: CommandId,
    ) -> Result<Option<CommandRecord>, StoreError> {
        self.record("find_command");
        self.inner.find_command(tenant, command_id).await
    }
}
