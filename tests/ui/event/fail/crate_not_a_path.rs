use acci_core::prelude::*;

#[event(crate = "acci core")]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
