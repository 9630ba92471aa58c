use acci_core::prelude::*;

#[event(verison = 2)]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
