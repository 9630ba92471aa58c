use acci_core::prelude::*;

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

#[derive(Debug, thiserror::Error)]
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

async fn close(repository: &Repository<Account>, tenant: TenantId, id: AggregateId) {
    let _ = repository.execute(Command::new(tenant, id, Close)).await;
}

fn main() {
    let _ = close;
}
