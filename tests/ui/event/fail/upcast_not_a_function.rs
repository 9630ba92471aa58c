use acci_core::prelude::*;

pub struct Upcaster;

#[event(version = 2, upcast = Upcaster)]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
