//! A store wrapper that lets tests stage the races a real deployment has: another writer
//! appending just before ours, and a record of what the command path loaded.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use acci_core::{
    AppendOutcome, CommandId, CommandRecord, EventStore, ExpectedVersion, LogBatch, NewEvent,
    ReadAll, Snapshot, StoreError, StoredEvent, StreamId, TenantId,
};
use async_trait::async_trait;

/// Wraps a store. Before each of the next `rivals` appends, it appends `rival_event()` to
/// the same stream first, so the wrapped append meets a concurrency conflict. It also
/// records the `from_sequence` of every `load`.
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
