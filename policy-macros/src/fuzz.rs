//! A fuzz loop over the whole macro on `proc_macro2` tokens: valid and invalid blocks of
//! the tests, mutated token by token (deleted, duplicated, swapped, truncated, spliced,
//! repeated, typo'd, inserted punctuation, keywords and huge literals, inside groups too).
//! Every case must expand without panicking, quickly, and every error must be in the
//! house style and point at a token of the input, not at the whole macro call.
//!
//! CI runs 2,000 cases from a random seed; more on request, and any case again:
//!
//!     ZT_FUZZ_CASES=1000000 cargo test -p policy-macros fuzz -- --nocapture
//!     ZT_FUZZ_SEED=<seed of the failing case> ZT_FUZZ_CASES=1 cargo test -p policy-macros fuzz

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use proc_macro2::{Group, TokenStream, TokenTree};

use crate::tests::{INVALID, VALID, assert_house_style, error_spans, is_call_site, tokens};

const DEFAULT_CASES: u64 = 2_000;

/// One case is a small block, expanded in microseconds; a case this slow means some
/// check has gone quadratic or worse.
const SLOW: Duration = Duration::from_secs(5);

const PASS: &[&str] = &[
    include_str!("../../tests/ui/pass/full-language.rs"),
    include_str!("../../tests/ui/pass/split-across-modules.rs"),
    include_str!("../../tests/ui/pass/empty-block.rs"),
    include_str!("../../tests/ui/pass/platform-language.rs"),
];

/// Token sequences to insert: punctuation, keywords, names, odd and huge literals, groups.
const SPARE: &[&str] = &[
    ";",
    ",",
    ":",
    "::",
    "->",
    "*",
    "..=",
    "..",
    "/",
    "=",
    "#",
    "@",
    "!",
    "-",
    "namespace",
    "external",
    "cidr",
    "except",
    "use",
    "pub",
    "crate",
    "self",
    "super",
    "as",
    "POLICY",
    "__ZERO_TRUST_ENDS",
    "r#type",
    "tcp",
    "udp",
    "sctp",
    "TCP",
    "main_api",
    "prod_api",
    "auth_service",
    "0",
    "1",
    "80",
    "65535",
    "65536",
    "0x50",
    "80u8",
    "1.5",
    "1e3",
    "99999999999999999999999",
    "340282366920938463463374607431768211456",
    "\"10.0.0.0/8\"",
    "\"prod-api\"",
    "\"\"",
    "b\"x\"",
    "'a'",
    "'a",
    "{}",
    "[]",
    "()",
    "{ a: 80 }",
    "[\"app\" = \"x\"]",
    "main_api -> auth_service:8080;",
    "namespace n { w: 1 }",
    "any",
    "in",
    "not",
    "not in",
    "[\"tier\" in [\"a\", \"b\"]]",
    "[\"tier\" not in []]",
    "[\"canary\"]",
    "[!\"legacy\"]",
    "[!]",
    "any/tcp",
    "external namespace e {}",
    "namespaces",
    "external namespaces s [\"team\" = \"a\"] {}",
    "external namespaces s [] { w [\"app\" = \"w\"] }",
    "[!\"kubernetes.io/metadata.name\"]",
    "dns/udp",
    "web -> e:dns/udp, dns_tcp;",
];

#[test]
fn fuzz_the_macro_on_mutated_blocks() {
    let cases: u64 = env_number("ZT_FUZZ_CASES").unwrap_or(DEFAULT_CASES);
    let seed = env_number("ZT_FUZZ_SEED").unwrap_or_else(|| fastrand::u64(..));
    println!("fuzz: {cases} cases from ZT_FUZZ_SEED={seed}");
    let corpus: Vec<Vec<TokenTree>> = VALID
        .iter()
        .chain(INVALID)
        .map(|source| tokens(source))
        .chain(
            PASS.iter()
                .flat_map(|file| crate::bench::macro_bodies(tokens(file))),
        )
        .map(|stream| stream.into_iter().collect())
        .collect();
    let spare: Vec<Vec<TokenTree>> = SPARE
        .iter()
        .map(|text| tokens(text).into_iter().collect())
        .collect();
    let start = Instant::now();
    for case in 0..cases {
        let case_seed = seed.wrapping_add(case);
        let mut rng = fastrand::Rng::with_seed(case_seed);
        let mut trees = corpus[rng.usize(..corpus.len())].clone();
        for _ in 0..rng.usize(1..=4) {
            mutate(&mut rng, &mut trees, &corpus, &spare, 0);
        }
        let input: TokenStream = trees.into_iter().collect();
        if let Err(why) = run_case(&input) {
            panic!(
                "fuzz case {case} failed: {why}\n  replay: ZT_FUZZ_SEED={case_seed} ZT_FUZZ_CASES=1\n  input: {input}"
            );
        }
    }
    println!("fuzz: {cases} cases in {:?}", start.elapsed());
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

/// The macro on one input, and what is wrong with its output, if anything.
fn run_case(input: &TokenStream) -> Result<(), String> {
    let source = input.to_string();
    let start = Instant::now();
    let output = catch_unwind(AssertUnwindSafe(|| crate::expand_zero_trust(input.clone())))
        .map_err(|_| "the macro panicked".to_owned())?;
    let elapsed = start.elapsed();
    if elapsed > SLOW {
        return Err(format!("the macro took {elapsed:?}"));
    }
    for (message, span) in error_spans(&output) {
        assert_house_style(&source, &message);
        if is_call_site(span) && !input.is_empty() {
            return Err(format!("`{message}` points at the whole macro call"));
        }
    }
    Ok(())
}

/// One random change to `trees`, maybe inside one of its groups.
fn mutate(
    rng: &mut fastrand::Rng,
    trees: &mut Vec<TokenTree>,
    corpus: &[Vec<TokenTree>],
    spare: &[Vec<TokenTree>],
    depth: usize,
) {
    let len = trees.len();
    let at = rng.usize(..=len);
    match rng.u8(..10) {
        // Delete a run.
        0 | 1 if len > 0 => {
            let at = rng.usize(..len);
            let end = (at + rng.usize(1..=3)).min(len);
            trees.drain(at..end);
        }
        // Duplicate a token.
        2 if len > 0 => {
            let at = rng.usize(..len);
            trees.insert(at, trees[at].clone());
        }
        // Swap two tokens.
        3 if len > 1 => trees.swap(rng.usize(..len), rng.usize(..len)),
        // Truncate.
        4 => trees.truncate(at),
        // Splice in a run of another block.
        5 => {
            let other = &corpus[rng.usize(..corpus.len())];
            if !other.is_empty() {
                let from = rng.usize(..other.len());
                let end = (from + rng.usize(1..=8)).min(other.len());
                trees.splice(at..at, other[from..end].iter().cloned());
            }
        }
        // Repeat a run many times: big input must stay fast.
        6 if len > 0 && rng.u8(..8) == 0 => {
            let from = rng.usize(..len);
            let run: Vec<TokenTree> = trees[from..(from + rng.usize(1..=12)).min(len)].to_vec();
            let copies = rng.usize(10..=300);
            let repeated: Vec<TokenTree> = (0..copies).flat_map(|_| run.iter().cloned()).collect();
            trees.splice(from..from, repeated);
        }
        // Misspell a name.
        7 => {
            let idents: Vec<usize> = (0..len)
                .filter(|&i| matches!(&trees[i], TokenTree::Ident(ident) if !ident.to_string().starts_with("r#")))
                .collect();
            if let Some(&i) = idents.get(rng.usize(..idents.len().max(1))) {
                let ident = match &trees[i] {
                    TokenTree::Ident(ident) => ident.clone(),
                    _ => unreachable!(),
                };
                let mut text = ident.to_string();
                if text.chars().count() > 1 && rng.bool() {
                    text.pop();
                }
                text.push(rng.alphabetic().to_ascii_lowercase());
                trees[i] = TokenTree::Ident(proc_macro2::Ident::new(&text, ident.span()));
            }
        }
        // Change the inside of a group.
        8 if depth < 4 => {
            let groups: Vec<usize> = (0..len)
                .filter(|&i| matches!(trees[i], TokenTree::Group(_)))
                .collect();
            if let Some(&i) = groups.get(rng.usize(..groups.len().max(1))) {
                let TokenTree::Group(group) = &trees[i] else {
                    unreachable!()
                };
                let mut inner: Vec<TokenTree> = group.stream().into_iter().collect();
                mutate(rng, &mut inner, corpus, spare, depth + 1);
                let mut changed = Group::new(group.delimiter(), inner.into_iter().collect());
                changed.set_span(group.span());
                trees[i] = TokenTree::Group(changed);
            }
        }
        // Insert punctuation, a keyword, a literal or a group.
        _ => {
            let snippet = &spare[rng.usize(..spare.len())];
            trees.splice(at..at, snippet.iter().cloned());
        }
    }
}
