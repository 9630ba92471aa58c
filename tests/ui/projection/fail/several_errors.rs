use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(table = "User View", event(UserCreated), version = 0)]
pub struct UserView {
    #[projection(key, index)]
    pub user_id: String,
    #[projection(column = "Email")]
    pub email: String,
    pub logins: u64,
    #[projection(primary)]
    pub name: String,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
