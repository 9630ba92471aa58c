//! Tenants and their users: two aggregates, and two read models fed by their events.

use acci_core::prelude::*;
use acci_core::projection::ProjectionError;

/// A tenant was created.
#[event]
pub struct TenantCreated {
    /// Its display name.
    pub name: String,
}

/// A user was created in the tenant of its stream.
#[event]
pub struct UserCreated {
    /// The user's name.
    pub name: String,
    /// The user's e-mail address.
    pub email: String,
}

/// A user's e-mail address changed.
#[event]
pub struct EmailChanged {
    /// The new address.
    pub email: String,
}

/// A user was deactivated.
#[event]
pub struct UserDeactivated {}

/// A tenant: an organisation whose users share its data.
#[derive(Aggregate, Debug, Default)]
#[aggregate(events(TenantCreated))]
pub struct Tenant {
    created: bool,
}

impl Apply<TenantCreated> for Tenant {
    fn apply(&mut self, _: &TenantCreated) {
        self.created = true;
    }
}

/// A user of a tenant.
#[derive(Aggregate, Debug, Default)]
#[aggregate(events(UserCreated, EmailChanged, UserDeactivated))]
pub struct User {
    created: bool,
    active: bool,
    email: String,
}

impl Apply<UserCreated> for User {
    fn apply(&mut self, event: &UserCreated) {
        self.created = true;
        self.active = true;
        self.email.clone_from(&event.email);
    }
}

impl Apply<EmailChanged> for User {
    fn apply(&mut self, event: &EmailChanged) {
        self.email.clone_from(&event.email);
    }
}

impl Apply<UserDeactivated> for User {
    fn apply(&mut self, _: &UserDeactivated) {
        self.active = false;
    }
}

/// Why a tenant or user command was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The tenant or user exists already.
    #[error("it exists already")]
    Exists,
    /// The user does not exist.
    #[error("no such user")]
    NoSuchUser,
    /// The user is deactivated.
    #[error("the user is deactivated")]
    Inactive,
    /// The address is the current one.
    #[error("the e-mail address is unchanged")]
    SameEmail,
}

/// Create a tenant.
#[derive(Debug, Clone)]
pub struct CreateTenant {
    /// Its display name.
    pub name: String,
}

/// Create a user.
#[derive(Debug, Clone)]
pub struct CreateUser {
    /// The user's name.
    pub name: String,
    /// The user's e-mail address.
    pub email: String,
}

/// Change a user's e-mail address.
#[derive(Debug, Clone)]
pub struct ChangeEmail {
    /// The new address.
    pub email: String,
}

/// Deactivate a user.
#[derive(Debug, Clone)]
pub struct Deactivate;

fn check_email(email: &str) -> Result<(), ValidationError> {
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(()),
        _ => Err(ValidationError::new(
            "email",
            format!("`{email}` is not an e-mail address"),
        )),
    }
}

impl Handle<CreateTenant> for Tenant {
    type Error = DirectoryError;
    fn validate(command: &CreateTenant) -> Result<(), ValidationError> {
        if command.name.trim().is_empty() {
            return Err(ValidationError::new("tenant name", "must not be empty"));
        }
        Ok(())
    }
    fn handle(&self, command: &CreateTenant) -> Result<Vec<TenantEvent>, DirectoryError> {
        if self.created {
            return Err(DirectoryError::Exists);
        }
        Ok(vec![
            TenantCreated {
                name: command.name.clone(),
            }
            .into(),
        ])
    }
}

impl Handle<CreateUser> for User {
    type Error = DirectoryError;
    fn validate(command: &CreateUser) -> Result<(), ValidationError> {
        if command.name.trim().is_empty() {
            return Err(ValidationError::new("user name", "must not be empty"));
        }
        check_email(&command.email)
    }
    fn handle(&self, command: &CreateUser) -> Result<Vec<UserEvent>, DirectoryError> {
        if self.created {
            return Err(DirectoryError::Exists);
        }
        Ok(vec![
            UserCreated {
                name: command.name.clone(),
                email: command.email.clone(),
            }
            .into(),
        ])
    }
}

impl Handle<ChangeEmail> for User {
    type Error = DirectoryError;
    fn validate(command: &ChangeEmail) -> Result<(), ValidationError> {
        check_email(&command.email)
    }
    fn handle(&self, command: &ChangeEmail) -> Result<Vec<UserEvent>, DirectoryError> {
        match () {
            () if !self.created => Err(DirectoryError::NoSuchUser),
            () if !self.active => Err(DirectoryError::Inactive),
            () if self.email == command.email => Err(DirectoryError::SameEmail),
            () => Ok(vec![
                EmailChanged {
                    email: command.email.clone(),
                }
                .into(),
            ]),
        }
    }
}

impl Handle<Deactivate> for User {
    type Error = DirectoryError;
    fn handle(&self, _: &Deactivate) -> Result<Vec<UserEvent>, DirectoryError> {
        match () {
            () if !self.created => Err(DirectoryError::NoSuchUser),
            () if !self.active => Err(DirectoryError::Inactive),
            () => Ok(vec![UserDeactivated {}.into()]),
        }
    }
}

/// What a reader sees of a user: searchable by name and by e-mail address, within the
/// user's tenant (the read model is tenant-scoped, so each row belongs to the tenant of
/// its events and every finder takes the tenant).
#[projection(
    table = "user_view",
    aggregates(User),
    events(UserCreated, EmailChanged, UserDeactivated)
)]
pub struct UserView {
    /// The user's id.
    #[projection(key)]
    pub user_id: String,
    /// The user's name.
    #[projection(index)]
    pub name: String,
    /// The user's e-mail address.
    #[projection(index)]
    pub email: String,
    /// Whether the user is active.
    pub active: bool,
}

impl Project<UserCreated> for UserView {
    fn project(row: &mut Option<Self>, event: &Recorded<UserCreated>) {
        *row = Some(UserView {
            user_id: event.stream.aggregate_id.to_string(),
            name: event.data.name.clone(),
            email: event.data.email.clone(),
            active: true,
        });
    }
}

impl Project<EmailChanged> for UserView {
    fn project(row: &mut Option<Self>, event: &Recorded<EmailChanged>) {
        if let Some(row) = row {
            row.email.clone_from(&event.data.email);
        }
    }
}

impl Project<UserDeactivated> for UserView {
    fn project(row: &mut Option<Self>, _: &Recorded<UserDeactivated>) {
        if let Some(row) = row {
            row.active = false;
        }
    }
}

/// What a reader sees of a tenant: its name and how many active users it has.
///
/// A directory of all tenants, so it is declared `global`: its rows belong to no tenant
/// and every reader sees every tenant's name and count. Global is the exception; keep to
/// it only data every tenant may see.
#[projection(
    global,
    table = "tenant_view",
    aggregates(Tenant, User),
    events(TenantCreated, UserCreated, UserDeactivated)
)]
pub struct TenantView {
    /// The tenant's id.
    #[projection(key)]
    pub tenant_id: String,
    /// Its display name.
    pub name: String,
    /// Its active users.
    pub user_count: i64,
}

/// The row of the tenant a user event belongs to: keyed by tenant, not by user.
fn tenant_key<E>(event: &Recorded<E>) -> Result<String, ProjectionError> {
    Ok(event.stream.tenant.to_string())
}

impl Project<TenantCreated> for TenantView {
    fn project(row: &mut Option<Self>, event: &Recorded<TenantCreated>) {
        let count = row.as_ref().map_or(0, |r| r.user_count);
        *row = Some(TenantView {
            tenant_id: event.stream.aggregate_id.to_string(),
            name: event.data.name.clone(),
            user_count: count,
        });
    }
}

impl ProjectKey<UserCreated> for TenantView {
    fn key(event: &Recorded<UserCreated>) -> Result<String, ProjectionError> {
        tenant_key(event)
    }
}

impl Project<UserCreated> for TenantView {
    fn project(row: &mut Option<Self>, event: &Recorded<UserCreated>) {
        let row = row.get_or_insert_with(|| TenantView {
            tenant_id: event.stream.tenant.to_string(),
            name: String::new(),
            user_count: 0,
        });
        row.user_count += 1;
    }
}

impl ProjectKey<UserDeactivated> for TenantView {
    fn key(event: &Recorded<UserDeactivated>) -> Result<String, ProjectionError> {
        tenant_key(event)
    }
}

impl Project<UserDeactivated> for TenantView {
    fn project(row: &mut Option<Self>, _: &Recorded<UserDeactivated>) {
        if let Some(row) = row {
            row.user_count -= 1;
        }
    }
}
