use acci_core::prelude::*;

#[event(crate = "::acci_cor")]
pub struct Deposited {
    pub amount: u64,
}

fn main() {}
