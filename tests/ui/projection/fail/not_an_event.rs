use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

pub struct EmailChanged {
    pub email: String,
}

#[projection(events(UserCreated, EmailChanged))]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
    pub email: String,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

impl Project<EmailChanged> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<EmailChanged>) {}
}

fn main() {}
