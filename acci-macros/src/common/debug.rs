//! Prints an expansion while debugging: set `ACCI_MACROS_DEBUG` to a type name (or to `*`
//! for all) and build; the pretty-printed code goes to standard error.

use proc_macro2::TokenStream;

pub(crate) fn print_expansion(type_name: &str, tokens: &TokenStream) {
    let Ok(wanted) = std::env::var("ACCI_MACROS_DEBUG") else {
        return;
    };
    if wanted != "*" && wanted != type_name {
        return;
    }
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => eprintln!(
            "// expansion for `{type_name}`\n{}",
            prettyplease::unparse(&file)
        ),
        Err(_) => eprintln!("// expansion for `{type_name}` (not a valid file)\n{tokens}"),
    }
}
