use acci_core::prelude::*;

pub struct DepositedV1 {
    pub amount: u32,
}

#[event(version = 2, previous = DepositedV1)]
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
