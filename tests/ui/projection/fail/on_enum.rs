use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(events(UserCreated))]
pub enum UserView {
    Active {
        #[projection(key)]
        user_id: String,
    },
    Deleted,
}

fn main() {}
