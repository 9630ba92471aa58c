use acci_core::prelude::*;

#[event]
pub union Amount {
    cents: u64,
    units: f64,
}

fn main() {}
