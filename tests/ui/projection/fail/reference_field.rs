//! A field that borrows: refused, and the derived `Deserialize` (which cannot borrow for
//! every lifetime) adds the compiler's own follow-on errors.

use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(events(UserCreated))]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
    pub label: &'static str,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
