use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

// Both default to the table `user_view`: they would share its rows and its checkpoint.
mod admin {
    use super::*;

    #[projection(events(UserCreated))]
    pub struct UserView {
        #[projection(key)]
        pub user_id: String,
    }

    impl Project<UserCreated> for UserView {
        fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
    }
}

mod public {
    use super::*;

    #[projection(events(UserCreated))]
    pub struct UserView {
        #[projection(key)]
        pub user_id: String,
    }

    impl Project<UserCreated> for UserView {
        fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
    }
}

fn main() {}
