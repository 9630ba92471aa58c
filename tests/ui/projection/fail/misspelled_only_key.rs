use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

// One error, at `kee`; not also "`UserView` has no key".
#[projection(events(UserCreated))]
pub struct UserView {
    #[projection(kee)]
    pub user_id: String,
    pub email: String,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
