use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(events(UserCreated))]
pub fn user_view() {}

fn main() {}
