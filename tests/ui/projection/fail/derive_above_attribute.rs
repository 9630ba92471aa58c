//! A derive written above `#[projection]`: the attribute does not see it, derives
//! `Clone` again, and the compiler reports the conflict.

use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[derive(Clone)]
#[projection(events(UserCreated))]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
