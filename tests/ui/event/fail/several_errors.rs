use acci_core::prelude::*;

#[event(verison = 2, version = 0, name = "", colour = "red")]
pub struct Deposited(pub u64);

fn main() {}
