//! The expansion alone, timed without rustc: `cargo xtask bench` runs this ignored test
//! on the files of a synthetic platform and reads the line it prints.
//!
//! `ZERO_TRUST_BENCH_DSL` names the files (separated like `PATH`); each holds one
//! `zero_trust! { ... }` block. `ZERO_TRUST_BENCH_RUNS` is how many times to expand them
//! all (default 5). The figure is the median time of one run over every block, parse
//! (tokens to syntax tree), check and expand together, as the macro does in rustc.

use std::time::{Duration, Instant};

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

#[test]
#[ignore = "a benchmark: `cargo xtask bench` runs it in release mode"]
fn bench_expansion() {
    let paths = std::env::var_os("ZERO_TRUST_BENCH_DSL")
        .expect("set ZERO_TRUST_BENCH_DSL to the files of `cargo xtask synth`");
    let runs: usize = std::env::var("ZERO_TRUST_BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(5);
    let blocks: Vec<TokenStream> = std::env::split_paths(&paths)
        .flat_map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let tokens: TokenStream = text
                .parse()
                .unwrap_or_else(|e| panic!("{} does not lex: {e}", path.display()));
            macro_bodies(tokens)
        })
        .collect();
    let flows: usize = blocks.iter().map(|block| arrows(block.clone())).sum();

    let mut times = Vec::with_capacity(runs);
    for run in 0..runs.max(1) {
        let inputs = blocks.clone();
        let start = Instant::now();
        let outputs: Vec<TokenStream> = inputs.into_iter().map(crate::expand_zero_trust).collect();
        times.push(start.elapsed());
        if run == 0 {
            for output in outputs {
                assert!(
                    !mentions_compile_error(output),
                    "a block expands to an error; the benchmark needs a valid platform"
                );
            }
        }
    }
    times.sort();
    let ms = |time: Duration| time.as_secs_f64() * 1e3;
    println!(
        "bench_expansion blocks={} flows={flows} runs={} median_ms={:.1} min_ms={:.1} max_ms={:.1} vmhwm_kib={}",
        blocks.len(),
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        peak_memory_kib().unwrap_or(0)
    );
}

/// The bodies of the `zero_trust! { ... }` invocations among `tokens`.
pub(crate) fn macro_bodies(tokens: TokenStream) -> Vec<TokenStream> {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    tokens
        .windows(3)
        .filter_map(|window| match window {
            [
                TokenTree::Ident(name),
                TokenTree::Punct(bang),
                TokenTree::Group(body),
            ] if name == "zero_trust"
                && bang.as_char() == '!'
                && body.delimiter() == Delimiter::Brace =>
            {
                Some(body.stream())
            }
            _ => None,
        })
        .collect()
}

/// How many `->` a block holds at its top level: its flows.
fn arrows(block: TokenStream) -> usize {
    let tokens: Vec<TokenTree> = block.into_iter().collect();
    tokens
        .windows(2)
        .filter(|pair| {
            matches!(pair, [TokenTree::Punct(minus), TokenTree::Punct(gt)]
                if minus.as_char() == '-' && minus.spacing() == Spacing::Joint && gt.as_char() == '>')
        })
        .count()
}

fn mentions_compile_error(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "compile_error",
        TokenTree::Group(group) => mentions_compile_error(group.stream()),
        _ => false,
    })
}

/// The peak resident memory of this process so far (`VmHWM`), in KiB; Linux only.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
