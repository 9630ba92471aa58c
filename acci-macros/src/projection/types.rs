//! The column type of each field, chosen by the last segment of its Rust type.
//!
//! The map itself (which names, which scalar) is `acci_schema::rust_types`; this module
//! reads the wrappers (`Option`, `Vec`) and says why a type has no column.

use acci_schema::{ColumnType as SchemaType, Scalar, rust_types};
use quote::ToTokens;

/// A field's column type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnType {
    /// The logical type, as the shared column model has it.
    pub(crate) schema: SchemaType,
    /// Whether the column takes NULL: an `Option`, or a `serde_json::Value` (whose `null`
    /// the database stores as NULL).
    pub(crate) nullable: bool,
    /// Whether the field is an `Option`.
    pub(crate) option: bool,
    /// Whether a key of this type is made from an aggregate id by acci-core.
    pub(crate) from_aggregate_id: bool,
}

impl ColumnType {
    /// The column of a field whose type cannot be mapped, so expansion can go on.
    pub(crate) fn placeholder() -> Self {
        Self {
            schema: SchemaType::scalar(Scalar::Json),
            nullable: false,
            option: false,
            from_aggregate_id: false,
        }
    }

    /// Whether the column is a `jsonb` value (`Value` or `#[projection(json)]`).
    pub(crate) fn jsonb(&self) -> bool {
        self.schema.scalar == Scalar::Json
    }

    /// Whether the column holds floating-point numbers (no `Eq`, so no key).
    pub(crate) fn float(&self) -> bool {
        self.schema.scalar.is_float()
    }

    /// The PostgreSQL type: `text`, `bigint[]`, `jsonb`.
    pub(crate) fn sql(&self) -> String {
        acci_schema::postgres::column_type(self.schema)
    }
}

/// Why a type has no column type: the message, and the part of the field's type to
/// point at (`Option` in `Vec<Option<String>>`, `u64` in `Option<u64>`).
pub(crate) struct Unsupported {
    pub(crate) message: String,
    pub(crate) at: proc_macro2::TokenStream,
}

impl Unsupported {
    fn new(message: String, at: &syn::Type) -> Self {
        Self {
            message,
            at: at.to_token_stream(),
        }
    }
}

/// The column type of `ty`; `json` stores any type as `jsonb`.
pub(crate) fn column_type(ty: &syn::Type, json: bool) -> Result<ColumnType, Unsupported> {
    let shown = type_text(ty);
    let (inner, option) = match generic_argument(ty, "Option") {
        Some(inner) => (inner, true),
        None => (ty, false),
    };
    if json {
        return Ok(ColumnType {
            schema: SchemaType::scalar(Scalar::Json),
            nullable: option,
            option,
            from_aggregate_id: false,
        });
    }
    if option && generic_argument(inner, "Option").is_some() {
        return Err(Unsupported::new(
            format!("`{shown}` has no column type: one NULL cannot tell `None` from `Some(None)`"),
            inner,
        ));
    }
    if let Some(element) = generic_argument(inner, "Vec") {
        if generic_argument(element, "Option").is_some() {
            return Err(Unsupported::new(
                format!(
                    "`{shown}` has no column type: the elements of an array column cannot be `Option`"
                ),
                element,
            ));
        }
        let (_, element_scalar) = scalar(element).map_err(|why| {
            Unsupported::new(
                format!(
                    "`{shown}` has no column type: an array column holds scalars, and {}",
                    inner_reason(&why)
                ),
                element,
            )
        })?;
        if element_scalar == Scalar::Json {
            return Err(Unsupported::new(
                format!(
                    "`{shown}` has no column type: an array column holds scalars, not JSON values"
                ),
                element,
            ));
        }
        return Ok(ColumnType {
            schema: SchemaType::array(element_scalar),
            nullable: option,
            option,
            from_aggregate_id: false,
        });
    }
    let (name, inner_scalar) = scalar(inner).map_err(|why| {
        let message = if option {
            format!("`{shown}` has no column type: {}", inner_reason(&why))
        } else {
            why
        };
        Unsupported::new(message, inner)
    })?;
    Ok(ColumnType {
        schema: SchemaType::scalar(inner_scalar),
        nullable: option || inner_scalar == Scalar::Json,
        option,
        from_aggregate_id: !option && rust_types::key_from_aggregate_id(&name),
    })
}

/// The last path segment of a scalar type and its scalar, or why it has none (a message:
/// "`u64` has no column type: …").
fn scalar(ty: &syn::Type) -> Result<(String, Scalar), String> {
    let shown = type_text(ty);
    let why = match unwrap_group(ty) {
        syn::Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last().expect("a path has a segment");
            let name = last.ident.to_string();
            if let Some(scalar) = rust_types::scalar(&name) {
                return Ok((name, scalar));
            }
            rust_types::unsupported_reason(&name).unwrap_or_default()
        }
        syn::Type::Reference(_) => "a read model owns its values, so a field cannot be a reference",
        syn::Type::Tuple(_) => "a tuple is not one column",
        syn::Type::Array(_) | syn::Type::Slice(_) => "an array column is a `Vec<T>`",
        _ => "",
    };
    Err(if why.is_empty() {
        format!("`{shown}` has no PostgreSQL column type")
    } else {
        format!("`{shown}` has no column type: {why}")
    })
}

/// The message about an inner type as a clause of the outer one's: "`Settings` has no
/// PostgreSQL column type".
fn inner_reason(why: &str) -> String {
    why.replacen(" has no column type: ", " has no column type because ", 1)
}

/// The type a generated finder takes a value of `ty` by, behind a `&`: `str` for a
/// `String`, `[T]` for a `Vec<T>` (with `vec = true`), or `None` to take `ty` itself.
/// Both borrowed forms serialize as their owned types do, and a `String` is made back
/// from a `&str` with `From`.
pub(crate) fn borrowed_form(ty: &syn::Type, vec: bool) -> Option<syn::Type> {
    if let Some(element) = generic_argument(ty, "Vec") {
        return vec.then(|| syn::parse_quote!([#element]));
    }
    let syn::Type::Path(path) = unwrap_group(ty) else {
        return None;
    };
    let last = path.path.segments.last()?;
    let plain = path.qself.is_none() && last.arguments.is_empty();
    (plain && last.ident == "String").then(|| syn::parse_quote!(str))
}

/// `T` when `ty` is `Option<T>`, else `ty`.
pub(crate) fn without_option(ty: &syn::Type) -> &syn::Type {
    generic_argument(ty, "Option").unwrap_or(ty)
}

/// `T` when `ty` is `Wrapper<T>` (by the last segment of its path).
fn generic_argument<'a>(ty: &'a syn::Type, wrapper: &str) -> Option<&'a syn::Type> {
    let syn::Type::Path(path) = unwrap_group(ty) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    match (types.next(), types.next()) {
        (Some(inner), None) => Some(inner),
        _ => None,
    }
}

/// The type inside invisible groups (from `macro_rules!`) and parentheses.
fn unwrap_group(ty: &syn::Type) -> &syn::Type {
    match ty {
        syn::Type::Group(group) => unwrap_group(&group.elem),
        syn::Type::Paren(paren) => unwrap_group(&paren.elem),
        other => other,
    }
}

/// A type as the user would write it: `Vec<Option<String>>`, not `Vec < Option < … > >`.
pub(crate) fn type_text(ty: &syn::Type) -> String {
    let raw = ty.to_token_stream().to_string();
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let next = chars.peek().copied();
            let prev = out.chars().last();
            let tight_before = matches!(next, Some('<' | '>' | ',' | ';' | ':' | ')' | ']'));
            let tight_after = matches!(prev, Some('<' | '&' | '(' | '[' | ':'));
            if tight_before || tight_after {
                continue;
            }
        }
        out.push(c);
    }
    out
}
