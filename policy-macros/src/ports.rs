//! The port rules that compare ports with each other: each listed once, and each a flow
//! names listened on by its target. A flow or workload may list thousands of ports, so
//! both sort and sweep instead of comparing every pair; short lists, the usual case, keep
//! the pairwise loop, which allocates nothing.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use zero_trust_rules::{FIRST_PORT, LAST_PORT, PortRange, check_port_range};

use crate::ctxt::{Errors, SpanRange};
use crate::work;

/// Up to this many ports, pairwise comparison is cheaper than sorting.
const PAIRWISE: usize = 8;

/// Rule: a port is a plain decimal number from `FIRST_PORT` to `LAST_PORT`.
pub fn port_number(literal: &syn::LitInt, errors: &mut Errors) -> Option<u64> {
    let text = literal.to_string();
    if !literal.suffix().is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        errors.push(
            literal.span(),
            format!("port `{text}` must be a plain decimal number, like `8080`"),
        );
        return None;
    }
    // Only digits are left, so the parse fails only on overflow: say the number as written
    // rather than the largest `u64`.
    let digits = literal.base10_digits();
    let Ok(number) = digits.parse::<u64>() else {
        errors.push(
            literal.span(),
            format!("port {digits} is out of range; ports are {FIRST_PORT} to {LAST_PORT}"),
        );
        return None;
    };
    if let Err(why) = check_port_range(number, None) {
        errors.push(literal.span(), why);
        return None;
    }
    Some(number)
}

/// Rule: a port is listed once per workload or flow, and ranges do not overlap. Each port
/// that overlaps an earlier one is reported against the first such.
pub fn ports_are_listed_once(ports: &[(PortRange, SpanRange)], errors: &mut Errors) {
    let ranges: Vec<PortRange> = ports.iter().map(|(port, _)| *port).collect();
    for (i, earlier) in first_earlier_overlaps(&ranges).into_iter().enumerate() {
        let Some(earlier) = earlier else { continue };
        let (port, earlier) = (&ranges[i], &ranges[earlier]);
        let message = if earlier == port {
            format!("port {port} is listed twice; remove one")
        } else {
            format!("port {port} overlaps {earlier}, listed before it; list each port once")
        };
        errors.push(ports[i].1, message);
    }
}

/// For each port, the first port listed before it that it overlaps.
fn first_earlier_overlaps(ports: &[PortRange]) -> Vec<Option<usize>> {
    if ports.len() <= PAIRWISE {
        pairwise(ports)
    } else {
        sweep(ports)
    }
}

fn overlap(a: &PortRange, b: &PortRange) -> bool {
    work::count(1);
    a.protocol == b.protocol && a.first <= b.last && b.first <= a.last
}

fn pairwise(ports: &[PortRange]) -> Vec<Option<usize>> {
    (0..ports.len())
        .map(|i| (0..i).find(|&j| overlap(&ports[j], &ports[i])))
        .collect()
}

/// `pairwise` in O(n log n). The first earlier port that `i` overlaps is the least index
/// among all ports overlapping `i`, `i` included, when that index is below `i`. A port
/// `j` overlaps `i` when it starts at or before `i`'s first port and reaches it (a stab
/// at a point, answered by a sweep with a heap), or starts within `i` (a range of the
/// ports sorted by their first port, answered by a minimum tree).
fn sweep(ports: &[PortRange]) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..ports.len()).collect();
    let key = |i: usize| (ports[i].protocol, ports[i].first, i);
    order.sort_unstable_by(|&a, &b| {
        work::count(1);
        key(a).cmp(&key(b))
    });
    let mut least = vec![usize::MAX; ports.len()];
    for segment in order.chunk_by(|&a, &b| ports[a].protocol == ports[b].protocol) {
        stabbing(ports, segment, &mut least);
        starting_within(ports, segment, &mut least);
    }
    least
        .into_iter()
        .enumerate()
        .map(|(i, j)| (j < i).then_some(j))
        .collect()
}

/// For ports of one protocol sorted by first port: the least index of a port starting at
/// or before each one's first port and reaching it.
fn stabbing(ports: &[PortRange], segment: &[usize], least: &mut [usize]) {
    // Started ports by index; one that ended before the sweep's point never reaches a
    // later point, so it is dropped when it comes to the top.
    let mut started: BinaryHeap<Reverse<(usize, u16)>> = BinaryHeap::new();
    for group in segment.chunk_by(|&a, &b| ports[a].first == ports[b].first) {
        let point = ports[group[0]].first;
        for &i in group {
            work::count(1);
            started.push(Reverse((i, ports[i].last)));
        }
        while let Some(Reverse((_, last))) = started.peek() {
            if *last >= point {
                break;
            }
            work::count(1);
            started.pop();
        }
        // Not empty: the group's own ports reach the point.
        if let Some(Reverse((first_started, _))) = started.peek() {
            for &i in group {
                least[i] = least[i].min(*first_started);
            }
        }
    }
}

/// For ports of one protocol sorted by first port: the least index of a port whose first
/// port lies within each one.
fn starting_within(ports: &[PortRange], segment: &[usize], least: &mut [usize]) {
    let n = segment.len();
    // A minimum tree over the indices in sorted order: leaves at n..2n.
    let mut tree = vec![usize::MAX; 2 * n];
    tree[n..].copy_from_slice(segment);
    for node in (1..n).rev() {
        tree[node] = tree[2 * node].min(tree[2 * node + 1]);
    }
    for (at, &i) in segment.iter().enumerate() {
        let end = segment.partition_point(|&j| {
            work::count(1);
            ports[j].first <= ports[i].last
        });
        // Ports sharing `i`'s first port sort before it too; the stab covers them.
        let (mut lo, mut hi) = (at + n, end + n);
        while lo < hi {
            work::count(1);
            if lo % 2 == 1 {
                least[i] = least[i].min(tree[lo]);
                lo += 1;
            }
            if hi % 2 == 1 {
                hi -= 1;
                least[i] = least[i].min(tree[hi]);
            }
            lo /= 2;
            hi /= 2;
        }
    }
}

/// The ports a flow's target listens on, to ask whether one of them covers a port.
pub struct Listening<'p> {
    ports: &'p [PortRange],
    /// For many ports: sorted by protocol and first port, with the furthest last port
    /// reached so far within each protocol.
    sorted: Option<(Vec<PortRange>, Vec<u16>)>,
}

impl<'p> Listening<'p> {
    /// `queries` is how many ports will be asked about, to choose the cheaper way.
    pub fn new(ports: &'p [PortRange], queries: usize) -> Listening<'p> {
        if ports.len().saturating_mul(queries) <= PAIRWISE * PAIRWISE {
            return Listening {
                ports,
                sorted: None,
            };
        }
        let mut sorted = ports.to_vec();
        sorted.sort_unstable_by(|a, b| {
            work::count(1);
            a.cmp(b)
        });
        let mut reach = Vec::with_capacity(sorted.len());
        for (k, port) in sorted.iter().enumerate() {
            let before = match k.checked_sub(1).map(|k| (&sorted[k], reach[k])) {
                Some((previous, furthest)) if previous.protocol == port.protocol => furthest,
                _ => 0,
            };
            reach.push(port.last.max(before));
        }
        Listening {
            ports,
            sorted: Some((sorted, reach)),
        }
    }

    pub fn covers(&self, port: &PortRange) -> bool {
        let Some((sorted, reach)) = &self.sorted else {
            return self.ports.iter().any(|listened| {
                work::count(1);
                listened.covers(port)
            });
        };
        // Among the ports of the protocol starting at or before `port`, one reaching its
        // last port covers it.
        let start = sorted.partition_point(|listened| {
            work::count(1);
            listened.protocol < port.protocol
        });
        let end = sorted.partition_point(|listened| {
            work::count(1);
            (listened.protocol, listened.first) <= (port.protocol, port.first)
        });
        end > start && reach[end - 1] >= port.last
    }
}

/// At most this many ports are named in a message listing the declared ones.
const LISTED: usize = 16;

/// The ports a target listens on, for a message: all of a short list, the first of a
/// long one and how many more.
pub fn list(ports: &[PortRange]) -> String {
    let mut text = ports
        .iter()
        .take(LISTED)
        .map(|p| format!("{p}"))
        .collect::<Vec<_>>()
        .join(", ");
    if ports.len() > LISTED {
        text.push_str(&format!(" and {} more", ports.len() - LISTED));
    }
    text
}

#[cfg(test)]
mod tests {
    use zero_trust_rules::{PortRange, Protocol};

    use super::*;

    fn random_ports(rng: &mut fastrand::Rng, n: usize, width: u16) -> Vec<PortRange> {
        (0..n)
            .map(|_| {
                let first = rng.u16(1..=width);
                let last = if rng.bool() {
                    first
                } else {
                    rng.u16(first..=width)
                };
                let protocol = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][rng.usize(..3)];
                PortRange {
                    protocol,
                    first,
                    last,
                }
            })
            .collect()
    }

    #[test]
    fn the_sweep_finds_the_same_earlier_port_as_comparing_every_pair() {
        let seed = fastrand::u64(..);
        let mut rng = fastrand::Rng::with_seed(seed);
        for _ in 0..2_000 {
            let n = rng.usize(0..40);
            let width = rng.u16(1..=60);
            let ports = random_ports(&mut rng, n, width);
            assert_eq!(sweep(&ports), pairwise(&ports), "seed {seed}: {ports:?}");
        }
    }

    #[test]
    fn the_index_of_listened_ports_answers_like_the_list() {
        let seed = fastrand::u64(..);
        let mut rng = fastrand::Rng::with_seed(seed);
        for _ in 0..500 {
            let n = rng.usize(0..30);
            let listened = random_ports(&mut rng, n, 50);
            let asked = random_ports(&mut rng, 30, 50);
            let (small, big) = (
                Listening::new(&listened, 0),
                Listening::new(&listened, 1000),
            );
            for port in &asked {
                assert_eq!(
                    small.covers(port),
                    big.covers(port),
                    "seed {seed}: {port} in {listened:?}"
                );
            }
        }
    }

    /// 20,000 ports on a workload and on a flow to it, with one duplicate, one overlap and
    /// one port not listened on: the errors of comparing every pair, with n log n work.
    #[test]
    fn twenty_thousand_ports_take_n_log_n_steps() {
        let n: u64 = 20_000;
        let listened: Vec<String> = (1..=n).map(|port| port.to_string()).collect();
        let mut asked = listened.clone();
        asked.extend(["5".to_owned(), "10..=12".to_owned(), "30000".to_owned()]);
        let source = format!(
            "namespace prod_api {{ big: {} }} big -> big: {};",
            listened.join(", "),
            asked.join(", ")
        );
        let input = crate::tests::tokens(&source);
        let start = std::time::Instant::now();
        let (output, steps) = work::counted(|| crate::expand_zero_trust(input));
        let elapsed = start.elapsed();
        // A range is listened on when one declared range covers it.
        let declared = "declared: 1/tcp, 2/tcp, 3/tcp, 4/tcp, 5/tcp, 6/tcp, 7/tcp, 8/tcp, \
            9/tcp, 10/tcp, 11/tcp, 12/tcp, 13/tcp, 14/tcp, 15/tcp, 16/tcp and 19984 more";
        assert_eq!(
            crate::tests::errors(&output),
            [
                "port 5/tcp is listed twice; remove one",
                "port 10..=12/tcp overlaps 10/tcp, listed before it; list each port once",
                &format!("workload `big` does not listen on 10..=12/tcp; {declared}"),
                &format!("workload `big` does not listen on 30000/tcp; {declared}"),
            ]
        );
        // Sorting and searching 3 lists of n ports: a few n log n. Comparing every pair
        // would be n² / 2 = 200,000,000 for each list.
        let budget = 3 * 8 * n * u64::from(n.ilog2() + 1);
        println!("{steps} steps (budget {budget}) in {elapsed:?}");
        assert!(
            steps <= budget,
            "{steps} steps for {n} ports; budget {budget}"
        );
    }
}
