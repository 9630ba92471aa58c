use acci_core::prelude::*;

#[event(version = 2, version = 3, no_upcast)]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
