use acci_core::prelude::*;

#[event]
pub struct Opened {
    pub owner: String,
}

#[derive(Aggregate, Default)]
#[aggregate(events(Opened), event_enum = Account)]
pub struct Account {
    open: bool,
}

impl Apply<Opened> for Account {
    fn apply(&mut self, _event: &Opened) {
        self.open = true;
    }
}

fn main() {}
