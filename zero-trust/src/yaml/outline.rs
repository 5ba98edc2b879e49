//! A linear pre-scan of YAML text: where each document starts, and a bound on how deeply
//! flow collections (`{`, `[`) nest.
//!
//! The bound exists because the parser under yaml_serde (unsafe-libyaml) spends time
//! proportional to the flow depth on every token: 100,000 nested `{a: ...}` took 37 s to
//! fail. Refusing such text here, before the parser sees it, keeps every file linear.
//! Block nesting needs no bound here: its parse is linear, and yaml_serde refuses more
//! than 128 levels when it builds the value.

use std::num::NonZeroUsize;

use super::YamlError;

/// More flow levels than any Kubernetes object in JSON or flow YAML needs (a List of
/// NetworkPolicies nests about 12); yaml_serde would refuse more than 128 anyway.
pub const MAX_FLOW_DEPTH: usize = 100;

/// What the pre-scan found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outline {
    /// Per document of the stream, in order: the 1-based line of its first content, or
    /// `None` for a document with none (a stray `---`). Eight bytes a document.
    pub starts: Vec<Option<NonZeroUsize>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    Single,
    Double,
}

/// Scans `text` once. Errs when flow collections nest deeper than [`MAX_FLOW_DEPTH`],
/// naming the line, column and document. Otherwise it only counts: text it misreads
/// (an unusual plain scalar) is left for the parser to judge.
pub fn outline(text: &str) -> Result<Outline, YamlError> {
    let mut outline = Outline::default();
    let mut in_document = false;
    let mut depth = 0usize;
    let mut quote: Option<Quote> = None;
    // A block scalar (`|`, `>`): the indentation of the line that opened it, and of its
    // content once the first content line sets it.
    let mut block_scalar: Option<(usize, Option<usize>)> = None;

    for (number, line) in (1..).zip(text.split('\n')) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let blank = line.trim().is_empty();

        if let Some((parent, content)) = block_scalar {
            let inside = match content {
                _ if blank => true,
                Some(content) => indent >= content,
                None if indent > parent => {
                    block_scalar = Some((parent, Some(indent)));
                    true
                }
                None => false,
            };
            if inside {
                continue;
            }
            block_scalar = None;
        }

        // A marker at column 0 ends whatever was open: the parser does the same (or
        // refuses the file), so each document starts the count afresh.
        let mut start = indent;
        let marker =
            |m: &[u8]| bytes.starts_with(m) && bytes.get(3).is_none_or(|b| b.is_ascii_whitespace());
        if marker(b"---") || marker(b"...") {
            depth = 0;
            quote = None;
            if bytes[0] == b'.' {
                in_document = false;
                continue;
            }
            outline.starts.push(None);
            in_document = true;
            start = 3;
        }
        let content = line[start..].trim_start();
        if depth == 0 && quote.is_none() && (content.is_empty() || content.starts_with('#')) {
            continue;
        }
        if !in_document {
            outline.starts.push(None);
            in_document = true;
        }
        if let Some(first @ None) = outline.starts.last_mut() {
            *first = NonZeroUsize::new(number);
        }

        // True where a node may begin: after indentation, an indicator (`- `, `? `, `: `),
        // a flow opener or `,`. Only there do `[`, `{`, quotes and `|`/`>` mean anything.
        let mut node_start = true;
        let mut i = start;
        while i < bytes.len() {
            let byte = bytes[i];
            let next = bytes.get(i + 1).copied();
            let spaced = next.is_none_or(|b| b == b' ' || b == b'\t');
            match quote {
                Some(Quote::Double) => {
                    match byte {
                        b'\\' => i += 1,
                        b'"' => quote = None,
                        _ => {}
                    }
                    i += 1;
                    continue;
                }
                Some(Quote::Single) => {
                    if byte == b'\'' {
                        if next == Some(b'\'') {
                            i += 1;
                        } else {
                            quote = None;
                        }
                    }
                    i += 1;
                    continue;
                }
                None => {}
            }
            let after_space = i == 0 || matches!(bytes[i - 1], b' ' | b'\t');
            match byte {
                b' ' | b'\t' => {}
                b'#' if after_space => break,
                b'{' | b'[' if depth > 0 || node_start => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Err(YamlError {
                            message: format!(
                                "flow collections (`{{`, `[`) nest deeper than {MAX_FLOW_DEPTH} levels; \
                                 no Kubernetes object needs that many, so this file was likely generated wrong"
                            ),
                            position: Some((number, i + 1)),
                            document: outline.starts.len().checked_sub(1),
                        });
                    }
                    node_start = true;
                }
                b'}' | b']' if depth > 0 => {
                    depth -= 1;
                    node_start = false;
                }
                b',' if depth > 0 => node_start = true,
                b'"' if node_start => quote = Some(Quote::Double),
                b'\'' if node_start => quote = Some(Quote::Single),
                b'-' | b'?' | b':' if spaced || (byte == b':' && depth > 0) => node_start = true,
                b'|' | b'>' if node_start && depth == 0 => {
                    block_scalar = Some((indent, None));
                    break;
                }
                // An anchor or tag comes before its node: skip it and stay at the start.
                b'&' | b'!' if node_start => {
                    while i + 1 < bytes.len() && !matches!(bytes[i + 1], b' ' | b'\t') {
                        i += 1;
                    }
                }
                _ => node_start = false,
            }
            i += 1;
        }
    }
    Ok(outline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(text: &str) -> Vec<Option<usize>> {
        let starts = outline(text).unwrap().starts;
        starts
            .into_iter()
            .map(|s| s.map(NonZeroUsize::get))
            .collect()
    }

    #[test]
    fn finds_document_starts_and_empty_documents() {
        assert_eq!(starts("a: 1\n---\n# c\nb: 2\n"), [Some(1), Some(4)]);
        assert_eq!(
            starts("# c\n---\na: 1\n---\n---\nb: [\n  1]\n"),
            [Some(3), None, Some(6)]
        );
        assert_eq!(starts("--- {a: 1}\n...\nb: 1\n"), [Some(1), Some(3)]);
        assert_eq!(starts(""), Vec::<Option<usize>>::new());
    }

    #[test]
    fn deep_flow_nesting_is_refused_with_its_position() {
        let deep = "{a: ".repeat(MAX_FLOW_DEPTH + 1) + &"}".repeat(MAX_FLOW_DEPTH + 1);
        let error = outline(&format!("a: 1\n---\nx: {deep}\n")).unwrap_err();
        assert_eq!(error.position, Some((3, 4 + 4 * MAX_FLOW_DEPTH)));
        assert_eq!(error.document, Some(1));
        let fine = "[".repeat(MAX_FLOW_DEPTH) + &"]".repeat(MAX_FLOW_DEPTH);
        assert!(outline(&fine).is_ok());
    }

    #[test]
    fn brackets_in_strings_comments_and_block_scalars_do_not_count() {
        let many = "[".repeat(MAX_FLOW_DEPTH + 1);
        for text in [
            format!("a: \"{many}\"\n"),
            format!("a: '{many}'\n"),
            format!("a: 1 # {many}\n"),
            format!("a: b{many}\n"),
            format!("a: |\n  {many}\n  {many}\nb: 1\n"),
            format!("- >-\n    {many}\n"),
            format!("{{\"a\": \"{many}\", 'b': 'it''s {many}'}}\n"),
        ] {
            assert!(outline(&text).is_ok(), "{text}");
        }
        let many_docs = "a: [x\n---\n".repeat(2 * MAX_FLOW_DEPTH);
        assert!(
            outline(&many_docs).is_ok(),
            "each document starts at depth 0"
        );
    }
}
