//! "Did you mean": the declared name closest to an undeclared one. A block may declare
//! thousands of names and misspell hundreds, so the names are kept in a trie, built on
//! the first miss: names sharing a prefix share its row of the edit-distance table, a
//! branch is left as soon as no name below it can be close enough, and only the band of
//! the table within the distance bound is filled. Each distinct misspelling is looked up
//! once.

use std::collections::HashMap;

use crate::work;

/// Suggestions are at most this many edits away, however long the name: further ones
/// are rarely what was meant, and the search grows with the bound.
const MAX_DISTANCE: usize = 3;

/// The closest of `candidates` to each name asked about: the fewest edits
/// (Levenshtein, by character) within a third of the name's length (at least one, at
/// most [`MAX_DISTANCE`]), the alphabetically first among equally close ones.
pub struct Suggester<'n, I> {
    candidates: Option<I>,
    trie: Trie<'n>,
    asked: HashMap<String, Option<&'n str>>,
}

impl<'n, I: Iterator<Item = &'n String>> Suggester<'n, I> {
    pub fn new(candidates: I) -> Self {
        Suggester {
            candidates: Some(candidates),
            trie: Trie::default(),
            asked: HashMap::new(),
        }
    }

    pub fn closest(&mut self, name: &str) -> Option<&'n str> {
        if let Some(known) = self.asked.get(name) {
            return *known;
        }
        if let Some(candidates) = self.candidates.take() {
            self.trie = Trie::of(candidates);
        }
        let name_chars: Vec<char> = name.chars().collect();
        let limit = (name_chars.len() / 3).clamp(1, MAX_DISTANCE);
        // The closest name is the first found by the search of the least bound that finds
        // one: a search visits names alphabetically.
        let found = (0..=limit).find_map(|bound| self.trie.first_within(&name_chars, bound));
        self.asked.insert(name.to_owned(), found);
        found
    }
}

#[derive(Default)]
struct Trie<'n> {
    nodes: Vec<Node<'n>>,
}

#[derive(Default)]
struct Node<'n> {
    /// Sorted by character, so a depth-first search meets names in `str` order.
    children: Vec<(char, usize)>,
    /// The name ending here.
    name: Option<&'n str>,
    /// The shortest and longest names below, in characters.
    shortest: usize,
    longest: usize,
}

impl<'n> Trie<'n> {
    fn of(names: impl Iterator<Item = &'n String>) -> Trie<'n> {
        let mut trie = Trie {
            nodes: vec![Node {
                shortest: usize::MAX,
                ..Node::default()
            }],
        };
        for name in names {
            let length = name.chars().count();
            let mut at = 0;
            trie.widen(at, length);
            for c in name.chars() {
                at = match trie.nodes[at].children.iter().find(|(d, _)| *d == c) {
                    Some(&(_, child)) => child,
                    None => {
                        let child = trie.nodes.len();
                        trie.nodes.push(Node {
                            shortest: length,
                            longest: length,
                            ..Node::default()
                        });
                        trie.nodes[at].children.push((c, child));
                        child
                    }
                };
                trie.widen(at, length);
            }
            trie.nodes[at].name = Some(name);
        }
        for node in &mut trie.nodes {
            node.children.sort_unstable();
        }
        trie
    }

    fn widen(&mut self, at: usize, length: usize) {
        let node = &mut self.nodes[at];
        node.shortest = node.shortest.min(length);
        node.longest = node.longest.max(length);
    }

    /// The alphabetically first name at most `bound` edits from `name`.
    fn first_within(&self, name: &[char], bound: usize) -> Option<&'n str> {
        let far = bound + 1;
        let width = name.len() + 1;
        // Row `depth` of the table: the distances from the trie's prefix of that length to
        // each prefix of `name`; cells further than `bound` from the diagonal stay `far`.
        let mut rows = vec![far; width];
        for (j, cell) in rows.iter_mut().enumerate().take(far) {
            *cell = j;
        }
        let mut stack = vec![(0usize, 0usize, '\0')];
        while let Some((at, depth, c)) = stack.pop() {
            let node = &self.nodes[at];
            if node.longest + bound < name.len() || node.shortest > name.len() + bound {
                continue;
            }
            if depth > 0 {
                if rows.len() < (depth + 1) * width {
                    rows.resize((depth + 1) * width, far);
                }
                let (above, row) = rows.split_at_mut(depth * width);
                let (above, row) = (&above[(depth - 1) * width..], &mut row[..width]);
                let (lo, hi) = (depth.saturating_sub(bound), (depth + bound).min(name.len()));
                work::count((hi + 1 - lo) as u64);
                for j in lo..=hi {
                    let mut cell = above[j] + 1;
                    if j > 0 {
                        cell = cell
                            .min(row[j - 1] + 1)
                            .min(above[j - 1] + usize::from(name[j - 1] != c));
                    }
                    row[j] = cell.min(far);
                }
                if row[lo..=hi].iter().all(|&cell| cell > bound) {
                    continue;
                }
            }
            if let Some(found) = node.name
                && rows[depth * width + name.len()] <= bound
            {
                return Some(found);
            }
            // Pushed last to first, so popped in order.
            for &(c, child) in node.children.iter().rev() {
                stack.push((child, depth + 1, c));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The suggestion as it was first written: every candidate's full distance.
    fn closest_by_comparing_all<'s>(name: &str, candidates: &'s [String]) -> Option<&'s str> {
        let limit = (name.chars().count() / 3).clamp(1, MAX_DISTANCE);
        candidates
            .iter()
            .map(|candidate| (strsim::levenshtein(name, candidate), candidate))
            .filter(|(distance, _)| *distance <= limit)
            .min()
            .map(|(_, candidate)| candidate.as_str())
    }

    #[test]
    fn the_trie_suggests_what_comparing_every_name_suggests() {
        let seed = fastrand::u64(..);
        let mut rng = fastrand::Rng::with_seed(seed);
        let alphabet = ['a', 'b', 'c', '_', 'é', '1'];
        let word = |rng: &mut fastrand::Rng| -> String {
            let length = rng.usize(0..12);
            (0..length)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect()
        };
        for _ in 0..300 {
            let count = rng.usize(0..40);
            let names: Vec<String> = (0..count).map(|_| word(&mut rng)).collect();
            let mut suggester = Suggester::new(names.iter());
            for _ in 0..20 {
                let asked = word(&mut rng);
                assert_eq!(
                    suggester.closest(&asked),
                    closest_by_comparing_all(&asked, &names),
                    "seed {seed}: {asked:?} among {names:?}"
                );
            }
        }
    }

    /// 10,000 declared names and 1,000 flows from undeclared ends: half typos of a
    /// declared name, half names like none declared, each misspelled twice.
    #[test]
    fn a_thousand_misspellings_among_ten_thousand_names_take_linear_work() {
        let mut source = String::new();
        for team in 0..100 {
            let workloads: Vec<String> = (0..100)
                .map(|i| format!("service_{:05}: 80", team * 100 + i))
                .collect();
            source += &format!("namespace team_{team} {{ {} }}\n", workloads.join("; "));
        }
        for i in 0..250 {
            let (typo, unknown) = (format!("servce_{:05}", i * 37), format!("missing_{i:04}"));
            for end in [&typo, &typo, &unknown, &unknown] {
                source += &format!("{end} -> service_00001:80;\n");
            }
        }
        let input = crate::tests::tokens(&source);
        let start = std::time::Instant::now();
        let (output, cells) = work::counted(|| crate::expand_zero_trust(input));
        let elapsed = start.elapsed();
        let messages = crate::tests::errors(&output);
        assert_eq!(messages.len(), 1_000);
        assert_eq!(
            messages[0],
            "`servce_00000` is not declared; did you mean `service_00000`?"
        );
        assert_eq!(
            messages[2],
            "`missing_0000` is not declared; declare it in a `namespace` block or as a `cidr`, or bring it in with `use`"
        );
        // Comparing each end with each name fills 1,000 × 10,000 tables of 12 × 13 cells:
        // 1.6 billion. The budget is a few thousand cells per distinct misspelling.
        let budget = 500 * 4_000;
        println!("{cells} cells (budget {budget}) in {elapsed:?}");
        assert!(cells <= budget, "{cells} distance cells; budget {budget}");
    }
}
