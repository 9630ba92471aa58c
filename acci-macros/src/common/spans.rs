//! The smallest token to point an error at, when it is not a single syntax node.

/// The first generic parameter, or the `where` of a where clause without parameters.
pub(crate) fn generic_span(generics: &syn::Generics) -> Option<proc_macro2::Span> {
    if let Some(param) = generics.params.first() {
        return Some(match param {
            syn::GenericParam::Type(param) => param.ident.span(),
            syn::GenericParam::Lifetime(param) => param.lifetime.span(),
            syn::GenericParam::Const(param) => param.const_token.span,
        });
    }
    generics
        .where_clause
        .as_ref()
        .map(|clause| clause.where_token.span)
}

/// The same tokens, every one of them (inside groups too) at `span`: for a generated
/// bound whose path comes from elsewhere (the runtime path) but whose errors should point
/// at one token of the input.
pub(crate) fn respan(
    tokens: &proc_macro2::TokenStream,
    span: proc_macro2::Span,
) -> proc_macro2::TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(group) = &tt {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(&group.stream(), span));
                inner.set_span(span);
                tt = proc_macro2::TokenTree::Group(inner);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}
