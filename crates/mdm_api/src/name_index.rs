//! Names of the indexed member records, word by word: how a reconciliation query that
//! carries only a name (a spreadsheet column of company or person names) finds candidates,
//! and how entity suggestions complete a typed prefix.
//!
//! The matcher's own index holds blocking keys, and no blocking rule pairs records on a
//! name alone (at scale such blocks are too large to compare), so a name-only query would
//! find nothing there. Here each folded name word points to the members that carry it; a
//! query takes the members sharing its rarest words, and the model scores them as usual.

use mdm_core::model::AttrType;
use mdm_core::standardize::fold_words;
use mdm_core::DomainRules;
use std::collections::{BTreeMap, HashMap};

/// A word carried by more members than this is too common to find anyone by
/// (`"gmbh"`, `"john"`): it is used only when the query has no rarer word.
const COMMON_WORD: usize = 5_000;

/// The attributes a reconciliation query's name fills and the index reads: an attribute
/// called `name` (products, suppliers), else every person and organization name.
pub fn name_attributes(rules: &DomainRules) -> Vec<usize> {
    if let Some(i) = rules.index_of("name") {
        return vec![i];
    }
    rules
        .attributes
        .iter()
        .enumerate()
        .filter(|(_, a)| matches!(a.ty, AttrType::PersonName | AttrType::OrganizationName))
        .map(|(i, _)| i)
        .collect()
}

/// The folded words of the name attributes of one record, each once.
pub fn words_of(rules: &DomainRules, values: &[Option<String>]) -> Vec<String> {
    let mut words: Vec<String> = name_attributes(rules)
        .into_iter()
        .filter_map(|i| values.get(i).and_then(|v| v.as_deref()))
        .flat_map(|v| {
            fold_words(v)
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

#[derive(Debug, Default)]
pub struct NameIndex {
    /// Folded word -> members carrying it (ascending, a member once per word).
    words: BTreeMap<String, Vec<u32>>,
}

impl NameIndex {
    pub fn add(&mut self, member: u32, words: Vec<String>) {
        for w in words {
            self.words.entry(w).or_default().push(member);
        }
    }

    /// Members sharing the query's words, most shared words first (ties by member), at
    /// most `limit`. Words carried by more than `COMMON_WORD` members count only when the
    /// query has nothing rarer.
    pub fn lookup(&self, words: &[String], limit: usize) -> Vec<u32> {
        let postings: Vec<&Vec<u32>> = words.iter().filter_map(|w| self.words.get(w)).collect();
        let rare: Vec<&Vec<u32>> = postings
            .iter()
            .copied()
            .filter(|p| p.len() <= COMMON_WORD)
            .collect();
        let used = if rare.is_empty() {
            // Only common words: the rarest one alone, capped.
            postings
                .into_iter()
                .min_by_key(|p| p.len())
                .into_iter()
                .collect()
        } else {
            rare
        };
        rank(used.into_iter().flatten().copied(), limit)
    }

    /// Members whose name has every word of `prefix` (the last one as a prefix of a word):
    /// entity suggestions as a user types. At most `limit`, most matching words first.
    pub fn complete(&self, prefix: &str, limit: usize) -> Vec<u32> {
        let folded = fold_words(prefix);
        let mut words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
        let Some(last) = words.pop() else {
            return Vec::new();
        };
        let mut sets: Vec<Vec<u32>> = words
            .iter()
            .map(|w| self.words.get(*w).cloned().unwrap_or_default())
            .collect();
        let mut started: Vec<u32> = self
            .words
            .range(last.to_string()..)
            .take_while(|(w, _)| w.starts_with(last))
            .take(COMMON_WORD)
            .flat_map(|(_, m)| m.iter().copied())
            .collect();
        started.sort_unstable();
        started.dedup();
        sets.push(started);
        let Some(smallest) = sets.iter().min_by_key(|s| s.len()) else {
            return Vec::new();
        };
        smallest
            .iter()
            .copied()
            .filter(|m| sets.iter().all(|s| s.binary_search(m).is_ok()))
            .take(limit)
            .collect()
    }
}

/// Members by how often they occur in `hits`, most first, ties by member; at most `limit`.
fn rank(hits: impl Iterator<Item = u32>, limit: usize) -> Vec<u32> {
    let mut count: HashMap<u32, usize> = HashMap::new();
    for m in hits {
        *count.entry(m).or_default() += 1;
    }
    let mut ranked: Vec<(usize, u32)> = count.into_iter().map(|(m, n)| (n, m)).collect();
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.into_iter().take(limit).map(|(_, m)| m).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> NameIndex {
        let mut i = NameIndex::default();
        i.add(0, vec!["acme".into(), "tools".into()]);
        i.add(1, vec!["acme".into(), "foods".into()]);
        i.add(2, vec!["zenith".into(), "tools".into()]);
        i
    }

    #[test]
    fn lookup_ranks_by_shared_words() {
        let i = index();
        assert_eq!(
            i.lookup(&["acme".into(), "tools".into()], 10),
            vec![0, 1, 2]
        );
        assert_eq!(i.lookup(&["zenith".into()], 10), vec![2]);
        assert!(i.lookup(&["nobody".into()], 10).is_empty());
        assert_eq!(i.lookup(&["acme".into(), "tools".into()], 1), vec![0]);
    }

    #[test]
    fn complete_needs_every_word_and_a_prefix_of_the_last() {
        let i = index();
        assert_eq!(i.complete("Acme fo", 10), vec![1]);
        assert_eq!(i.complete("ac", 10), vec![0, 1]);
        assert_eq!(i.complete("TOOLS zen", 10), vec![2]);
        assert!(i.complete("  ", 10).is_empty());
        assert!(i.complete("acme x", 10).is_empty());
    }
}
