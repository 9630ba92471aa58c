use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(table = "user_directory_of_the_whole_company", events(UserCreated))]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
    #[projection(index)]
    pub primary_email_address_of_user: String,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
