use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(events(UserCreated))]
pub struct UserView<T> {
    #[projection(key)]
    pub user_id: String,
    pub extra: T,
}

fn main() {}
