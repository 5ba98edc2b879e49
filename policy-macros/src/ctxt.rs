//! Collects semantic errors so that every mistake of a block is reported at once, in the
//! style of serde_derive's `internals/ctxt.rs`.

use proc_macro2::Span;
use std::fmt::Display;

#[derive(Default)]
pub struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, span: Span, message: impl Display) {
        let error = syn::Error::new(span, message);
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    pub fn finish<T>(self, value: T) -> Result<T, syn::Error> {
        match self.combined {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }
}
