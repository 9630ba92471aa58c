use acci_core::prelude::*;

#[event(name = "Deposited", version = 1)]
pub struct DepositedV1 {
    pub amount: u64,
}

#[event(version = 2, previous = DepositedV1, no_upcast)]
pub struct Deposited {
    pub amount: u64,
}

impl From<DepositedV1> for Deposited {
    fn from(v1: DepositedV1) -> Self {
        Self { amount: v1.amount }
    }
}

fn main() {}
