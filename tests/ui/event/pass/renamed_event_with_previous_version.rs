//! A renamed event with a chain of older versions: a payload stored at version 1 or 2 is
//! decoded through `previous` and `From`, one version at a time.

use acci_core::prelude::*;
use serde_json::json;

/// The first shape, from before accounts had a currency or a kind.
#[event(name = "AccountOpened", version = 1)]
pub struct OpenedV1 {
    pub owner: String,
}

/// The second shape, with a currency.
#[event(name = "AccountOpened", version = 2, previous = OpenedV1)]
#[derive(Debug)]
pub struct OpenedV2 {
    pub owner: String,
    pub currency: String,
}

/// The current shape.
#[event(name = "AccountOpened", version = 3, previous = OpenedV2)]
pub struct Opened {
    pub owner: String,
    pub currency: String,
    pub savings: bool,
}

impl From<OpenedV1> for OpenedV2 {
    fn from(v1: OpenedV1) -> Self {
        Self {
            owner: v1.owner,
            currency: "EUR".into(),
        }
    }
}

impl From<OpenedV2> for Opened {
    fn from(v2: OpenedV2) -> Self {
        Self {
            owner: v2.owner,
            currency: v2.currency,
            savings: false,
        }
    }
}

fn main() {
    assert_eq!(Opened::EVENT_TYPE, "AccountOpened");
    assert_eq!(Opened::SCHEMA_VERSION, 3);

    let from_v1 = Opened::decode(1, json!({ "owner": "Ada" })).unwrap();
    assert_eq!(
        from_v1,
        Opened {
            owner: "Ada".into(),
            currency: "EUR".into(),
            savings: false,
        }
    );

    let from_v2 = Opened::decode(2, json!({ "owner": "Bob", "currency": "CHF" })).unwrap();
    assert_eq!(from_v2.currency, "CHF");
    assert!(!from_v2.savings);

    let current = json!({ "owner": "Eve", "currency": "USD", "savings": true });
    assert!(Opened::decode(3, current).unwrap().savings);

    let newer = Opened::decode(4, json!({})).unwrap_err();
    assert_eq!(newer.schema_version, 4);
    assert!(Opened::decode(0, json!({ "owner": "Ada" })).is_err());
}
