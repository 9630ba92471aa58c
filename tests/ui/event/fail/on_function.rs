use acci_core::prelude::*;

#[event]
pub fn deposited(amount: u64) -> u64 {
    amount
}

fn main() {}
