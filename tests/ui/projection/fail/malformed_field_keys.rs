use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(events(UserCreated))]
pub struct UserView {
    #[projection(key, key)]
    pub user_id: String,
    #[projection(index = true)]
    pub email: String,
    #[projection(column)]
    pub name: String,
    #[projection(json, "settings")]
    pub settings: String,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
