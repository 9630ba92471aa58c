use acci_core::prelude::*;

#[event(no_upcast)]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
