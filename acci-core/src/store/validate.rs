//! Input checks every store runs before it touches storage, so that all backends reject
//! the same input with the same message.

use std::collections::HashSet;

use crate::error::{StoreError, ValidationError};
use crate::event::NewEvent;
use crate::ids::validate_type_name;
use crate::store::ReadAll;

/// Most events one append may carry.
pub const MAX_EVENTS_PER_APPEND: usize = 10_000;
/// Most events one [`ReadAll`] batch may ask for.
pub const MAX_READ_BATCH: usize = 10_000;
/// The highest schema version a store keeps (a PostgreSQL `integer`).
pub const MAX_SCHEMA_VERSION: u32 = i32::MAX as u32;
/// The highest version, sequence or position a store keeps (a PostgreSQL `bigint`).
pub const MAX_STORED_NUMBER: u64 = i64::MAX as u64;

/// Checks that every string in a JSON value (keys included) is free of NUL, which
/// PostgreSQL's `jsonb` cannot hold.
pub fn check_json_text(what: &str, value: &serde_json::Value) -> Result<(), ValidationError> {
    let has_nul = |text: &str| text.contains('\0');
    let bad = match value {
        serde_json::Value::String(text) => has_nul(text),
        serde_json::Value::Array(items) => {
            return items
                .iter()
                .try_for_each(|item| check_json_text(what, item));
        }
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                if has_nul(key) {
                    return Err(nul_error(what));
                }
                check_json_text(what, item)?;
            }
            false
        }
        _ => false,
    };
    if bad { Err(nul_error(what)) } else { Ok(()) }
}

fn nul_error(what: &str) -> ValidationError {
    ValidationError::new(
        what.to_owned(),
        "contains the character U+0000, which a store cannot keep in JSON",
    )
}

/// Checks an expected version a store can compare against.
pub fn validate_expected(expected: crate::store::ExpectedVersion) -> Result<(), StoreError> {
    match expected {
        crate::store::ExpectedVersion::Exactly(v) if v > MAX_STORED_NUMBER => {
            Err(ValidationError::new(
                "expected version",
                format!(
                    "is {v}, beyond the largest version a stream can reach ({MAX_STORED_NUMBER})"
                ),
            )
            .into())
        }
        _ => Ok(()),
    }
}

/// Checks a list of events to append: not empty, not too long, valid type names, schema
/// versions of 1 or more, payloads that are JSON objects, no event id twice.
pub fn validate_new_events(events: &[NewEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Err(
            ValidationError::new("event list", "is empty; append at least one event").into(),
        );
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(ValidationError::new(
            "event list",
            format!(
                "has {} events; one append takes at most {MAX_EVENTS_PER_APPEND}",
                events.len()
            ),
        )
        .into());
    }
    let mut ids = HashSet::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        validate_type_name("event type", &event.event_type)?;
        if event.schema_version == 0 || event.schema_version > MAX_SCHEMA_VERSION {
            return Err(ValidationError::new(
                format!("schema version of event {index} (`{}`)", event.event_type),
                format!(
                    "is {}; versions run from 1 to {MAX_SCHEMA_VERSION}",
                    event.schema_version
                ),
            )
            .into());
        }
        if !event.payload.is_object() {
            return Err(ValidationError::new(
                format!("payload of event {index} (`{}`)", event.event_type),
                format!("is not a JSON object: {}", json_kind(&event.payload)),
            )
            .into());
        }
        check_json_text(
            &format!("payload of event {index} (`{}`)", event.event_type),
            &event.payload,
        )?;
        let metadata = serde_json::to_value(&event.metadata).unwrap_or_default();
        check_json_text(
            &format!("metadata of event {index} (`{}`)", event.event_type),
            &metadata,
        )?;
        if !ids.insert(event.event_id) {
            return Err(StoreError::DuplicateEventId(event.event_id));
        }
    }
    Ok(())
}

/// Checks a global-log read: a batch size within bounds and valid type names.
pub fn validate_read(request: &ReadAll) -> Result<(), StoreError> {
    if request.after.position > MAX_STORED_NUMBER {
        return Err(ValidationError::new(
            "log position",
            format!(
                "is {}, beyond the largest position a store assigns ({MAX_STORED_NUMBER})",
                request.after.position
            ),
        )
        .into());
    }
    if request.limit == 0 || request.limit > MAX_READ_BATCH {
        return Err(ValidationError::new(
            "read batch limit",
            format!(
                "is {}; it must be between 1 and {MAX_READ_BATCH}",
                request.limit
            ),
        )
        .into());
    }
    if let Some(kinds) = &request.events {
        if kinds.is_empty() {
            return Err(ValidationError::new(
                "event filter",
                "is empty, so it would match nothing; pass `None` to read every event",
            )
            .into());
        }
        for kind in kinds {
            if let Some(aggregate_type) = &kind.aggregate_type {
                validate_type_name("aggregate type in the filter", aggregate_type)?;
            }
            validate_type_name("event type in the filter", &kind.event_type)?;
        }
    }
    Ok(())
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Checks a snapshot before it is saved: a state version a store can keep, and a state
/// free of NUL characters.
pub fn validate_snapshot(snapshot: &crate::store::Snapshot) -> Result<(), StoreError> {
    if snapshot.state_version > MAX_STORED_NUMBER {
        return Err(ValidationError::new(
            "snapshot state version",
            format!(
                "is {}, beyond the largest a store keeps ({MAX_STORED_NUMBER})",
                snapshot.state_version
            ),
        )
        .into());
    }
    check_json_text("snapshot state", &snapshot.state)?;
    Ok(())
}
