use acci_core::prelude::*;

#[event(name = "AccountOpened", version = 2)]
pub struct Opened {
    pub owner: String,
    pub currency: String,
}

fn main() {}
