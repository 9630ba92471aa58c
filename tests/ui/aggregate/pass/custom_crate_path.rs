//! `crate = "…"` on both macros: acci-core reached through a re-export under another
//! name, as an application's own facade crate would provide it.

mod facade {
    pub use acci_core as runtime;
}

use facade::runtime::{Aggregate, Apply, Event, EventEnum};

fn upcast(
    _version: u32,
    payload: serde_json::Value,
) -> Result<serde_json::Value, std::convert::Infallible> {
    Ok(payload)
}

#[facade::runtime::event(crate = "crate::facade::runtime", name = "Ticked")]
pub struct TickedV1 {
    pub by: u32,
}

#[facade::runtime::event(
    crate = "crate::facade::runtime",
    name = "Ticked",
    version = 2,
    previous = TickedV1
)]
pub struct Ticked {
    pub by: u64,
}

impl From<TickedV1> for Ticked {
    fn from(v1: TickedV1) -> Self {
        Self { by: v1.by.into() }
    }
}

#[facade::runtime::event(crate = "crate::facade::runtime", version = 2, upcast = upcast)]
pub struct Reset {}

#[derive(facade::runtime::Aggregate, Default, serde::Serialize, serde::Deserialize)]
#[aggregate(
    crate = "crate::facade::runtime",
    events(Ticked, Reset),
    snapshot_every = 10
)]
pub struct Counter {
    count: u64,
}

impl Apply<Ticked> for Counter {
    fn apply(&mut self, event: &Ticked) {
        self.count += event.by;
    }
}

impl Apply<Reset> for Counter {
    fn apply(&mut self, _event: &Reset) {
        self.count = 0;
    }
}

fn main() {
    assert_eq!(Ticked::EVENT_TYPE, "Ticked");
    assert_eq!(Counter::SNAPSHOT_EVERY, 10);
    let mut counter = Counter::default();
    let old = CounterEvent::decode("Ticked", 1, serde_json::json!({ "by": 3 })).unwrap();
    counter.apply_event(&old);
    counter.apply_event(&Ticked { by: 4 }.into());
    assert_eq!(counter.count, 7);
    Aggregate::apply_event(
        &mut counter,
        &CounterEvent::decode("Reset", 1, serde_json::json!({})).unwrap(),
    );
    assert_eq!(counter.count, 0);
    assert_eq!(
        counter.to_snapshot().unwrap(),
        serde_json::json!({ "count": 0 })
    );
}
