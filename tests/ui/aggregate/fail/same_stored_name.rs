use acci_core::prelude::*;

#[event(name = "Changed")]
pub struct OwnerChanged {
    pub owner: String,
}

#[event(name = "Changed")]
pub struct CurrencyChanged {
    pub currency: String,
}

#[derive(Aggregate, Default)]
#[aggregate(events(OwnerChanged, CurrencyChanged))]
pub struct Account {
    owner: String,
    currency: String,
}

impl Apply<OwnerChanged> for Account {
    fn apply(&mut self, event: &OwnerChanged) {
        self.owner.clone_from(&event.owner);
    }
}

impl Apply<CurrencyChanged> for Account {
    fn apply(&mut self, event: &CurrencyChanged) {
        self.currency.clone_from(&event.currency);
    }
}

fn main() {}
