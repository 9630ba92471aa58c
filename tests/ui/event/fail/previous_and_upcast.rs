use acci_core::prelude::*;

fn upcast(
    _version: u32,
    payload: serde_json::Value,
) -> Result<serde_json::Value, std::convert::Infallible> {
    Ok(payload)
}

#[event(name = "Deposited")]
pub struct DepositedV1 {
    pub amount: u32,
}

#[event(version = 2, previous = DepositedV1, upcast = upcast)]
pub struct Deposited {
    pub amount: u64,
}

impl From<DepositedV1> for Deposited {
    fn from(old: DepositedV1) -> Self {
        Self {
            amount: old.amount.into(),
        }
    }
}

fn main() {}
