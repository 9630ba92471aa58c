use acci_core::prelude::*;

#[event(version = 2, previous = Deposited)]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
