use acci_core::prelude::*;

#[event]
pub enum AccountEvent {
    Deposited { amount: u64 },
    Withdrawn { amount: u64 },
}

fn main() {}
