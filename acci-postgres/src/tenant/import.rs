//! Importing a tenant export: checked whole first, then appended stream by stream,
//! keeping sequences, adding nothing that is there already.

use std::collections::HashMap;
use std::path::Path;

use acci_core::{
    AggregateId, EventId, EventStore, ExpectedVersion, MAX_EVENTS_PER_APPEND, NewEvent, StoreError,
    StreamId, TenantId, ValidationError,
};
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::error::TenantError;
use super::format::{Digest256, ExportedEvent, FORMAT, FORMAT_VERSION, Header, Line, Trailer};
use crate::PgEventStore;

/// What an import does with the exported event ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EventIds {
    /// Keep them: into another database, where they are free. An id another stream of
    /// the store holds stops the import with an error naming it.
    #[default]
    Keep,
    /// Derive new ones from the target tenant and the exported id (UUID v5), the same
    /// every time: for an import under another tenant id into the same database, where
    /// the exported ids are taken (event ids are unique across a store).
    Derive,
}

/// How to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The tenant to import as; the export's own when `None`.
    pub tenant: Option<TenantId>,
    /// What to do with the event ids.
    pub event_ids: EventIds,
    /// Events read before they are appended, stream by stream: what the import holds in
    /// memory.
    pub buffer: usize,
    /// Streams appended at once; their appends travel together (the store's group
    /// commit).
    pub concurrency: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            tenant: None,
            event_ids: EventIds::Keep,
            buffer: 10_000,
            concurrency: 16,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// The export's header.
    pub header: Header,
    /// The tenant it imported as.
    pub tenant: TenantId,
    /// Events in the export.
    pub events: u64,
    /// Events appended now.
    pub appended: u64,
    /// Events the store held already (an import run before).
    pub present: u64,
    /// Streams in the export.
    pub streams: u64,
}

/// Reads the export at `path` through once and checks it whole: the header's format and
/// version, every line's shape, each stream's sequences from 1 without a gap, the
/// trailer's count and SHA-256. Returns the header and the trailer; nothing is written.
pub async fn read_export(path: &Path) -> Result<(Header, Trailer), TenantError> {
    let mut lines = open(path).await?;
    let mut digest = Digest256::default();
    let (header, mut n) = header(&mut lines, &mut digest).await?;
    let mut sequences: HashMap<(String, String), u64> = HashMap::new();
    let mut events = 0u64;
    loop {
        n += 1;
        let Some(text) = lines.next_line().await? else {
            return Err(format_error(
                n,
                "the export ends without its trailer: it is cut short",
            ));
        };
        match parse(&text, n)? {
            Line::Event(event) => {
                digest.line(text.as_bytes());
                let key = (event.aggregate_type.clone(), event.aggregate_id.clone());
                let last = sequences.entry(key).or_insert(0);
                if event.sequence != *last + 1 {
                    return Err(format_error(
                        n,
                        format!(
                            "stream {}/{} goes from sequence {} to {}",
                            event.aggregate_type, event.aggregate_id, last, event.sequence
                        ),
                    ));
                }
                *last = event.sequence;
                events += 1;
            }
            Line::Trailer(trailer) => {
                let sha256 = digest.hex();
                if trailer.events != events || trailer.sha256 != sha256 {
                    return Err(format_error(
                        n,
                        format!(
                            "the trailer counts {} events with SHA-256 {}; the export holds {events} with {sha256}",
                            trailer.events, trailer.sha256
                        ),
                    ));
                }
                let counted: u64 = header.catalog.iter().map(|entry| entry.events).sum();
                if counted != events {
                    return Err(format_error(
                        1,
                        format!("the catalogue counts {counted} events; the export holds {events}"),
                    ));
                }
                if lines
                    .next_line()
                    .await?
                    .is_some_and(|rest| !rest.is_empty())
                {
                    return Err(format_error(n + 1, "a line after the trailer"));
                }
                return Ok((header, trailer));
            }
            Line::Header(_) => return Err(format_error(n, "a second header")),
        }
    }
}

/// Imports the export at `path` into `store` (a role in `acci_app`): first checks it
/// whole ([`read_export`]), so a damaged or cut-short file adds nothing; then appends
/// each stream's events at their sequences, under `options.tenant` if given. Each append
/// expects the stream at the version before its first event, so an event already there
/// (an import run before, or cut off midway) is recognized by its id and not added
/// again, and one of another id at its place is an error. Rebuild the tenant's
/// projections afterwards; they see the imported events as new ones.
///
/// Recorded times are the import's (the store stamps every append); the exported ones
/// stay in the export.
pub async fn import_tenant(
    store: &PgEventStore,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportSummary, TenantError> {
    if options.buffer == 0 || options.concurrency == 0 {
        return Err(
            ValidationError::new("import buffer and concurrency", "must be at least 1").into(),
        );
    }
    let (header, trailer) = read_export(path).await?;
    let tenant = match &options.tenant {
        Some(tenant) => tenant.clone(),
        None => TenantId::new(&header.tenant)?,
    };
    let mut summary = ImportSummary {
        header,
        tenant: tenant.clone(),
        events: trailer.events,
        appended: 0,
        present: 0,
        streams: 0,
    };
    let mut lines = open(path).await?;
    lines.next_line().await?;
    let mut buffer = Buffer::default();
    let mut seen = std::collections::HashSet::new();
    let mut n = 1;
    while let Some(text) = lines.next_line().await? {
        n += 1;
        let Line::Event(event) = parse(&text, n)? else {
            break;
        };
        let stream = StreamId::new(
            tenant.clone(),
            &event.aggregate_type,
            AggregateId::new(&event.aggregate_id)?,
        )?;
        if seen.insert(stream.clone()) {
            summary.streams += 1;
        }
        buffer.push(
            stream,
            new_event(&event, &tenant, options.event_ids),
            event.sequence,
        );
        if buffer.len >= options.buffer {
            buffer
                .flush(store, options.concurrency, &mut summary)
                .await?;
        }
    }
    buffer
        .flush(store, options.concurrency, &mut summary)
        .await?;
    Ok(summary)
}

/// Events read and not yet appended, by stream in the order streams first appeared.
#[derive(Default)]
struct Buffer {
    streams: Vec<(StreamId, u64, Vec<NewEvent>)>,
    index: HashMap<StreamId, usize>,
    len: usize,
}

impl Buffer {
    fn push(&mut self, stream: StreamId, event: NewEvent, sequence: u64) {
        let at = *self.index.entry(stream.clone()).or_insert_with(|| {
            self.streams.push((stream, sequence, Vec::new()));
            self.streams.len() - 1
        });
        self.streams[at].2.push(event);
        self.len += 1;
    }

    /// Appends every stream's events, `concurrency` streams at once.
    async fn flush(
        &mut self,
        store: &PgEventStore,
        concurrency: usize,
        summary: &mut ImportSummary,
    ) -> Result<(), TenantError> {
        let streams = std::mem::take(&mut self.streams);
        self.index.clear();
        self.len = 0;
        let mut results = futures_util::stream::iter(streams)
            .map(|(stream, first, events)| async move {
                append_stream(store, &stream, first, events).await
            })
            .buffer_unordered(concurrency);
        while let Some(result) = results.next().await {
            let (appended, present) = result?;
            summary.appended += appended;
            summary.present += present;
        }
        Ok(())
    }
}

/// Appends `events`, the sequences from `first` on, to `stream`; returns how many were
/// appended and how many were there already.
async fn append_stream(
    store: &PgEventStore,
    stream: &StreamId,
    first: u64,
    events: Vec<NewEvent>,
) -> Result<(u64, u64), TenantError> {
    let (mut appended, mut present) = (0, 0);
    let mut next = first;
    let mut rest = events.as_slice();
    while !rest.is_empty() {
        let chunk = &rest[..rest.len().min(MAX_EVENTS_PER_APPEND)];
        let last = next + chunk.len() as u64 - 1;
        match store
            .append(
                stream,
                ExpectedVersion::Exactly(next - 1),
                chunk.to_vec(),
                None,
            )
            .await
        {
            Ok(_) => {
                appended += chunk.len() as u64;
                rest = &rest[chunk.len()..];
                next = last + 1;
            }
            Err(StoreError::Conflict(conflict)) if conflict.actual >= next => {
                // There already, up to `actual`: the same events, or the export and the
                // store disagree.
                let upto = conflict.actual.min(last);
                let stored = store.load_range(stream, next, upto).await?;
                for (stored, exported) in stored.iter().zip(chunk) {
                    if stored.event_id != exported.event_id {
                        return Err(TenantError::Changed(format!(
                            "stream {stream} holds event {} at sequence {}, the export {}",
                            stored.event_id, stored.sequence, exported.event_id
                        )));
                    }
                }
                let held = upto - next + 1;
                present += held;
                rest = &rest[held as usize..];
                next = upto + 1;
            }
            Err(StoreError::Conflict(conflict)) => {
                return Err(TenantError::Changed(format!(
                    "stream {stream} is at version {}, the export continues it at {next}",
                    conflict.actual
                )));
            }
            Err(StoreError::DuplicateEventId(id)) => {
                return Err(TenantError::Changed(format!(
                    "event id {id} is taken by another stream of this store; import under \
                     another tenant id into the same database with EventIds::Derive"
                )));
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok((appended, present))
}

/// The id `event` gets when imported under `tenant`.
pub(super) fn derived_id(event: &ExportedEvent, tenant: &TenantId, ids: EventIds) -> uuid::Uuid {
    match ids {
        EventIds::Keep => event.event_id,
        EventIds::Derive => {
            let namespace =
                uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, tenant.as_str().as_bytes());
            uuid::Uuid::new_v5(&namespace, event.event_id.as_bytes())
        }
    }
}

fn new_event(event: &ExportedEvent, tenant: &TenantId, ids: EventIds) -> NewEvent {
    NewEvent {
        event_id: EventId::from(derived_id(event, tenant, ids)),
        event_type: event.event_type.clone().into(),
        schema_version: event.schema_version,
        payload: event.payload.clone(),
        metadata: event.metadata.clone(),
    }
}

pub(super) type Lines = tokio::io::Lines<BufReader<tokio::fs::File>>;

pub(super) async fn open(path: &Path) -> Result<Lines, TenantError> {
    let file = tokio::fs::File::open(path).await.map_err(|e| {
        TenantError::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })?;
    Ok(BufReader::new(file).lines())
}

/// The first line, checked.
async fn header(lines: &mut Lines, digest: &mut Digest256) -> Result<(Header, u64), TenantError> {
    let Some(text) = lines.next_line().await? else {
        return Err(format_error(1, "the export is empty"));
    };
    let Line::Header(header) = parse(&text, 1)? else {
        return Err(format_error(1, "the export does not begin with its header"));
    };
    if header.format != FORMAT {
        return Err(format_error(
            1,
            format!("the format is `{}`, not `{FORMAT}`", header.format),
        ));
    }
    if header.format_version != FORMAT_VERSION {
        return Err(format_error(
            1,
            format!(
                "format version {} is not the one this build reads ({FORMAT_VERSION})",
                header.format_version
            ),
        ));
    }
    digest.line(text.as_bytes());
    Ok((header, 1))
}

pub(super) fn parse(text: &str, line: u64) -> Result<Line, TenantError> {
    serde_json::from_str(text).map_err(|e| format_error(line, e.to_string()))
}

fn format_error(line: u64, problem: impl Into<String>) -> TenantError {
    TenantError::Format {
        line,
        problem: problem.into(),
    }
}
