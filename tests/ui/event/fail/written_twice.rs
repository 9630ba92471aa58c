use acci_core::prelude::*;

#[event(name = "AccountOpened")]
#[event(version = 1)]
pub struct Opened {
    pub owner: String,
}

fn main() {}
