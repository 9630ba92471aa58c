use acci_core::prelude::*;

#[event]
pub struct Opened {
    pub owner: String,
}

#[event]
pub struct Closed {}

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

impl Apply<Closed> for Account {
    fn apply(&mut self, _event: &Closed) {
        self.open = false;
    }
}

fn main() {}
