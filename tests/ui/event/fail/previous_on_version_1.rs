use acci_core::prelude::*;

#[event(name = "Deposited")]
pub struct DepositedV0 {
    pub amount: u32,
}

#[event(previous = DepositedV0)]
pub struct Deposited {
    pub amount: u64,
}

impl From<DepositedV0> for Deposited {
    fn from(old: DepositedV0) -> Self {
        Self {
            amount: old.amount.into(),
        }
    }
}

fn main() {}
