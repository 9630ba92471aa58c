use acci_core::prelude::*;

#[event]
pub struct Deposited {
    pub amount: u64,
    pub at: std::time::Instant,
}

fn main() {}
