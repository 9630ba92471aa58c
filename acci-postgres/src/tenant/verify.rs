//! Verifying an export against a store: every exported event is in the store, at its
//! stream and sequence, with the same id, type, version, payload and metadata.

use std::collections::BTreeMap;
use std::path::Path;

use acci_core::{AggregateId, EventStore, StreamId, TenantId};

use super::error::TenantError;
use super::format::{ExportedEvent, Line};
use super::import::{EventIds, derived_id, open, parse, read_export};
use crate::PgEventStore;

/// Events compared at a time, grouped by stream: what the verification holds in memory.
const BUFFER: usize = 5_000;

/// The most differences a [`Verification`] lists; the count goes on.
pub const MAX_LISTED: usize = 100;

/// What [`verify_export`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// Events in the export.
    pub events: u64,
    /// Events the store holds as exported.
    pub matching: u64,
    /// Events the store lacks or holds otherwise.
    pub differing: u64,
    /// The first [`MAX_LISTED`] differences, each naming the stream, the sequence and
    /// what differs.
    pub differences: Vec<String>,
}

impl Verification {
    /// Whether the store holds every exported event as exported.
    pub fn is_equal(&self) -> bool {
        self.differing == 0
    }
}

/// Checks the export at `path` whole ([`read_export`]), then that `store` holds each of
/// its events, under `tenant` (the export's own when `None`) and with ids as `ids` maps
/// them: at its stream and sequence, with the same id, type, schema version, payload and
/// metadata. Recorded times and positions are the store's own and not compared. Reads
/// only.
pub async fn verify_export(
    store: &PgEventStore,
    path: &Path,
    tenant: Option<&TenantId>,
    ids: EventIds,
) -> Result<Verification, TenantError> {
    let (header, trailer) = read_export(path).await?;
    let tenant = match tenant {
        Some(tenant) => tenant.clone(),
        None => TenantId::new(&header.tenant)?,
    };
    let mut report = Verification {
        events: trailer.events,
        ..Verification::default()
    };
    let mut lines = open(path).await?;
    lines.next_line().await?;
    let mut buffer: BTreeMap<(String, String), Vec<ExportedEvent>> = BTreeMap::new();
    let mut held = 0;
    let mut n = 1;
    while let Some(text) = lines.next_line().await? {
        n += 1;
        let Line::Event(event) = parse(&text, n)? else {
            break;
        };
        buffer
            .entry((event.aggregate_type.clone(), event.aggregate_id.clone()))
            .or_default()
            .push(event);
        held += 1;
        if held >= BUFFER {
            compare(
                store,
                &tenant,
                ids,
                std::mem::take(&mut buffer),
                &mut report,
            )
            .await?;
            held = 0;
        }
    }
    compare(store, &tenant, ids, buffer, &mut report).await?;
    Ok(report)
}

async fn compare(
    store: &PgEventStore,
    tenant: &TenantId,
    ids: EventIds,
    buffer: BTreeMap<(String, String), Vec<ExportedEvent>>,
    report: &mut Verification,
) -> Result<(), TenantError> {
    for ((aggregate_type, aggregate_id), exported) in buffer {
        let stream = StreamId::new(
            tenant.clone(),
            &aggregate_type,
            AggregateId::new(&aggregate_id)?,
        )?;
        let first = exported[0].sequence;
        let last = exported[exported.len() - 1].sequence;
        let stored = store.load_range(&stream, first, last).await?;
        let mut stored = stored.iter().peekable();
        for event in &exported {
            let expected_id = derived_id(event, tenant, ids);
            let found = stored.next_if(|s| s.sequence == event.sequence);
            let difference = match found {
                None => Some("missing from the store".to_owned()),
                Some(s) if s.event_id.as_uuid() != expected_id => Some(format!(
                    "event id {} in the store, {expected_id} exported",
                    s.event_id
                )),
                Some(s)
                    if s.event_type != event.event_type
                        || s.schema_version != event.schema_version =>
                {
                    Some(format!(
                        "{} v{} in the store, {} v{} exported",
                        s.event_type, s.schema_version, event.event_type, event.schema_version
                    ))
                }
                Some(s) if s.data != event.payload => Some("the payload differs".to_owned()),
                Some(s) if s.metadata != event.metadata => Some("the metadata differs".to_owned()),
                Some(_) => None,
            };
            match difference {
                None => report.matching += 1,
                Some(what) => {
                    report.differing += 1;
                    if report.differences.len() < MAX_LISTED {
                        report
                            .differences
                            .push(format!("{stream} sequence {}: {what}", event.sequence));
                    }
                }
            }
        }
    }
    Ok(())
}
