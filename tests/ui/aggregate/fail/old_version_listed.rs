use acci_core::prelude::*;

#[event(name = "AccountOpened", version = 1)]
pub struct OpenedV1 {
    pub owner: String,
}

#[event(name = "AccountOpened", version = 2, previous = OpenedV1)]
pub struct Opened {
    pub owner: String,
    pub currency: String,
}

impl From<OpenedV1> for Opened {
    fn from(v1: OpenedV1) -> Self {
        Self {
            owner: v1.owner,
            currency: "EUR".into(),
        }
    }
}

#[derive(Aggregate, Default)]
#[aggregate(events(OpenedV1, Opened))]
pub struct Account {
    open: bool,
}

impl Apply<OpenedV1> for Account {
    fn apply(&mut self, _event: &OpenedV1) {
        self.open = true;
    }
}

impl Apply<Opened> for Account {
    fn apply(&mut self, _event: &Opened) {
        self.open = true;
    }
}

fn main() {}
