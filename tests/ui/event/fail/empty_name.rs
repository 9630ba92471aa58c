use acci_core::prelude::*;

#[event(name = "")]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
