//! The smallest event: `#[event]` alone, stored under the type's name at version 1, with
//! `Debug`, `Clone`, `PartialEq` and serde derived for it.

use acci_core::prelude::*;
use serde_json::json;

/// Money came in.
#[event]
pub struct Deposited {
    pub amount: u64,
}

/// An event without fields is stored as an empty JSON object.
#[event]
pub struct Closed {}

fn main() {
    assert_eq!(Deposited::EVENT_TYPE, "Deposited");
    assert_eq!(Deposited::SCHEMA_VERSION, 1);

    let event = Deposited { amount: 250 };
    let payload = serde_json::to_value(&event).unwrap();
    assert_eq!(payload, json!({ "amount": 250 }));
    assert_eq!(Deposited::decode(1, payload).unwrap(), event.clone());
    assert!(Deposited::decode(2, json!({ "amount": 1 })).is_err());

    assert_eq!(serde_json::to_value(Closed {}).unwrap(), json!({}));
    assert_eq!(Closed::decode(1, json!({})).unwrap(), Closed {});
}
