//! An event whose older versions are rewritten as JSON by an `upcast` function, and the
//! error it returns when it cannot.

use acci_core::prelude::*;
use serde_json::{Value, json};

/// Why an old payload could not be upcast.
#[derive(Debug)]
pub struct NoReason;

impl std::fmt::Display for NoReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the payload has no `why` to turn into a `reason`")
    }
}

/// Version 1 stored `{"why": …}`, version 2 `{"cause": …}`; version 3 is `{"reason": …}`.
fn upcast_closed(version: u32, payload: Value) -> Result<Value, NoReason> {
    let key = if version == 1 { "why" } else { "cause" };
    match payload.get(key) {
        Some(reason) => Ok(json!({ "reason": reason })),
        None => Err(NoReason),
    }
}

/// The account was closed.
#[event(name = "AccountClosed", version = 3, upcast = upcast_closed)]
pub struct Closed {
    pub reason: String,
}

fn main() {
    assert_eq!(Closed::EVENT_TYPE, "AccountClosed");
    assert_eq!(Closed::SCHEMA_VERSION, 3);

    let from_v1 = Closed::decode(1, json!({ "why": "moved away" })).unwrap();
    assert_eq!(from_v1.reason, "moved away");
    let from_v2 = Closed::decode(2, json!({ "cause": "fees" })).unwrap();
    assert_eq!(from_v2.reason, "fees");
    let current = Closed::decode(3, json!({ "reason": "done" })).unwrap();
    assert_eq!(current.reason, "done");

    let failed = Closed::decode(1, json!({})).unwrap_err();
    assert!(failed.to_string().contains("no `why`"), "{failed}");
    assert!(Closed::decode(0, json!({ "why": "x" })).is_err());
}
