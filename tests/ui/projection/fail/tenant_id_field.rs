use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

// A tenant-scoped read model keeps each row's tenant in a column of its own.
#[projection(events(UserCreated))]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
    pub tenant_id: String,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
