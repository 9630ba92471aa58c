//! A command as the repository takes it, and what running it did.

use crate::aggregate::Aggregate;
use crate::ids::{AggregateId, CommandId, StreamId, TenantId};
use crate::metadata::Metadata;
use crate::store::LogPosition;

/// A command for one aggregate instance, with the id that makes it idempotent.
#[derive(Debug, Clone)]
pub struct Command<C> {
    /// The tenant the aggregate belongs to.
    pub tenant: TenantId,
    /// The aggregate instance the command is for.
    pub aggregate_id: AggregateId,
    /// Set it to have a repeated command applied once; see
    /// [`Repository::execute`](crate::Repository::execute).
    pub command_id: Option<CommandId>,
    /// Stored with every event the command records. The command id becomes the causation
    /// id unless one is set.
    pub metadata: Metadata,
    /// The command itself.
    pub payload: C,
}

impl<C> Command<C> {
    /// A command for `aggregate_id` of `tenant`, with no command id and empty metadata.
    pub fn new(tenant: TenantId, aggregate_id: AggregateId, payload: C) -> Self {
        Self {
            tenant,
            aggregate_id,
            command_id: None,
            metadata: Metadata::default(),
            payload,
        }
    }

    /// Sets the command id.
    pub fn with_id(mut self, command_id: CommandId) -> Self {
        self.command_id = Some(command_id);
        self
    }

    /// Sets the metadata.
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// The metadata its events are stored with: the command's, with the command id as the
    /// causation id unless one is set (and, with the `opentelemetry` feature, the current
    /// span's trace context unless one is set).
    pub(crate) fn event_metadata(&self) -> Metadata {
        let mut metadata = self.metadata.clone();
        if let (None, Some(id)) = (metadata.causation_id, self.command_id) {
            metadata.causation_id = Some(id.as_uuid());
        }
        #[cfg(feature = "opentelemetry")]
        if metadata.trace_context().is_none() {
            if let Some(context) = crate::observability::otel::current() {
                context.write_to(&mut metadata);
            }
        }
        metadata
    }
}

/// What a command did.
///
/// `Debug` and `Clone` hold for every aggregate: they need only the event enum's, which
/// the derive always provides.
pub struct CommandOutcome<A: Aggregate> {
    /// The stream the command went to.
    pub stream: StreamId,
    /// The events it recorded (for a repeated command: the ones the first run recorded).
    pub events: Vec<A::Event>,
    /// The stream's version right after the command's events.
    pub version: u64,
    /// The log position of its last event; `None` when it recorded nothing.
    pub position: Option<LogPosition>,
    /// Whether the command id had been applied before, so this is the first outcome.
    pub duplicate: bool,
    /// How many attempts it took (more than 1 after concurrency conflicts).
    pub attempts: u32,
    /// The version of the snapshot this command wrote, if it crossed `snapshot_every`.
    pub snapshot_taken: Option<u64>,
}

impl<A: Aggregate> Clone for CommandOutcome<A> {
    fn clone(&self) -> Self {
        Self {
            stream: self.stream.clone(),
            events: self.events.clone(),
            version: self.version,
            position: self.position,
            duplicate: self.duplicate,
            attempts: self.attempts,
            snapshot_taken: self.snapshot_taken,
        }
    }
}

impl<A: Aggregate> std::fmt::Debug for CommandOutcome<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandOutcome")
            .field("stream", &self.stream)
            .field("events", &self.events)
            .field("version", &self.version)
            .field("position", &self.position)
            .field("duplicate", &self.duplicate)
            .field("attempts", &self.attempts)
            .field("snapshot_taken", &self.snapshot_taken)
            .finish()
    }
}
