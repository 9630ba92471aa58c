//! The finders `#[projection]` generates: `find`, `require`, `page` and `find_by_<field>`,
//! each documented with the statement it runs on PostgreSQL.

use acci_schema::postgres::index_name;
use proc_macro2::TokenStream;
use quote::quote;

use super::check::{Column, Model};
use super::keys::key;

/// `impl Struct { find, require, page, find_by_<field>… }`: the queries of `ReadModels`
/// for this read model, typed, with the struct's visibility (so they are exactly as
/// reachable as the struct and `unreachable_pub` stays quiet). Unused ones do not warn:
/// rustc does not report `dead_code` in the output of another crate's macro, and
/// `tests/tests/lints.rs` keeps a read model whose finders go unused to prove it.
pub(super) fn finders(model: &Model) -> TokenStream {
    let ident = &model.item.ident;
    let sql = model.table_sql();
    let shared = Finders::new(model);
    let find = find_fn(model, &shared, &sql.select_by_keys);
    let require = require_fn(model, &shared);
    let page = page_fn(model, &shared, &sql.select_page);
    let by_column = model.columns.iter().filter(|c| c.index).map(|column| {
        let finder = sql
            .finder(&column.column)
            .expect("every indexed column has a finder");
        find_by_fn(model, &shared, column, finder)
    });
    quote! {
        impl #ident {
            #find
            #require
            #page
            #(#by_column)*
        }
    }
}

/// What every finder shares: the trait, the error type, how the key is taken and named.
struct Finders {
    /// `R: ReadModels + ?Sized`.
    bound: TokenStream,
    /// `QueryError`.
    error: TokenStream,
    /// `Projection::Key`: the key field's type, or the tuple of the key fields' types.
    key_type: TokenStream,
    /// The key as a parameter takes it: `str` for a single `String` key, else the key type.
    key_param: TokenStream,
    /// Turns `key: &key_param` into the `&Key` `ReadModels` takes, as `key` again.
    key_owned: TokenStream,
    /// Whether the key is taken as `&str` and made a `String` with `From`.
    key_borrowed: bool,
    /// The key columns for the docs: ``the column `user_id` `` or
    /// ``the columns `tenant`, `day` ``.
    key_columns: String,
    /// `tenant: &TenantId,` for a tenant-scoped read model; nothing for a global one.
    tenant_param: TokenStream,
    /// What `ReadModels` gets for the tenant: `Some(tenant)` or `None`.
    tenant_arg: TokenStream,
    /// Whose rows a finder reads, for its docs.
    whose: &'static str,
}

impl Finders {
    fn new(model: &Model) -> Self {
        let rt = &model.rt;
        let keys: Vec<&Column> = model.keys().collect();
        let (key_type, _) = key(model);
        let usable = !keys.iter().any(|c| c.key_error);
        let borrowed = match keys.as_slice() {
            [single] if usable => super::types::borrowed_form(&single.ty, false),
            _ => None,
        };
        let (key_param, key_owned, key_borrowed) = match borrowed {
            Some(form) => (
                quote!(#form),
                quote! {
                    let key: &#key_type = &::core::convert::From::from(key);
                },
                true,
            ),
            None => (key_type.clone(), TokenStream::new(), false),
        };
        let names: Vec<String> = keys.iter().map(|c| format!("`{}`", c.column)).collect();
        let key_columns = match names.as_slice() {
            [single] => format!("the column {single}"),
            many => format!("the columns {}", many.join(", ")),
        };
        let (tenant_param, tenant_arg, whose) = match model.scope {
            acci_schema::Scope::Tenant => (
                quote!(tenant: &#rt::TenantId,),
                quote!(::core::option::Option::Some(tenant)),
                "Reads only the rows of `tenant`: the read model is tenant-scoped, and another tenant's row with the same key is never returned.",
            ),
            acci_schema::Scope::Global => (
                TokenStream::new(),
                quote!(::core::option::Option::None),
                "The read model is global (`#[projection(global)]`): its rows are shared by every tenant.",
            ),
        };
        Self {
            tenant_param,
            tenant_arg,
            whose,
            bound: quote!(#rt::query::ReadModels + ?::core::marker::Sized),
            error: quote!(#rt::query::QueryError),
            key_type,
            key_param,
            key_owned,
            key_borrowed,
            key_columns,
        }
    }
}

/// The `# Errors` paragraph every finder ends with, after its own errors.
const READ_ERRORS: &str = "`QueryError::Projection` when the read model cannot answer \
     (with `PgReadModels`: its table does not exist yet, as no runner has created it), and \
     `QueryError::ReadModel` when reading it fails (`retryable` says whether to try again).";

/// How the docs of `page` and `find_by_…` name the tenant parameter, if there is one.
fn tenant_dollar(model: &Model) -> &'static str {
    match model.scope {
        acci_schema::Scope::Tenant => ", `$3` the tenant",
        acci_schema::Scope::Global => "",
    }
}

/// A statement as a `sql` block of a doc comment.
fn sql_block(sql: &str) -> String {
    format!("```sql\n{sql}\n```")
}

fn find_fn(model: &Model, f: &Finders, select_by_keys: &str) -> TokenStream {
    let rt = &model.rt;
    let vis = &model.item.vis;
    let Finders {
        bound,
        error,
        key_param,
        key_owned,
        tenant_param,
        tenant_arg,
        ..
    } = f;
    let doc = format!(
        "Finds the `{table}` row whose key is `key` ({keys}).\n\n\
         Returns the row, or `None` when there is none. {whose} Generated by `#[projection]`: it \
         calls `ReadModels::get`, which on PostgreSQL runs (`select_by_keys`):\n\n{sql}\n\n\
         # Errors\n\n{READ_ERRORS}",
        table = model.table,
        keys = f.key_columns,
        whose = f.whose,
        sql = sql_block(select_by_keys),
    );
    quote! {
        #[doc = #doc]
        #vis async fn find<R: #bound>(
            models: &R,
            #tenant_param
            key: &#key_param,
        ) -> ::core::result::Result<::core::option::Option<Self>, #error> {
            #key_owned
            <R as #rt::query::ReadModels>::get::<Self>(models, #tenant_arg, key).await
        }
    }
}

fn require_fn(model: &Model, f: &Finders) -> TokenStream {
    let rt = &model.rt;
    let vis = &model.item.vis;
    let Finders {
        bound,
        error,
        key_param,
        key_owned,
        tenant_param,
        tenant_arg,
        ..
    } = f;
    let doc = format!(
        "Returns the `{table}` row whose key is `key` ({keys}), which must exist.\n\n\
         {whose} Generated by `#[projection]`: it calls `ReadModels::require`, which runs the same \
         SQL as [`find`](Self::find).\n\n\
         # Errors\n\n\
         `QueryError::NotFound` when there is no such row; {READ_ERRORS}",
        table = model.table,
        keys = f.key_columns,
        whose = f.whose,
    );
    quote! {
        #[doc = #doc]
        #vis async fn require<R: #bound>(
            models: &R,
            #tenant_param
            key: &#key_param,
        ) -> ::core::result::Result<Self, #error> {
            #key_owned
            <R as #rt::query::ReadModels>::require::<Self>(models, #tenant_arg, key).await
        }
    }
}

fn page_fn(model: &Model, f: &Finders, select_page: &str) -> TokenStream {
    let rt = &model.rt;
    let vis = &model.item.vis;
    let Finders {
        bound,
        error,
        key_type,
        key_param,
        key_borrowed,
        tenant_param,
        tenant_arg,
        ..
    } = f;
    let (after_owned, after) = if *key_borrowed {
        (
            quote! {
                let after: ::core::option::Option<#key_type> =
                    ::core::option::Option::map(after, ::core::convert::From::from);
            },
            quote!(::core::option::Option::as_ref(&after)),
        )
    } else {
        (TokenStream::new(), quote!(after))
    };
    let doc = format!(
        "Up to `limit` `{table}` rows in key order (by {keys}), after the row whose key is \
         `after`, or from the first row with `None`.\n\n\
         For the next page, pass the key of the last row returned. {whose} Generated by \
         `#[projection]`: it calls `ReadModels::page`, which on PostgreSQL runs (`select_page`; `$1` \
         is `limit`, `$2` the key `after`{tenant_dollar}):\n\n{sql}\n\n\
         # Errors\n\n\
         `QueryError::Validation` when `limit` is 0 or more than `query::MAX_PAGE`; \
         {READ_ERRORS}",
        table = model.table,
        keys = f.key_columns,
        whose = f.whose,
        tenant_dollar = tenant_dollar(model),
        sql = sql_block(select_page),
    );
    quote! {
        #[doc = #doc]
        #vis async fn page<R: #bound>(
            models: &R,
            #tenant_param
            after: ::core::option::Option<&#key_param>,
            limit: ::core::primitive::usize,
        ) -> ::core::result::Result<::std::vec::Vec<Self>, #error> {
            #after_owned
            <R as #rt::query::ReadModels>::page::<Self>(models, #tenant_arg, #after, limit).await
        }
    }
}

/// `find_by_<field>`: the rows whose indexed column equals a value, which is written as
/// JSON here, as `ReadModels::find_by` takes it.
fn find_by_fn(model: &Model, f: &Finders, column: &Column, finder_sql: &str) -> TokenStream {
    let rt = &model.rt;
    let vis = &model.item.vis;
    let Finders {
        bound,
        error,
        tenant_param,
        tenant_arg,
        ..
    } = f;
    let name = syn::Ident::new(&format!("find_by_{}", column.field), column.ident.span());
    let inner = super::types::without_option(&column.ty);
    let value_type = match super::types::borrowed_form(inner, true) {
        Some(form) => quote!(#form),
        None => quote!(#inner),
    };
    let column_name = &column.column;
    let what = format!(
        "the value to find `{}` rows by `{}`",
        model.table, column.column
    );
    let named = if column.renamed {
        format!("column `{}` (the field `{}`)", column.column, column.field)
    } else {
        format!("column `{}`", column.column)
    };
    let null = if column.kind.option {
        "\n\nA row whose column is NULL is never found: `value` is what a `Some` holds."
    } else {
        ""
    };
    let doc = format!(
        "Up to `limit` `{table}` rows whose {named} equals `value`, in key order (by {keys}).\n\n\
         {whose} Generated by `#[projection]` from `#[projection(index)]`: it writes `value` as JSON and \
         calls `ReadModels::find_by` with the column `\"{column_name}\"`, which on PostgreSQL runs \
         the finder of that column (using the index `{index}`; `$1` is `{{\"{column_name}\": value}}`, `$2` \
         is `limit`{tenant_dollar}):\n\n{sql}{null}\n\n\
         # Errors\n\n\
         `QueryError::Validation` when `value` cannot be written as JSON, or when `limit` is 0 \
         or more than `query::MAX_PAGE`; {READ_ERRORS}",
        table = model.table,
        keys = f.key_columns,
        whose = f.whose,
        tenant_dollar = tenant_dollar(model),
        index = index_name(&model.table, &column.column),
        sql = sql_block(finder_sql),
    );
    quote! {
        #[doc = #doc]
        #vis async fn #name<R: #bound>(
            models: &R,
            #tenant_param
            value: &#value_type,
            limit: ::core::primitive::usize,
        ) -> ::core::result::Result<::std::vec::Vec<Self>, #error> {
            let value = #rt::__private::serde_json::to_value(value).map_err(|error| {
                #error::Validation(#rt::ValidationError::new(
                    #what,
                    ::std::format!("cannot be written as JSON: {}", error),
                ))
            })?;
            <R as #rt::query::ReadModels>::find_by::<Self>(models, #tenant_arg, #column_name, &value, limit)
                .await
        }
    }
}
