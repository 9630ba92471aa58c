//! The error collector: every check reports into it, and the macro emits all errors at
//! once instead of stopping at the first.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// Collects errors while a macro parses and checks its input (serde's `Ctxt`). It must be
/// finished with [`Ctxt::finish`]; dropping it unfinished is a bug in the macro.
pub(crate) struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Self {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Reports `message` with a `help` line on the tokens of `at`.
    pub(crate) fn error_at(&self, at: impl ToTokens, message: impl Display, help: impl Display) {
        self.push(help_error(syn::Error::new_spanned(at, message), help));
    }

    /// Reports `message` with a `help` line at `span`.
    pub(crate) fn error_at_span(&self, span: Span, message: impl Display, help: impl Display) {
        self.push(help_error(syn::Error::new(span, message), help));
    }

    /// Reports an error syn produced (a malformed literal, say).
    pub(crate) fn push(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Ctxt used after finish")
            .push(error);
    }

    /// Every error as `compile_error!` invocations (empty when there were none).
    pub(crate) fn finish(self) -> TokenStream {
        let errors = self
            .errors
            .borrow_mut()
            .take()
            .expect("Ctxt finished twice");
        errors.into_iter().map(|e| e.to_compile_error()).collect()
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("Ctxt dropped without finish()");
        }
    }
}

/// Adds a `help` line under the error's message, the way rustc prints its own.
pub(crate) fn help_error(error: syn::Error, help: impl Display) -> syn::Error {
    let message = format!("{error}\n\n= help: {help}");
    let mut combined: Option<syn::Error> = None;
    for part in error.into_iter() {
        let rebuilt = syn::Error::new(part.span(), &message);
        match &mut combined {
            None => combined = Some(rebuilt),
            Some(all) => all.combine(rebuilt),
        }
    }
    combined.expect("a syn::Error holds at least one message")
}
