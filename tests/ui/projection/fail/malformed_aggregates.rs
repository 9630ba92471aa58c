use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(aggregates(), events(UserCreated))]
pub struct EmptyList {
    #[projection(key)]
    pub user_id: String,
}

impl Project<UserCreated> for EmptyList {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

#[projection(aggregates = User, events(UserCreated))]
pub struct NotAList {
    #[projection(key)]
    pub user_id: String,
}

impl Project<UserCreated> for NotAList {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
