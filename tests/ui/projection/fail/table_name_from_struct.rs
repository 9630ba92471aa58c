use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(events(UserCreated))]
pub struct PgUsers {
    #[projection(key)]
    pub user_id: String,
}

impl Project<UserCreated> for PgUsers {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
