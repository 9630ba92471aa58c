use acci_core::prelude::*;

#[event]
pub struct Opened {
    pub owner: String,
}

#[event]
pub struct Deposited {
    pub amount: u64,
}

#[derive(Aggregate, Default)]
#[aggregate(name = "BankAccount")]
pub struct Account {
    balance: u64,
}

impl Apply<Opened> for Account {
    fn apply(&mut self, _event: &Opened) {}
}

impl Apply<Deposited> for Account {
    fn apply(&mut self, event: &Deposited) {
        self.balance += event.amount;
    }
}

fn main() {}
