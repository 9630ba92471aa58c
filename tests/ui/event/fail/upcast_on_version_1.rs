use acci_core::prelude::*;

fn upcast(
    _version: u32,
    payload: serde_json::Value,
) -> Result<serde_json::Value, std::convert::Infallible> {
    Ok(payload)
}

#[event(upcast = upcast)]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
