//! Fields whose types `#[event]` checks at the field (a struct of the application, an
//! `Option`, a `Vec`), a field under `#[serde(with = …)]` that it leaves to serde, and an
//! event with `no_upcast`: all store and read back.

use acci_core::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub street: String,
}

mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[event(name = "Moved", version = 2, no_upcast)]
pub struct Moved {
    pub to: Address,
    pub note: Option<String>,
    pub tags: Vec<String>,
    #[serde(with = "as_text")]
    pub cost: u64,
}

fn main() {
    let event = Moved {
        to: Address { street: "Main Street".into() },
        note: None,
        tags: vec!["urgent".into()],
        cost: 7,
    };
    let payload = serde_json::to_value(&event).unwrap();
    assert_eq!(
        payload,
        json!({ "to": { "street": "Main Street" }, "note": null, "tags": ["urgent"], "cost": "7" })
    );
    assert_eq!(Moved::decode(2, payload).unwrap(), event);
    assert!(Moved::decode(1, json!({})).is_err(), "no_upcast reads no older version");
}
