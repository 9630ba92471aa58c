//! Tenants and users on PostgreSQL, with the read models a reader queries, as a
//! transcript: commands go in, projection runners keep two read models current, and the
//! reader finds users by name and by e-mail and sees each tenant's user count, through
//! the finders `#[projection]` generates (`UserView::find_by_email`, `UserView::require`,
//! `TenantView::page`).
//!
//! ```text
//! cargo run -p acci-examples --bin tenants-and-users [-- --database-url postgres://…]
//! ```
//!
//! It creates a database of its own on the server of `--database-url` or `DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`) and drops it at the end.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use acci_core::LogPosition;
use acci_core::prelude::*;
use acci_examples::users::{
    ChangeEmail, CreateTenant, CreateUser, Deactivate, Tenant, TenantView, User, UserView,
};
use acci_postgres::{DEFAULT_DATABASE_URL, PgEventStore, PgReadModels, ProjectionRunner};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = database_url()?;
    let admin = PgConnectOptions::from_str(&url)?;
    let name = format!("acci_example_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect_with(&admin).await?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let result = run(admin.clone().database(&name)).await;
    conn.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await?;
    result
}

async fn run(options: PgConnectOptions) -> Result<(), Error> {
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options.clone())
        .await?;
    let store = Arc::new(PgEventStore::from_pool(pool.clone()));
    store.migrate().await?;
    let tenants = Repository::<Tenant, _>::new(Arc::clone(&store));
    let users = Repository::<User, _>::new(Arc::clone(&store));
    let reader = PgReadModels::connect_with(options).await?;

    // Both read models are kept current in the background, as a service would.
    let user_view = ProjectionRunner::<UserView>::new(pool.clone());
    let tenant_view = ProjectionRunner::<TenantView>::new(pool.clone());
    let runners = [
        tokio::spawn({
            let runner = user_view.clone();
            async move { runner.run(std::future::pending()).await }
        }),
        tokio::spawn({
            let runner = tenant_view.clone();
            async move { runner.run(std::future::pending()).await }
        }),
    ];

    println!("== Creating two tenants and their users");
    let mut last = LogPosition::START;
    for (tenant, name) in [("acme", "Acme Corp"), ("globex", "Globex")] {
        let id = TenantId::new(tenant)?;
        let outcome = tenants
            .execute(Command::new(
                id.clone(),
                AggregateId::new(tenant)?,
                CreateTenant { name: name.into() },
            ))
            .await?;
        last = last.max(outcome.position.unwrap_or(last));
        println!("   tenant {tenant}: {name}");
    }
    for (tenant, user, name, email) in [
        ("acme", "u-1", "Ada Lovelace", "ada@acme.example"),
        ("acme", "u-2", "Charles Babbage", "charles@acme.example"),
        ("acme", "u-3", "Grace Hopper", "grace@acme.example"),
        ("globex", "u-4", "Alan Turing", "alan@globex.example"),
    ] {
        let command = CreateUser {
            name: name.into(),
            email: email.into(),
        };
        let outcome = users
            .execute(Command::new(
                TenantId::new(tenant)?,
                AggregateId::new(user)?,
                command,
            ))
            .await?;
        last = last.max(outcome.position.unwrap_or(last));
        println!("   user {user} in {tenant}: {name} <{email}>");
    }

    println!("\n== A command with a bad address is refused before anything is stored");
    let bad = CreateUser {
        name: "Nobody".into(),
        email: "not-an-address".into(),
    };
    match users
        .execute(Command::new(
            TenantId::new("acme")?,
            AggregateId::new("u-9")?,
            bad,
        ))
        .await
    {
        Err(CommandError::Validation(invalid)) => println!("   refused: {invalid}"),
        other => return Err(format!("expected a validation error, got {other:?}").into()),
    }

    println!("\n== What a reader sees, once the read models have caught up");
    wait(&user_view, &tenant_view, last).await?;
    show_tenants(&reader).await?;
    let acme = TenantId::new("acme")?;
    let globex = TenantId::new("globex")?;
    let found = UserView::find_by_email(&reader, &acme, "grace@acme.example", 10).await?;
    println!(
        "   search by e-mail grace@acme.example: {}",
        describe(&found)
    );
    let found = UserView::find_by_name(&reader, &globex, "Alan Turing", 10).await?;
    println!(
        "   search globex by name \"Alan Turing\": {}",
        describe(&found)
    );
    let found = UserView::find_by_name(&reader, &acme, "Alan Turing", 10).await?;
    println!(
        "   search acme by name \"Alan Turing\": {}",
        describe(&found)
    );

    println!("\n== Grace changes her address; Charles is deactivated");
    let changed = users
        .execute(Command::new(
            acme.clone(),
            AggregateId::new("u-3")?,
            ChangeEmail {
                email: "grace@navy.example".into(),
            },
        ))
        .await?;
    let deactivated = users
        .execute(Command::new(
            acme.clone(),
            AggregateId::new("u-2")?,
            Deactivate,
        ))
        .await?;
    let last = changed
        .position
        .into_iter()
        .chain(deactivated.position)
        .max()
        .unwrap_or(last);
    // Read-your-writes: wait until both read models have passed the commands' events.
    wait(&user_view, &tenant_view, last).await?;
    let old = UserView::find_by_email(&reader, &acme, "grace@acme.example", 10).await?;
    let new = UserView::find_by_email(&reader, &acme, "grace@navy.example", 10).await?;
    println!("   search by the old address: {}", describe(&old));
    println!("   search by the new address: {}", describe(&new));
    let charles = UserView::require(&reader, &acme, "u-2").await?;
    println!(
        "   u-2 {} is {}",
        charles.name,
        if charles.active {
            "active"
        } else {
            "deactivated"
        }
    );
    show_tenants(&reader).await?;
    match UserView::require(&reader, &acme, "u-404").await {
        Err(error) => println!("   looking up u-404: {error}"),
        Ok(user) => return Err(format!("u-404 should not exist, found {user:?}").into()),
    }

    println!("\n== Projection status");
    for status in [user_view.status().await?, tenant_view.status().await?] {
        println!(
            "   {:<12} applied {:>2} events, {} behind, position {}",
            status.name, status.events_applied, status.lag_events, status.position
        );
    }
    for runner in runners {
        runner.abort();
    }
    Ok(())
}

async fn wait(
    users: &ProjectionRunner<UserView>,
    tenants: &ProjectionRunner<TenantView>,
    position: LogPosition,
) -> Result<(), Error> {
    let timeout = Duration::from_secs(30);
    if !users.wait_for(position, timeout).await? || !tenants.wait_for(position, timeout).await? {
        return Err("the read models did not catch up in 30 s".into());
    }
    Ok(())
}

async fn show_tenants(reader: &PgReadModels) -> Result<(), Error> {
    for tenant in TenantView::page(reader, None, 100).await? {
        println!(
            "   tenant {:<8} {:<10} active users: {}",
            tenant.tenant_id, tenant.name, tenant.user_count
        );
    }
    Ok(())
}

fn describe(users: &[UserView]) -> String {
    if users.is_empty() {
        return "nobody".to_owned();
    }
    users
        .iter()
        .map(|u| format!("{} ({}, {})", u.name, u.user_id, u.email))
        .collect::<Vec<_>>()
        .join("; ")
}

fn database_url() -> Result<String, Error> {
    let mut args = std::env::args().skip(1);
    let mut url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--database-url" => url = args.next().ok_or("--database-url needs a URL")?,
            other => {
                return Err(format!("unknown argument `{other}`; use --database-url URL").into());
            }
        }
    }
    Ok(url)
}
