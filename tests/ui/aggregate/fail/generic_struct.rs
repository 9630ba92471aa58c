use acci_core::prelude::*;

#[event]
pub struct Deposited {
    pub amount: u64,
}

#[derive(Aggregate, Default)]
#[aggregate(events(Deposited))]
pub struct Account<T> {
    balance: u64,
    extra: T,
}

impl<T> Apply<Deposited> for Account<T> {
    fn apply(&mut self, event: &Deposited) {
        self.balance += event.amount;
    }
}

fn main() {}
