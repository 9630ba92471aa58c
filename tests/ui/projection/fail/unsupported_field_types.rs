use acci_core::prelude::*;

#[event]
pub struct UserCreated {
    pub email: String,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Settings;

#[projection(events(UserCreated))]
pub struct UserView {
    #[projection(key)]
    pub user_id: String,
    pub size: usize,
    pub pair: (String, String),
    pub bytes: [u8; 4],
    pub maybe: Option<Option<String>>,
    pub values: Vec<serde_json::Value>,
    pub settings: Vec<Settings>,
    pub nested: Vec<Vec<String>>,
    pub logins: Option<u64>,
}

impl Project<UserCreated> for UserView {
    fn project(_row: &mut Option<Self>, _event: &Recorded<UserCreated>) {}
}

fn main() {}
