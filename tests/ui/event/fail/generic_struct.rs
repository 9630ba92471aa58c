use acci_core::prelude::*;

#[event]
pub struct Deposited<T> {
    pub amount: T,
}

fn main() {}
