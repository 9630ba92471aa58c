//! What an attribute macro was put on, for the message when it is the wrong kind of item.

/// What the item is, for a message: "a function", "a trait".
pub(crate) fn item_kind(item: &syn::Item) -> &'static str {
    match item {
        syn::Item::Struct(_) => "a struct",
        syn::Item::Enum(_) => "an enum",
        syn::Item::Union(_) => "a union",
        syn::Item::Fn(_) => "a function",
        syn::Item::Trait(_) | syn::Item::TraitAlias(_) => "a trait",
        syn::Item::Impl(_) => "an impl block",
        syn::Item::Type(_) => "a type alias",
        syn::Item::Mod(_) => "a module",
        syn::Item::Const(_) => "a constant",
        syn::Item::Static(_) => "a static",
        syn::Item::Use(_) => "a `use` declaration",
        _ => "this item",
    }
}

/// The item's first token after its attributes and visibility: `fn`, `trait`, `enum`…
pub(crate) fn keyword_span(item: &syn::Item) -> proc_macro2::Span {
    let mut tokens = quote::ToTokens::into_token_stream(item)
        .into_iter()
        .peekable();
    while let Some(tt) = tokens.next() {
        match &tt {
            // An attribute: `#` and its `[…]`.
            proc_macro2::TokenTree::Punct(p) if p.as_char() == '#' => {
                tokens.next();
            }
            // A visibility: `pub` and its optional `(crate)`.
            proc_macro2::TokenTree::Ident(ident) if ident == "pub" => {
                if matches!(tokens.peek(), Some(proc_macro2::TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Parenthesis)
                {
                    tokens.next();
                }
            }
            _ => return tt.span(),
        }
    }
    syn::spanned::Spanned::span(item)
}
