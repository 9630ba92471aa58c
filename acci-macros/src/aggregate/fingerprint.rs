//! The state fingerprint: a hash of the aggregate's field names and types, so a snapshot
//! taken before the state changed shape is recognised and ignored.

use quote::ToTokens;

/// FNV-1a over the fields' names and types (whitespace removed), kept within `i64` so a
/// database column of type `bigint` holds it. It covers the aggregate's own fields;
/// a change inside a field's type needs an explicit `snapshot_version`.
pub(crate) fn state_fingerprint(input: &syn::DeriveInput) -> u64 {
    let mut text = String::new();
    // Serde attributes on the type (`rename_all`, `tag`, …) change the stored shape too.
    describe_serde_attrs(&mut text, &input.attrs);
    match &input.data {
        syn::Data::Struct(data) => describe_fields(&mut text, &data.fields),
        syn::Data::Enum(data) => {
            for variant in &data.variants {
                describe_serde_attrs(&mut text, &variant.attrs);
                text.push_str(&variant.ident.to_string());
                text.push('{');
                describe_fields(&mut text, &variant.fields);
                text.push('}');
            }
        }
        syn::Data::Union(_) => {}
    }
    fnv1a(text.as_bytes()) & (i64::MAX as u64)
}

fn describe_fields(text: &mut String, fields: &syn::Fields) {
    for (index, field) in fields.iter().enumerate() {
        match &field.ident {
            Some(name) => text.push_str(&name.to_string()),
            None => text.push_str(&index.to_string()),
        }
        text.push(':');
        let ty: String = field
            .ty
            .to_token_stream()
            .to_string()
            .split_whitespace()
            .collect();
        text.push_str(&ty);
        describe_serde_attrs(text, &field.attrs);
        text.push(';');
    }
}

fn describe_serde_attrs(text: &mut String, attrs: &[syn::Attribute]) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        text.extend(attr.to_token_stream().to_string().split_whitespace());
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_follows_the_shape_not_the_spacing() {
        let a: syn::DeriveInput = syn::parse_quote!(
            struct A {
                balance: u64,
                owner: Option<String>,
            }
        );
        let b: syn::DeriveInput = syn::parse_quote!(
            struct A {
                balance: u64,
                owner: Option<String>,
            }
        );
        let c: syn::DeriveInput = syn::parse_quote!(
            struct A {
                balance: i64,
                owner: Option<String>,
            }
        );
        let d: syn::DeriveInput = syn::parse_quote!(
            #[serde(rename_all = "camelCase")]
            struct A {
                balance: u64,
                owner: Option<String>,
            }
        );
        assert_eq!(state_fingerprint(&a), state_fingerprint(&b));
        assert_ne!(state_fingerprint(&a), state_fingerprint(&c));
        assert_ne!(
            state_fingerprint(&a),
            state_fingerprint(&d),
            "container serde attributes count"
        );
        assert!(state_fingerprint(&a) <= i64::MAX as u64);
    }
}
