use acci_core::prelude::*;

fn upcast(payload: serde_json::Value) -> serde_json::Value {
    payload
}

#[event(version = 2, upcast = upcast)]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
