//! Small events and streams for tests that need some rows, not a domain.

use acci_core::{AggregateId, EventId, Metadata, NewEvent, StreamId, TenantId};
use serde_json::json;

/// The `Account` stream `id` of `tenant`.
pub fn stream(tenant: &str, id: &str) -> StreamId {
    StreamId::new(
        TenantId::new(tenant).unwrap(),
        "Account",
        AggregateId::new(id).unwrap(),
    )
    .unwrap()
}

/// A `Counted` event carrying `n`, with empty metadata.
pub fn counted(n: u64) -> NewEvent {
    NewEvent {
        event_id: EventId::new(),
        event_type: "Counted".into(),
        schema_version: 1,
        payload: json!({ "n": n }),
        metadata: Metadata::default(),
    }
}
