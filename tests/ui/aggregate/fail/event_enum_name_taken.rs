use acci_core::prelude::*;

#[event]
pub struct Opened {
    pub owner: String,
}

/// A type of the application's own, named like the generated event enum.
pub struct AccountEvent;

#[derive(Aggregate, Default)]
#[aggregate(events(Opened))]
pub struct Account {
    open: bool,
}

impl Apply<Opened> for Account {
    fn apply(&mut self, _event: &Opened) {
        self.open = true;
    }
}

fn main() {}
