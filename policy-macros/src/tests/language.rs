//! Unit tests of the constructs for real platforms: `any`, external ends declared without
//! ports, set-based selectors, reasons, named ports, cidrs of several blocks.

use super::{compact, errors, expand, flow_rows};

#[test]
fn any_reaches_a_managed_target_only_where_it_listens_on_every_port() {
    assert_eq!(
        errors(&expand(
            "namespace shop { web: 80; batch } batch -> web:any/tcp;"
        )),
        ["workload `web` does not listen on any/tcp; declared: 80/tcp"]
    );
    assert_eq!(
        errors(&expand("namespace shop { web: any/tcp, 80 }")),
        ["port 80/tcp overlaps any/tcp, listed before it; list each port once"]
    );
}

#[test]
fn an_external_end_declared_with_ports_is_still_checked() {
    assert_eq!(
        errors(&expand(
            "namespace shop { web } external namespace db { pg: 5432 } web -> db:6379;"
        )),
        ["no workload of namespace `db` listens on 6379/tcp; declared: 5432/tcp"]
    );
}

#[test]
fn set_based_selectors_are_checked_as_the_api_server_would() {
    let cases: [(&str, &[&str]); 5] = [
        (
            "web [\"tier\" in []]",
            &[
                "`\"tier\" in []` lists no values, which the API server rejects; list at least one value, or write `\"tier\"` for any value",
            ],
        ),
        (
            "web [\"a\" = \"x\", \"a\" not in [\"x\"]]",
            &[
                "this selector can never match a pod: `\"a\" = \"x\"` and `\"a\" not in [\"x\"]` exclude each other; remove one",
            ],
        ),
        (
            "web [\"a\", !\"a\"]",
            &[
                "this selector can never match a pod: `\"a\"` and `!\"a\"` exclude each other; remove one",
            ],
        ),
        (
            "web [\"a\" in [\"x\", \"y\"], \"a\" not in [\"x\"]]",
            &["label key `a` is constrained twice; write one requirement per key"],
        ),
        (
            "web [\"a\" in [\"x\", \"x\"], \"b\" = \"y\", \"b\" = \"z\"]",
            &[
                "label value `x` is listed twice; remove one",
                "label key `b` is given twice; a pod has one value per key",
            ],
        ),
    ];
    for (workload, expected) in cases {
        let source = format!("namespace shop {{ {workload} }}");
        assert_eq!(errors(&expand(&source)), expected, "{source}");
    }
}

#[test]
fn a_flows_doc_comment_becomes_its_reason_and_other_attributes_are_refused() {
    let output =
        expand("namespace shop { web: 80; batch }\n/// Nightly reports.\nbatch -> web:80;");
    // Set on the flow's row (0): reasons are rare, so not a column of every row.
    assert!(
        compact(&output).contains("__zero_trust_flows[0usize].reason=\"Nightlyreports.\";"),
        "{output}"
    );
    assert_eq!(
        errors(&expand(
            "namespace shop { web: 80 } #[allow(x)] web -> web:80;"
        )),
        [
            "only doc comments (`/// why`) and `#[clusters(...)]` may stand before a flow or declaration"
        ]
    );
}

#[test]
fn each_block_of_a_cidr_is_checked_on_its_own() {
    assert_eq!(
        errors(&expand(
            "cidr both = \"10.0.0.0/8\" except \"10.1.0.0/16\"; \"fd00::/8\" except \"10.1.0.0/16\"; \"10.0.0.0/8\";"
        )),
        [
            "except `10.1.0.0/16` is not a strict subset of `fd00::/8`; an except entry must lie inside its CIDR and be smaller",
            "block `10.0.0.0/8` is listed twice in cidr `both`; list each block once, with all its excepts",
        ]
    );
}

#[test]
fn a_port_name_resolves_to_the_number_its_target_declares() {
    let tokens = expand(
        "namespace shop { web: http = 8080, metrics = 9090/udp; lb } lb -> web:http, metrics;",
    );
    let output = compact(&tokens);
    assert!(
        output.contains("Protocol::Tcp,first:8080u16,last:8080u16},__zero_trust::PortRange{protocol:__zero_trust::Protocol::Udp,first:9090u16"),
        "{output}"
    );
    // The flow's ports are the list `web` declares (port list 0), written once.
    assert_eq!(flow_rows(&tokens), [[0, 1, 0]], "{output}");
    assert_eq!(
        errors(&expand(
            "namespace shop { web: http = 8080; lb } lb -> web:htp;"
        )),
        ["workload `web` has no port named `htp`; named: http = 8080/tcp"]
    );
    assert_eq!(
        errors(&expand("namespace shop { web: http = 8080..=8090 }")),
        [
            "a port name names one port, as a container port does; write `http = 8080`, or leave the range unnamed"
        ]
    );
}
