use acci_core::prelude::*;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Movement {
    Deposited { amount: u64 },
    Withdrawn { amount: u64 },
}

#[derive(Aggregate, Default)]
#[aggregate(events(Movement))]
pub struct Account {
    balance: u64,
}

impl Apply<Movement> for Account {
    fn apply(&mut self, _event: &Movement) {}
}

fn main() {}
