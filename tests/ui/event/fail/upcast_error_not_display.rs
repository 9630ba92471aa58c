use acci_core::prelude::*;

#[derive(Debug)]
pub struct MissingField;

fn upcast(_version: u32, payload: serde_json::Value) -> Result<serde_json::Value, MissingField> {
    if payload.get("amount").is_some() {
        Ok(payload)
    } else {
        Err(MissingField)
    }
}

#[event(version = 2, upcast = upcast)]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
