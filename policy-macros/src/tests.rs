//! Unit tests of the whole pipeline on `proc_macro2` tokens, without rustc: the macro never
//! panics, reports mistakes as `compile_error!`s in the house style, and expands valid
//! blocks to the expected data. Compile errors as users see them are in `tests/ui/`.

use proc_macro2::{Span, TokenStream, TokenTree};

use crate::expand_zero_trust;

pub(crate) fn tokens(source: &str) -> TokenStream {
    source
        .parse()
        .unwrap_or_else(|error| panic!("test input does not lex: {source:?}: {error}"))
}

/// Runs the macro on `source`, failing the test (with the input) if it panics.
pub(crate) fn expand(source: &str) -> TokenStream {
    let input = tokens(source);
    match std::panic::catch_unwind(|| expand_zero_trust(input)) {
        Ok(output) => output,
        Err(_) => panic!("the macro panicked on {source:?}"),
    }
}

/// The messages of the `compile_error!`s of an expansion, in order.
pub(crate) fn errors(output: &TokenStream) -> Vec<String> {
    error_spans(output)
        .into_iter()
        .map(|(message, _)| message)
        .collect()
}

/// The messages of the `compile_error!`s of an expansion and where they point.
pub(crate) fn error_spans(output: &TokenStream) -> Vec<(String, Span)> {
    let trees: Vec<TokenTree> = output.clone().into_iter().collect();
    let mut messages = Vec::new();
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident) if ident == "compile_error" => {
                if let Some(TokenTree::Group(group)) = trees.get(i + 2) {
                    let message: syn::LitStr =
                        syn::parse2(group.stream()).expect("compile_error! holds a string");
                    messages.push((message.value(), ident.span()));
                }
            }
            TokenTree::Group(group) => messages.extend(error_spans(&group.stream())),
            _ => {}
        }
    }
    messages
}

/// The expansion with all whitespace removed, for `contains` checks that do not depend
/// on how `quote!` spaces tokens.
fn compact(output: &TokenStream) -> String {
    output.to_string().split_whitespace().collect()
}

/// The rows of the block's flow table (source end, destination end, port list), decoded
/// from the byte string the expansion writes them as.
fn flow_rows(output: &TokenStream) -> Vec<[usize; zero_trust_rules::FLOW_ROW_CELLS]> {
    let compact = compact(output);
    let start = compact
        .find("__zero_trust_rows:&[u8]=")
        .expect("a flow table")
        + 24;
    let end = start + compact[start..].find(';').expect("the end of the rows");
    let rows: syn::LitByteStr = syn::parse_str(&compact[start..end]).expect("a byte string");
    let rows = rows.value();
    let count = rows.len() / (zero_trust_rules::FLOW_ROW_CELLS * 4);
    (0..count)
        .map(|row| {
            std::array::from_fn(|column| zero_trust_rules::flow_row_cell(&rows, row, column))
        })
        .collect()
}

/// Messages are lowercase, have no final period, and never show a syn node's `Debug` form.
pub(crate) fn assert_house_style(source: &str, message: &str) {
    let first = message
        .chars()
        .next()
        .unwrap_or_else(|| panic!("empty message for {source:?}"));
    assert!(
        !first.is_uppercase(),
        "message starts uppercase for {source:?}: {message}"
    );
    assert!(
        !message.ends_with('.'),
        "message ends with a period for {source:?}: {message}"
    );
    for debug in ["Ident {", "LitInt {", "LitStr {", "Span", "TokenStream"] {
        assert!(
            !message.contains(debug),
            "message shows `{debug}` for {source:?}: {message}"
        );
    }
}

pub(crate) const BLOCK: &str = "namespace prod_api { main_api: 3000; auth_service: 8080 }";

/// Odd or wrong inputs: each must give at least one `compile_error!`, never a panic.
pub(crate) const INVALID: &[&str] = &[
    // Stray punctuation and keywords.
    ";",
    ",",
    "->",
    "-> ->",
    ":",
    "::",
    "* ",
    "*;",
    "* ->",
    "* -> *",
    "* -> *:",
    "@ # $ % ^ &",
    "=> <- <= >= ==",
    "..=",
    "'a",
    "'a -> 'b:80;",
    // Attributes other than doc comments.
    "#[allow(dead_code)] namespace shop { web: 80 }",
    "namespace shop { #[cfg(test)] web: 80 }",
    "namespace shop { web: 80 } #[doc(hidden)] web -> web:80;",
    "#[doc = 1] namespace shop {}",
    "/// dangling",
    // Named ports misused.
    "namespace shop { web: http = 8080; lb } lb -> web:htp;",
    "namespace shop { web: 8080; lb } lb -> web:http;",
    "namespace shop { web: http = 8080; lb } lb -> shop:http;",
    "namespace shop { web: http = 8080..=8090 }",
    "namespace shop { web: http = 80, http = 81 }",
    "namespace shop { web: http = 8080; lb } lb -> web:http/udp;",
    "namespace shop { lb } cidr internet = \"0.0.0.0/0\"; lb -> internet:https;",
    "namespace shop { lb } external namespace k { dns } lb -> dns:dns_over_https_v2;",
    "namespace shop { lb } external namespace k { dns } lb -> dns:dns, dns;",
    "namespace shop { lb } lb -> *:http;",
    // Several blocks misused.
    "cidr both = \"10.0.0.0/8\"; \"10.0.0.0/8\";",
    "cidr both = \"10.0.0.0/8\"; \"fd00::/8\" except \"10.1.0.0/16\";",
    "cidr both = \"10.0.0.0/8\"; ;",
    // Set-based selectors misused.
    "namespace shop { web [\"tier\" in []] }",
    "namespace shop { web [\"tier\" not in []] }",
    "namespace shop { web [\"a\" = \"x\", \"a\" not in [\"x\"]] }",
    "namespace shop { web [\"a\", !\"a\"] }",
    "namespace shop { web [\"a\" in [\"x\", \"x\"]] }",
    "namespace shop { web [\"a\" in \"x\"] }",
    "namespace shop { web [\"a\" not [\"x\"]] }",
    "namespace shop { web [!\"a\" = \"x\"] }",
    "namespace shop { web [\"a\" in [\"-x\"]] }",
    // `any` misused.
    "namespace shop { web: 80; batch } batch -> web:any;",
    "namespace shop { web: any/tcp, 80 }",
    "namespace shop { web: any..=80 }",
    "namespace shop { web: any/icmp }",
    "namespace shop { web: 80 } external namespace db { pg: 5432 } web -> db:6379;",
    "#[cfg(test)] namespace a { b: 80 }",
    "pub(crate) use crate::a;",
    "fn main() {}",
    "self -> super:80;",
    "crate -> x:80;",
    "Self -> x:80;",
    // Literals where names are expected, and names where literals are expected.
    "\"prod_api\" -> main_api:80;",
    "80 -> 81:82;",
    "namespace \"prod-api\" { main_api: 80 }",
    "namespace prod_api as prod_api_k8s { main_api: 80 }",
    "namespace prod_api { main_api as main: 80 }",
    "namespace prod_api { main_api [app = \"x\"]: 80 }",
    "namespace prod_api { main_api [\"app\" = x]: 80 }",
    "namespace prod_api { main_api [\"app\" = 1]: 80 }",
    "namespace prod_api { main_api: \"80\" }",
    "namespace prod_api { main_api: 80.0 }",
    "namespace prod_api { main_api: -80 }",
    "namespace prod_api { main_api: 1e3 }",
    "namespace prod_api { main_api: 80/17 }",
    "namespace prod_api { main_api: 80/\"udp\" }",
    "cidr office = 10;",
    "cidr office = \"\";",
    "cidr office = b\"10.0.0.0/8\";",
    "cidr office = \"10.0.0.0/8\" except;",
    "cidr office = \"10.0.0.0/8\" except 10;",
    "cidr = \"10.0.0.0/8\";",
    // Incomplete declarations.
    "namespace",
    "namespace prod_api",
    "namespace prod_api as",
    "namespace prod_api as \"prod-api\"",
    "namespace prod_api { ; }",
    "namespace prod_api { main_api: 80;; }",
    "namespace prod_api { main_api: }",
    "namespace prod_api { main_api: 80, }",
    "namespace prod_api { main_api [\"app\" = \"x\",,] }",
    "namespace prod_api { main_api [\"app\" =] }",
    "external",
    "external namespace",
    "external prod_api { main_api: 80 }",
    "cidr",
    "cidr office",
    "cidr office =",
    "use",
    "use ;",
    "main_api",
    "main_api ->",
    "main_api -> auth_service",
    "main_api -> auth_service:",
    "main_api -> auth_service:8080,",
    "main_api -> auth_service:8080 8081",
    "main_api -> auth_service:8080..",
    "main_api -> auth_service:8080..=",
    "main_api -> auth_service:8080/",
    // Groups where they do not belong, and deep nesting.
    "()",
    "[]",
    "{}",
    "((((((((((((((((((((((((((((((((()))))))))))))))))))))))))))))))))",
    "namespace prod_api { main_api [[[[[[[[[[[[]]]]]]]]]]]]: 80 }",
    "namespace prod_api { { { { { { { { { { } } } } } } } } } }",
    "namespace prod_api { main_api: (80) }",
    "(main_api) -> auth_service:8080;",
    // Huge and edge numbers.
    "namespace prod_api { main_api: 99999999999999999999999999999999999999999 }",
    "namespace prod_api { main_api: 18446744073709551616 }",
    "namespace prod_api { main_api: 18446744073709551615 }",
    "namespace prod_api { main_api: 4294967376 }",
    "namespace prod_api { main_api: 65616 }",
    "namespace prod_api { main_api: 1..=99999999999999999999999999 }",
    "namespace prod_api { main_api: 99999999999999999999999999..=1 }",
    "namespace prod_api { main_api: 0..=0 }",
    "namespace prod_api { main_api: 65535..=65536 }",
    // Non-ASCII and odd identifiers.
    "namespace café { main_api: 80 }",
    "namespace prod_api { ünïcode: 80 }",
    "namespace 名前 { 仕事: 80 }",
    "namespace prod_api { main_api: 80 } main_api -> 仕事:80;",
    "namespace prod_api { main_api: 80 } main_api -> мain_api:80;",
    "namespace _ { main_api: 80 }",
    "namespace prod_api { _: 80 }",
    "namespace __ { main_api: 80 }",
    "namespace prod_api { r#type: 80; r#type: 81 }",
    "namespace prod_api { r#foo: 80; foo: 81 }",
    "namespace prod_api { main_api: 80 } namespace r#prod_api { worker: 81 }",
    // Strings that Kubernetes rejects.
    "namespace prod_api as \"\" {}",
    "namespace prod_api as \"\\u{0}\" {}",
    "namespace prod_api as \"prod api\" {}",
    "namespace prod_api as \"プロド\" {}",
    "namespace prod_api { main_api [\"\" = \"\"] }",
    "namespace prod_api { main_api [\"/\" = \"x\"] }",
    "namespace prod_api { main_api [\"a/b/c\" = \"x\"] }",
    "namespace prod_api { main_api [\"app\" = \"-\"] }",
    "namespace prod_api { main_api [\"ключ\" = \"значение\"] }",
    "namespace prod_api { main_api [] }",
    "namespace prod_api { all_pods }",
    // CIDRs.
    "cidr office = \"10.0.0.0/33\";",
    "cidr office = \"::/129\";",
    "cidr office = \"10.0.0.0/8/8\";",
    "cidr office = \"10.0.0.0/-1\";",
    "cidr office = \"10.0.0.0/99999999999999999999\";",
    "cidr office = \"not a cidr\" except \"10.0.0.0/8\";",
    "cidr office = \"10.0.0.0/8\" except \"10.0.0.0/8\", \"x\", \"fd00::/8\";",
    // Meaning: dangling ends, ports nobody listens on, unmanaged flows, duplicates.
    "a -> b:80;",
    "namespace prod_api { main_api: 3000 } main_api -> main_apii:3000;",
    "namespace prod_api { main_api: 3000 } main_api -> main_api:3001;",
    "namespace prod_api { main_api: 3000 } main_api -> main_api:3000/udp;",
    "namespace prod_api { main_api: 3000 } main_api -> prod_api:3001;",
    "namespace prod_api { main_api: 3000 } main_api -> main_api:3000, 3000;",
    "namespace prod_api { main_api: 3000 } main_api -> main_api:3000; main_api -> main_api:3000;",
    "namespace prod_api { main_api: 3000 } * -> *:80; * -> *:81;",
    "external namespace a { b: 80 } b -> a:80;",
    "cidr a = \"10.0.0.0/8\"; cidr b = \"11.0.0.0/8\"; a -> b:80;",
    "cidr a = \"10.0.0.0/8\"; a -> a:80;",
    "namespace a {} namespace a {}",
    "namespace a { a: 80 }",
    "namespace a as \"x\" {} namespace b as \"x\" {}",
    "namespace a { b: 80 } cidr b = \"10.0.0.0/8\";",
];

/// Blocks that must expand without error.
pub(crate) const VALID: &[&str] = &[
    "",
    BLOCK,
    "namespace prod_api {}",
    "namespace prod_api { main_api: 80; }",
    "external namespace kube_system { kube_dns [\"k8s-app\" = \"kube-dns\"]: 53/udp, 53/tcp }",
    "cidr office = \"192.0.2.0/24\"",
    "cidr office = \"fd00::/8\" except \"fd00::/16\";",
    "use crate::other::*; namespace prod_api { main_api: 80 } main_api -> anything:1;",
    "use crate::other::{a, b as c}; namespace prod_api { main_api: 80 } a -> c:1",
    "namespace prod_api { main_api: 80 } main_api -> crate::other::x:80; other::y -> main_api:80;",
    "namespace prod_api { main_api: 80 } * -> main_api:80; main_api -> *:443",
    "namespace prod_api { cidr: 80; namespace: 81; except: 82; external: 83 } cidr -> namespace:81;",
    "namespace prod_api { main_api: 1, 65535, 1024..=2048/udp, 9/sctp }",
    "namespace prod_api { main_api [\"example.com/a_b.c\" = \"\"]: 80 }",
    // `any`, and external ends declared without ports.
    "namespace prod_api { main_api: any; batch } batch -> main_api:any;",
    "namespace shop { web: any/tcp, 53/udp; batch } batch -> web:any/tcp, 53/udp;",
    "namespace shop { batch } external namespace db {} batch -> db:5432, 6379;",
    "namespace shop { batch } external namespace ext { api [\"app\" = \"api\"] } batch -> api:any/udp, 8080;",
    "namespace shop { batch } cidr net = \"10.0.0.0/8\"; batch -> net:any;",
    // Doc comments: reasons of flows, docs of declarations.
    "/// The API.\nnamespace shop {\n/// Serves.\nweb: 80; batch }\n/// Nightly.\nbatch -> web:80;\n/// Partner.\ncidr p = \"10.0.0.0/8\";\n/// Imported.\nuse crate::x::y;",
    // Named ports.
    "namespace shop { web: http = 8080, metrics = 9090/tcp, 53/udp; lb } lb -> web:http, metrics, 53/udp;",
    // A cidr of several blocks.
    "cidr internet = \"0.0.0.0/0\" except \"10.0.0.0/8\"; \"::/0\" except \"fc00::/7\"; namespace s { w } w -> internet:443;",
    "cidr both = \"10.0.0.0/8\"; \"fd00::/8\"",
    // Set-based selectors.
    "namespace shop { web [\"tier\" in [\"web\", \"api\"], \"canary\", !\"legacy\", \"app\" = \"web\"]: 80 }",
    "namespace shop { web [\"tier\" not in [\"batch\"]]; not [!\"in\"] }",
];

#[test]
fn invalid_inputs_give_errors_in_the_house_style_and_never_panic() {
    let mut accepted = Vec::new();
    for source in INVALID {
        let output = expand(source);
        let messages = errors(&output);
        if messages.is_empty() {
            accepted.push(*source);
        }
        for message in &messages {
            assert_house_style(source, message);
        }
    }
    assert!(accepted.is_empty(), "no compile_error for {accepted:#?}");
}

#[test]
fn valid_inputs_expand_without_errors() {
    for source in VALID {
        let output = expand(source);
        assert_eq!(
            errors(&output),
            Vec::<String>::new(),
            "errors for {source:?}"
        );
        assert!(
            compact(&output).contains("pubconstPOLICY"),
            "no POLICY for {source:?}"
        );
    }
}

#[test]
fn a_workload_gets_its_kubernetes_name_and_default_selector() {
    let output = compact(&expand(BLOCK));
    assert!(
        output.contains("pubconstmain_api:__zero_trust::Workload=__ZERO_TRUST_WORKLOADS[0usize]"),
        "{output}"
    );
    assert!(output.contains("name:\"main-api\""), "{output}");
    assert!(output.contains("name:\"prod-api\""), "{output}");
    assert!(output.contains("managed:true"), "{output}");
    assert!(
        output.contains("selector:&[__zero_trust::Label{key:\"app\",value:\"main-api\"}]"),
        "{output}"
    );
    assert!(output.contains("first:3000u16,last:3000u16"), "{output}");
}

#[test]
fn explicit_names_labels_and_protocols_are_kept() {
    let output = compact(&expand(
        "external namespace kube_system as \"kube-system\" { \
             dns as \"coredns\" [\"k8s-app\" = \"kube-dns\", \"tier\" = \"control-plane\"]: 53/udp, 30000..=32767/sctp \
         }",
    ));
    assert!(
        output.contains("name:\"kube-system\",managed:false"),
        "{output}"
    );
    assert!(output.contains("name:\"coredns\""), "{output}");
    assert!(
        output.contains("Label{key:\"k8s-app\",value:\"kube-dns\"},"),
        "{output}"
    );
    assert!(
        output.contains("Label{key:\"tier\",value:\"control-plane\"}"),
        "{output}"
    );
    assert!(
        !output.contains("key:\"app\""),
        "explicit labels replace the default: {output}"
    );
    assert!(
        output.contains("Protocol::Udp,first:53u16,last:53u16"),
        "{output}"
    );
    assert!(
        output.contains("Protocol::Sctp,first:30000u16,last:32767u16"),
        "{output}"
    );
}

#[test]
fn cidrs_and_flows_are_expanded() {
    let tokens = expand(
        "namespace prod_api { main_api: 3000 } \
         cidr public_internet = \"0.0.0.0/0\" except \"10.0.0.0/8\"; \
         main_api -> public_internet:443, 80; \
         * -> main_api:3000;",
    );
    let output = compact(&tokens);
    assert!(
        output.contains("cidr:\"0.0.0.0/0\",except:&[\"10.0.0.0/8\"]"),
        "{output}"
    );
    // Each flow is a row (source, destination, port list) into the block's tables. The
    // port lists are shared with the namespace and workloads: `3000` is the list of
    // `prod_api` and `main_api` first.
    assert_eq!(flow_rows(&tokens), [[0, 1, 1], [2, 0, 0]], "{output}");
    // No reason to set.
    assert!(!output.contains(".reason="), "{output}");
    assert!(
        output.contains("__ZERO_TRUST_ENDS:&[__zero_trust::Endpoint]=&[__zero_trust::Endpoint::Workload(&main_api),__zero_trust::Endpoint::Cidr(&public_internet),__zero_trust::Endpoint::AllManaged,]"),
        "{output}"
    );
}

#[test]
fn a_foreign_target_gets_a_const_port_check() {
    let output = compact(&expand(
        "namespace prod_api { main_api: 3000 } main_api -> other::auth_service:8080;",
    ));
    assert!(
        output.contains("(&other::auth_service).as_zero_trust_flow_end()"),
        "{output}"
    );
    // The port, checked by rustc against the target's declaration in the other module.
    assert!(
        output.contains("__zero_trust::expect_port_at(__ZERO_TRUST_ENDS,__ZERO_TRUST_PORTS,1usize,1usize,0usize,)"),
        "{output}"
    );
    // The source is a managed workload of this block, so the flow writes a policy whatever
    // the target is: no check for it.
    assert!(!output.contains("expect_managed_end"), "{output}");
}

#[test]
fn semantic_errors_accumulate_and_keep_the_declared_names() {
    let output = expand(
        "namespace ProdApi { main_api: 0; worker [\"app\" = \"a\", \"app\" = \"b\"] } \
         cidr office = \"10.1.2.3/8\"; \
         main_api -> auth_servce:8080;",
    );
    let messages = errors(&output);
    assert_eq!(messages.len(), 5, "{messages:#?}");
    let compact = compact(&output);
    for name in ["ProdApi", "main_api", "worker", "office", "POLICY"] {
        assert!(
            compact.contains(&format!("pubconst{name}:")),
            "fallback lacks `{name}`: {compact}"
        );
    }
}

#[test]
fn a_typo_gets_a_suggestion() {
    let messages = errors(&expand(&format!("{BLOCK} main_api -> auth_servce:8080;")));
    assert_eq!(
        messages,
        ["`auth_servce` is not declared; did you mean `auth_service`?"]
    );
}

#[test]
fn syntax_errors_stop_at_the_first() {
    let messages = errors(&expand(
        "namespace prod_api { main_api 3000 } main_api auth_service:8080;",
    ));
    assert_eq!(messages.len(), 1, "{messages:#?}");
}

// Known macro bugs, reported to the lead: un-ignore each once the macro is fixed.

#[test]
fn a_raw_identifier_can_be_a_flow_end() {
    let source = "namespace prod_api { main_api: 3000; r#type: 80 } main_api -> r#type:80;";
    assert_eq!(errors(&expand(source)), Vec::<String>::new());
}

#[test]
fn a_port_with_a_type_suffix_is_rejected() {
    assert!(!errors(&expand("namespace prod_api { main_api: 3000u8 }")).is_empty());
}

/// Whether a span is the call site's: the whole macro call in rustc, bytes 0..0 here.
pub(crate) fn is_call_site(span: Span) -> bool {
    span.byte_range() == (0..0)
}

#[test]
fn an_error_at_the_end_of_input_points_at_the_last_token() {
    for source in [
        "namespace",
        "external",
        "cidr office =",
        "main_api",
        "main_api ->",
        "main_api -> auth_service",
        "main_api -> auth_service:",
        "main_api -> auth_service:8080..=",
        "namespace prod_api",
        "namespace prod_api as \"prod-api\"",
    ] {
        let output = expand(source);
        let spans = error_spans(&output);
        assert_eq!(spans.len(), 1, "{source:?}: {spans:?}");
        let (message, span) = &spans[0];
        let last = tokens(source)
            .into_iter()
            .last()
            .unwrap()
            .span()
            .byte_range();
        let at = span.byte_range();
        assert!(
            !is_call_site(*span) && last.start <= at.start && at.end <= last.end,
            "{source:?}: `{message}` points at {at:?}, not at the last token {last:?}"
        );
    }
}

#[test]
fn a_huge_port_is_reported_as_written() {
    for (port, written) in [
        ("99999999999999999999999", "99999999999999999999999"),
        ("18446744073709551616", "18446744073709551616"),
        ("99_999_999_999_999_999_999", "99999999999999999999"),
        (
            "1..=340282366920938463463374607431768211456",
            "340282366920938463463374607431768211456",
        ),
    ] {
        let messages = errors(&expand(&format!(
            "namespace prod_api {{ main_api: {port} }}"
        )));
        assert_eq!(
            messages,
            [format!(
                "port {written} is out of range; ports are {} to {}",
                zero_trust_rules::FIRST_PORT,
                zero_trust_rules::LAST_PORT
            )],
            "{port}"
        );
    }
}

#[test]
fn a_name_the_expansion_uses_is_refused_at_the_name() {
    for (source, message) in [
        (
            "namespace prod_api { POLICY: 80 }",
            "`POLICY` is the item listing what the block declares; rename the workload",
        ),
        (
            "namespace POLICY {}",
            "`POLICY` is the item listing what the block declares; rename the namespace",
        ),
        (
            "cidr r#POLICY = \"10.0.0.0/8\";",
            "`POLICY` is the item listing what the block declares; rename the cidr",
        ),
        (
            "namespace prod_api { __ZERO_TRUST_ENDS: 80 }",
            "names starting with `__zero_trust` are reserved for the macro's hidden items; rename the workload",
        ),
        (
            "namespace __zero_trust {}",
            "names starting with `__zero_trust` are reserved for the macro's hidden items; rename the namespace",
        ),
        (
            "namespace __zero_trust_i {}",
            "names starting with `__zero_trust` are reserved for the macro's hidden items; rename the namespace",
        ),
        (
            "use other::{a, POLICY};",
            "`POLICY` is the item listing what the block declares; bring it in under another name with `as`",
        ),
        (
            "use other::a as __ZERO_TRUST_PORTS;",
            "names starting with `__zero_trust` are reserved for the macro's hidden items; bring it in under another name with `as`",
        ),
    ] {
        let output = expand(source);
        assert_eq!(errors(&output), [message], "{source}");
        // The fallback declares the generated `POLICY` only, so rustc adds no error.
        let compact = compact(&output);
        assert_eq!(compact.matches("pubconstPOLICY").count(), 1, "{compact}");
        assert!(!compact.contains("pubconst__"), "{compact}");
        assert!(!compact.contains("useother"), "{compact}");
    }
    // Only the exact name and the prefix are taken.
    assert_eq!(
        errors(&expand(
            "namespace policy { Policy as \"a\": 80; POLICY_V2 as \"b\": 81; zero_trust: 82 }"
        )),
        Vec::<String>::new()
    );
}

mod language;
