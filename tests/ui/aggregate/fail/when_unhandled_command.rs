use acci_core::prelude::*;
use acci_core::testing::given;

#[event]
pub struct Opened {
    pub owner: String,
}

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

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("the account is already open")]
pub struct AlreadyOpen;

pub struct Open {
    pub owner: String,
}

impl Handle<Open> for Account {
    type Error = AlreadyOpen;

    fn handle(&self, command: &Open) -> Result<Vec<AccountEvent>, AlreadyOpen> {
        Ok(vec![Opened { owner: command.owner.clone() }.into()])
    }
}

pub struct Close;

fn main() {
    given::<Account>([]).when(Close).then_expect_no_events();
}
