//! The `zero_trust!` macro: one pipeline, parse → check → expand.
//!
//! Everything works on `proc_macro2::TokenStream` so tests and benchmarks can call
//! [`expand_zero_trust`] without rustc.

mod ast;
mod check;
mod checked;
mod clusters;
mod ctxt;
mod expand;
mod parse;
mod ports;
mod reserved;
mod resolve;
mod selector;
mod suggest;
mod work;

use proc_macro2::TokenStream;

/// Declares namespaces, workloads, CIDRs and the flows between them; see the
/// `zero-trust` crate for the language.
#[proc_macro]
pub fn zero_trust(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand_zero_trust(input.into()).into()
}

/// The whole macro on `proc_macro2` tokens. Never panics: a mistake becomes
/// `compile_error!`s at the offending tokens, next to a fallback expansion that keeps the
/// names declared so one mistake gives one error.
fn expand_zero_trust(input: TokenStream) -> TokenStream {
    let input = match parse::parse_input(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    match (&input.syntax_errors, check::check(&input)) {
        (None, Ok(checked)) => expand::expand(&checked),
        (syntax, checked) => {
            let mut tokens = expand::fallback(&input);
            if let Some(syntax) = syntax {
                tokens.extend(syntax.to_compile_error());
            }
            // After a declaration failed to parse, "not declared" errors would only echo it.
            if let Err(errors) = checked
                && !(syntax.is_some() && input.declaration_failed)
            {
                tokens.extend(errors.to_compile_error());
            }
            tokens
        }
    }
}

#[cfg(test)]
mod bench;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
