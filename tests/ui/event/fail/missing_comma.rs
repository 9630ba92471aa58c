use acci_core::prelude::*;

#[event(version = 2 name = "Deposited")]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
