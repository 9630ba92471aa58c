use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[event]
pub struct EmailChanged {
    pub email: String,
}

#[projection(events(UserCreated))]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
    pub email: String,
}

impl Project<UserCreated> for UserView {
    fn project(row: &mut Option<Self>, event: &Recorded<UserCreated>) {
        *row = Some(UserView {
            user_id: event.stream.aggregate_id.to_string(),
            email: event.data.email.clone(),
        });
    }
}

impl ProjectKey<EmailChanged> for UserView {
    fn key(event: &Recorded<EmailChanged>) -> Result<String, ProjectionError> {
        Ok(event.data.email.clone())
    }
}

fn main() {}
