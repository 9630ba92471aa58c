//! An event that derives some traits itself and uses serde attributes: `#[event]` adds
//! only the derives that are missing, and the attributes shape the stored JSON.

use acci_core::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The owner's address changed.
#[event(name = "AddressChanged")]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressChanged {
    pub street_name: String,
    #[serde(default)]
    pub post_code: Option<String>,
}

fn main() {
    let event = AddressChanged {
        street_name: "Main Street".into(),
        post_code: None,
    };
    let payload = serde_json::to_value(&event).unwrap();
    assert_eq!(
        payload,
        json!({ "streetName": "Main Street", "postCode": null })
    );
    let read = AddressChanged::decode(1, json!({ "streetName": "Main Street" })).unwrap();
    assert_eq!(read, event);
}
