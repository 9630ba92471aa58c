use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(events = UserCreated, table, version = 3000000000, event_enum = "Change")]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
