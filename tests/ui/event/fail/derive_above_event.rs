use acci_core::prelude::*;

#[derive(Debug)]
#[event]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
