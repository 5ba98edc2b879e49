//! Collects semantic errors so that every mistake of a block is reported at once, in the
//! style of serde_derive's `internals/ctxt.rs`.

use proc_macro2::{Punct, Spacing, Span, TokenStream, TokenTree};
use std::fmt::Display;

/// Where an error points: from the start of one token to the end of another. On stable
/// Rust `Span::join` gives `None`, so an error over several tokens is built the way
/// `syn::Error::new_spanned` builds one from tokens (yew's `html!` does the same): from
/// two tokens spanned at the first and the last.
#[derive(Clone, Copy, Debug)]
pub struct SpanRange {
    pub first: Span,
    pub last: Span,
}

impl From<Span> for SpanRange {
    fn from(span: Span) -> Self {
        SpanRange {
            first: span,
            last: span,
        }
    }
}

impl SpanRange {
    /// The first token's span, where one span must do (a `quote_spanned!`).
    pub fn start(self) -> Span {
        self.first
    }

    pub fn error(self, message: impl Display) -> syn::Error {
        let token = |span| {
            let mut punct = Punct::new('.', Spacing::Alone);
            punct.set_span(span);
            TokenTree::Punct(punct)
        };
        let tokens: TokenStream = [token(self.first), token(self.last)].into_iter().collect();
        syn::Error::new_spanned(tokens, message)
    }
}

#[derive(Default)]
pub struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, span: impl Into<SpanRange>, message: impl Display) {
        let error = span.into().error(message);
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
