//! Expansion snapshots of `#[derive(Aggregate)]`. Each input here also compiles in
//! `tests/ui/aggregate/pass/`.

use quote::quote;

fn expand(input: proc_macro2::TokenStream) -> String {
    let tokens = super::expand(input);
    prettyplease::unparse(&syn::parse2(tokens).expect("the expansion is a valid file"))
}

#[test]
fn aggregate_with_snapshots() {
    insta::assert_snapshot!(expand(quote! {
        #[derive(Aggregate, Default, Serialize, Deserialize)]
        #[aggregate(name = "BankAccount", events(Opened, Deposited, Withdrawn), snapshot_every = 100)]
        pub struct BankAccount {
            balance: u64,
            open: bool,
        }
    }));
}

#[test]
fn enum_state_with_renamed_event_enum() {
    insta::assert_snapshot!(expand(quote! {
        #[derive(Aggregate, Default)]
        #[aggregate(events(events::Placed, events::Shipped), event_enum = OrderChange)]
        pub(crate) enum Order {
            #[default]
            New,
            Placed { lines: Vec<String> },
            Shipped,
        }
    }));
}
