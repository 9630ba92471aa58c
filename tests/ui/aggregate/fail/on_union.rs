use acci_core::prelude::*;

#[event]
pub struct Deposited {
    pub amount: u64,
}

#[derive(Aggregate)]
#[aggregate(events(Deposited))]
pub union Account {
    cents: u64,
    units: f64,
}

fn main() {}
