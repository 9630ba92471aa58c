use acci_core::prelude::*;

#[event(name = "Deposited")]
pub struct DepositedV1 {
    pub amount: u32,
}

#[event(version = 2, previous = DepositedV1)]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
