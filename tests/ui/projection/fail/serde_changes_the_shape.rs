use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[projection(events(UserCreated))]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
    #[serde(skip)]
    pub email: String,
    #[serde(with = "chrono::serde::ts_seconds")]
    pub seen_at: chrono::DateTime<chrono::Utc>,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
