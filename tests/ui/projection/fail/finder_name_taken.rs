//! A read model with a function of its own named like a generated finder: the compiler
//! reports the duplicate definition, at the attribute and at the user's function.

use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(events(UserCreated))]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
    #[projection(index)]
    pub email: String,
}

impl UserView {
    pub fn find_by_email(&self) -> bool {
        true
    }
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
