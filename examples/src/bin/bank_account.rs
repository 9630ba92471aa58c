//! A bank account, told as a transcript.
//!
//! Run it on the in-memory store with `cargo run -p acci-examples --bin bank-account`, or
//! on PostgreSQL with `-- --database-url postgres://…` (or `DATABASE_URL` set). On
//! PostgreSQL each run uses a tenant of its own, so runs never meet each other's data.

use std::sync::Arc;

use acci_core::EventStore;
use acci_core::prelude::*;
use acci_core::testing::Interfering;
use acci_core::{NewEvent, ReadAll, StreamId, TenantScope};
use acci_examples::bank::{BankAccount, Deposit, Deposited, Open, OpenedV1, Withdraw};
use acci_postgres::PgEventStore;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (inner, tenant) = open_store().await?;
    // The store, wrapped so that the transcript can show a concurrency conflict every run:
    // on request, "another teller" deposits 20.00 just before our next append.
    let store = Arc::new(Interfering::new(inner, || {
        let deposit = Deposited { amount: 20_00 };
        NewEvent::from_event(&deposit, Metadata::new().with_user_id("teller-2"))
            .expect("a deposit serializes")
    }));
    let accounts = Repository::<BankAccount, _>::new(store.clone());
    let ada = AggregateId::new("account-ada")?;

    println!("== Opening Ada's account");
    let opened = accounts
        .execute(on(
            &tenant,
            &ada,
            Open {
                owner: "Ada".into(),
                currency: "EUR".into(),
            },
        ))
        .await?;
    println!(
        "   recorded {:?} at version {}",
        opened.events, opened.version
    );

    println!("\n== Depositing 100.00");
    let deposit = accounts
        .execute(on(&tenant, &ada, Deposit { amount: 10_000 }))
        .await?;
    println!(
        "   recorded {:?} at version {}",
        deposit.events, deposit.version
    );

    println!("\n== Withdrawing 500.00, more than the balance");
    match accounts
        .execute(on(&tenant, &ada, Withdraw { amount: 50_000 }))
        .await
    {
        Err(CommandError::Domain(refusal)) => println!("   refused by the account: {refusal}"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    println!("\n== Another teller deposits 20.00 while our withdrawal of 30.00 is being decided");
    store.interfere_with_next(1);
    let withdrawal = accounts
        .execute(on(&tenant, &ada, Withdraw { amount: 30_00 }))
        .await?;
    println!(
        "   the append met a concurrency conflict; the retry read only the missed event and decided again: \
         {} attempts, recorded {:?} at version {}",
        withdrawal.attempts, withdrawal.events, withdrawal.version
    );

    println!("\n== Sending the same deposit twice, with one command id");
    let command_id = CommandId::new();
    let first = accounts
        .execute(on(&tenant, &ada, Deposit { amount: 5_00 }).with_id(command_id))
        .await?;
    let second = accounts
        .execute(on(&tenant, &ada, Deposit { amount: 5_00 }).with_id(command_id))
        .await?;
    println!(
        "   first:  {:?} at version {} (duplicate: {})",
        first.events, first.version, first.duplicate
    );
    println!(
        "   second: {:?} at version {} (duplicate: {})",
        second.events, second.version, second.duplicate
    );
    let balance = accounts.load(&tenant, &ada).await?.state.balance();
    println!("   balance {}: the deposit counted once", cents(balance));

    println!("\n== Reading an account written by an older release, in the v1 shape");
    let grace = AggregateId::new("account-grace")?;
    let stream = StreamId::new(tenant.clone(), "BankAccount", grace.clone())?;
    let old = NewEvent::from_event(
        &OpenedV1 {
            owner: "Grace".into(),
        },
        Metadata::new(),
    )?;
    store
        .append(&stream, ExpectedVersion::NoStream, vec![old], None)
        .await?;
    let stored = store.load(&stream, 1).await?;
    println!(
        "   stored: {} v{} {}",
        stored[0].event_type, stored[0].schema_version, stored[0].data
    );
    let grace_account = accounts.load(&tenant, &grace).await?;
    println!(
        "   loaded: owner {}, currency {} (upcast from v1 by `From<OpenedV1> for Opened`)",
        grace_account.state.owner(),
        grace_account.state.currency()
    );

    println!("\n== Snapshots: `snapshot_every = 5`");
    let before = accounts.load(&tenant, &ada).await?;
    println!(
        "   Ada's stream is at version {}; the deposit at version 5 took a snapshot, so this load \
         started from it and applied {} event(s)",
        before.version, before.events_applied
    );
    for amount in [1_00, 2_00, 3_00, 4_00, 5_00, 6_00] {
        let outcome = accounts
            .execute(on(&tenant, &ada, Deposit { amount }))
            .await?;
        let note = match outcome.snapshot_taken {
            Some(version) => format!(" -> snapshot taken at version {version}"),
            None => String::new(),
        };
        println!(
            "   deposited {} at version {}{note}",
            cents(amount),
            outcome.version
        );
    }
    let after = accounts.load(&tenant, &ada).await?;
    println!(
        "   loading now starts from the snapshot at version {} and applies {} event(s) on top: balance {}",
        after
            .snapshot_version
            .map_or_else(|| "none".into(), |v| v.to_string()),
        after.events_applied,
        cents(after.state.balance())
    );

    println!("\n== The global log of tenant {tenant}");
    let batch = store
        .read_all(&ReadAll::new(TenantScope::Tenant(tenant.clone())))
        .await?;
    for event in &batch.events {
        println!(
            "   {:>3}  {:<14} #{} {:<15} v{} {}",
            event.position.position,
            event.stream.aggregate_id,
            event.sequence,
            event.event_type,
            event.schema_version,
            event.data
        );
    }
    Ok(())
}

/// The store the command line asks for, and the tenant this run writes as.
async fn open_store() -> Result<(Arc<dyn EventStore>, TenantId), Error> {
    let mut args = std::env::args().skip(1);
    let mut url = std::env::var("DATABASE_URL").ok();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--database-url" => url = Some(args.next().ok_or("--database-url needs a URL")?),
            "--in-memory" => url = None,
            other => {
                return Err(format!(
                    "unknown argument `{other}`; use --database-url URL or --in-memory"
                )
                .into());
            }
        }
    }
    match url {
        None => {
            println!("(store: in memory; pass --database-url to use PostgreSQL)\n");
            Ok((
                Arc::new(InMemoryEventStore::new()),
                TenantId::new("acme-bank")?,
            ))
        }
        Some(url) => {
            let store = PgEventStore::connect(&url).await?;
            store.migrate().await?;
            let run = &CommandId::new().to_string()[24..];
            let tenant = TenantId::new(format!("acme-bank-{run}"))?;
            println!("(store: PostgreSQL, tenant {tenant})\n");
            Ok((Arc::new(store), tenant))
        }
    }
}

/// A command for account `id` of `tenant`.
fn on<C>(tenant: &TenantId, id: &AggregateId, payload: C) -> Command<C> {
    Command::new(tenant.clone(), id.clone(), payload)
}

fn cents(amount: u64) -> String {
    format!("{}.{:02}", amount / 100, amount % 100)
}
