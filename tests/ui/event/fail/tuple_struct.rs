use acci_core::prelude::*;

#[event]
pub struct Deposited(pub u64);

fn main() {}
