use acci_core::prelude::*;

#[event(version = 0)]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
