//! The tenant export format: JSON lines, a header, one line per event in global order, a
//! trailer with the count and a SHA-256 of every line before it.

use acci_core::{LogPosition, Metadata, StoredEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `format` of every export's header.
pub const FORMAT: &str = "acci-tenant-export";

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    /// The first line.
    Header(Header),
    /// One event, in global order.
    Event(ExportedEvent),
    /// The last line.
    Trailer(Trailer),
}

/// What an export holds: its format, its tenant, where its cut of the log is, and the
/// event catalogue of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version, [`FORMAT_VERSION`] when this build wrote it.
    pub format_version: u32,
    /// The tenant exported.
    pub tenant: String,
    /// When the export began.
    pub exported_at: DateTime<Utc>,
    /// The log position the export is a cut at: every event of the tenant at or before
    /// it, nothing after.
    pub cut: LogPosition,
    /// Every (aggregate type, event type, schema version) among the events, with how
    /// many events of it the export holds.
    pub catalog: Vec<CatalogEntry>,
}

/// One kind of event in an export, at one schema version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// The aggregate type of its streams.
    pub aggregate_type: String,
    /// The stored event type.
    pub event_type: String,
    /// The schema version of its payloads.
    pub schema_version: u32,
    /// How many events of it the export holds.
    pub events: u64,
}

/// One event as exported: its stream, place, identity, content and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedEvent {
    /// Its id, kept by an import.
    pub event_id: uuid::Uuid,
    /// Its stream's aggregate type.
    pub aggregate_type: String,
    /// Its stream's aggregate id.
    pub aggregate_id: String,
    /// Its sequence number in the stream, kept by an import.
    pub sequence: u64,
    /// The stored event type.
    pub event_type: String,
    /// The payload's schema version.
    pub schema_version: u32,
    /// The payload, as stored (not upcast).
    pub payload: serde_json::Value,
    /// Its metadata.
    pub metadata: Metadata,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Its position in the exporting store's log (an import gets positions of its own).
    pub position: LogPosition,
}

impl From<&StoredEvent> for ExportedEvent {
    fn from(event: &StoredEvent) -> Self {
        Self {
            event_id: event.event_id.as_uuid(),
            aggregate_type: event.stream.aggregate_type.to_string(),
            aggregate_id: event.stream.aggregate_id.to_string(),
            sequence: event.sequence,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            payload: event.data.clone(),
            metadata: event.metadata.clone(),
            recorded_at: event.recorded_at,
            position: event.position,
        }
    }
}

/// The last line: the count of event lines and the SHA-256 of every byte before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    /// How many event lines the export holds.
    pub events: u64,
    /// The SHA-256, lowercase hex, of every line before the trailer, each with its `\n`.
    pub sha256: String,
}

/// The running digest of an export's lines.
#[derive(Debug, Default, Clone)]
pub(crate) struct Digest256(Sha256);

impl Digest256 {
    pub(crate) fn line(&mut self, line: &[u8]) {
        self.0.update(line);
        self.0.update(b"\n");
    }

    pub(crate) fn hex(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}
