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
        if event.schema_version == 0 {
            return Err(ValidationError::new(
                format!("schema version of event {index} (`{}`)", event.event_type),
                "is 0; versions start at 1",
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
        if !ids.insert(event.event_id) {
            return Err(StoreError::DuplicateEventId(event.event_id));
        }
    }
    Ok(())
}

/// Checks a global-log read: a batch size within bounds and valid type names.
pub fn validate_read(request: &ReadAll) -> Result<(), StoreError> {
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
    if let Some(types) = &request.event_types {
        if types.is_empty() {
            return Err(ValidationError::new(
                "event type filter",
                "is empty, so it would match nothing; pass `None` to read every type",
            )
            .into());
        }
        for name in types {
            validate_type_name("event type in the filter", name)?;
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
