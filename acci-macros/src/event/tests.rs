//! Expansion snapshots of `#[event]`: a change to the generated code shows up in review.
//! Each input here also compiles in `tests/ui/event/pass/`.

use quote::quote;

fn expand(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
    let tokens = super::expand(args, item);
    prettyplease::unparse(&syn::parse2(tokens).expect("the expansion is a valid file"))
}

#[test]
fn plain_event() {
    insta::assert_snapshot!(expand(
        quote!(),
        quote! {
            /// Money came in.
            pub struct Deposited {
                pub amount: u64,
            }
        }
    ));
}

#[test]
fn renamed_event_with_previous_version() {
    insta::assert_snapshot!(expand(
        quote!(name = "AccountOpened", version = 2, previous = OpenedV1),
        quote! {
            #[derive(Debug)]
            pub struct Opened {
                pub owner: String,
                pub currency: String,
            }
        }
    ));
}

#[test]
fn event_with_json_upcast() {
    insta::assert_snapshot!(expand(
        quote!(name = "AccountClosed", version = 3, upcast = upcast_closed),
        quote! {
            pub struct Closed {
                pub reason: String,
            }
        }
    ));
}

#[test]
fn event_with_checked_fields() {
    insta::assert_snapshot!(expand(
        quote!(version = 2, no_upcast),
        quote! {
            pub struct Moved {
                pub to: Address,
                pub tags: Vec<String>,
                #[serde(with = "as_text")]
                pub cost: u64,
            }
        }
    ));
}
