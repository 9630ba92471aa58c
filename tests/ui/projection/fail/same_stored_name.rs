use acci_core::prelude::*;

#[event(name = "UserCreated")]
pub struct UserCreated {
    pub email: String,
}

#[event(name = "UserCreated", version = 2, no_upcast)]
pub struct UserRegistered {
    pub email: String,
}

#[projection(events(UserCreated, UserRegistered))]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

impl Project<UserRegistered> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserRegistered>) {}
}

fn main() {}
