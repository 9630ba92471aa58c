//! A store wrapper that stages the races a real deployment has: another writer appending
//! just before ours, and a record of what the command path loaded.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::error::StoreError;
use crate::event::{NewEvent, StoredEvent};
use crate::ids::{CommandId, StreamId, TenantId};
use crate::store::{
    AppendOutcome, CommandRecord, EventStore, ExpectedVersion, LogBatch, ReadAll, Snapshot,
};

/// Wraps a store to test what happens under concurrent writers, deterministically.
///
/// After [`interfere_with_next(n)`](Interfering::interfere_with_next), each of the next
/// `n` appends is preceded by another writer's append of `rival_event()` to the same
/// stream, so the wrapped append meets a concurrency conflict exactly as it would in
/// production. It also records the `from_sequence` of every `load`, so a test can check
/// that a retry reads only the events it missed.
///
/// ```
/// # use std::sync::Arc;
/// # use acci_core::prelude::*;
/// use acci_core::testing::Interfering;
/// # #[event] pub struct Ticked {}
/// let store = Arc::new(Interfering::new(InMemoryEventStore::new(), || {
///     acci_core::NewEvent::from_event(&Ticked {}, Metadata::new()).unwrap()
/// }));
/// store.interfere_with_next(1);
/// ```
pub struct Interfering<S> {
    inner: S,
    rivals: AtomicUsize,
    rival_event: Box<dyn Fn() -> NewEvent + Send + Sync>,
    loads: Mutex<Vec<u64>>,
}

impl<S: EventStore> Interfering<S> {
    /// Wraps `inner`; `rival_event` makes the event another writer slips in.
    pub fn new(inner: S, rival_event: impl Fn() -> NewEvent + Send + Sync + 'static) -> Self {
        Self {
            inner,
            rivals: AtomicUsize::new(0),
            rival_event: Box::new(rival_event),
            loads: Mutex::new(Vec::new()),
        }
    }

    /// Makes the next `count` appends meet a rival write.
    pub fn interfere_with_next(&self, count: usize) {
        self.rivals.store(count, Ordering::SeqCst);
    }

    /// The `from_sequence` of every load so far, oldest first.
    pub fn loads(&self) -> Vec<u64> {
        self.loads.lock().expect("not poisoned").clone()
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

#[async_trait]
impl<S: EventStore> EventStore for Interfering<S> {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<CommandId>,
    ) -> Result<AppendOutcome, StoreError> {
        let interfere = self
            .rivals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if interfere {
            self.inner
                .append(
                    stream,
                    ExpectedVersion::Any,
                    vec![(self.rival_event)()],
                    None,
                )
                .await?;
        }
        self.inner
            .append(stream, expected, events, command_id)
            .await
    }

    async fn load(
        &self,
        stream: &StreamId,
        from_sequence: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.loads.lock().expect("not poisoned").push(from_sequence);
        self.inner.load(stream, from_sequence).await
    }

    async fn read_all(&self, request: &ReadAll) -> Result<LogBatch, StoreError> {
        self.inner.read_all(request).await
    }

    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        self.inner.save_snapshot(stream, snapshot).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        self.inner.load_snapshot(stream).await
    }

    async fn find_command(
        &self,
        tenant: &TenantId,
        command_id: CommandId,
    ) -> Result<Option<CommandRecord>, StoreError> {
        self.inner.find_command(tenant, command_id).await
    }
}
