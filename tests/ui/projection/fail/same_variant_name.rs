use acci_core::prelude::*;

mod v1 {
    use acci_core::prelude::*;

    #[event(name = "UserCreatedV1")]
    pub struct UserCreated {
        pub email: String,
    }
}

mod v2 {
    use acci_core::prelude::*;

    #[event]
    pub struct UserCreated {
        pub email: String,
    }
}

#[projection(events(v1::UserCreated, v2::UserCreated))]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
}

impl Project<v1::UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<v1::UserCreated>) {}
}

fn main() {}
