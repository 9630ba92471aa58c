use acci_core::prelude::*;

#[event]
pub struct Closed;

fn main() {}
