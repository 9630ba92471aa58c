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

#[derive(Debug, thiserror::Error)]
#[error("the account is not open")]
pub struct NotOpen;

pub struct Close;

impl Handle<Close> for Account {
    type Error = NotOpen;

    fn handle(&self, _command: &Close) -> Result<Vec<AccountEvent>, NotOpen> {
        Ok(vec![Closed {}.into()])
    }
}

fn main() {}
