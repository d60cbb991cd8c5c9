//! Nicknames and cross-language short forms of given names (Bob -> robert, Sepp -> joseph),
//! from the shipped table `data/nicknames.csv`. Used by the name comparators and blocking,
//! not by `clean` (which keeps the name as written).

use super::text::{fold_with, FoldStyle};
use ahash::AHashMap;
use std::sync::LazyLock;

static NICKNAMES_CSV: &str = include_str!("../../data/nicknames.csv");

/// nickname -> canonical given name, chains already resolved (lisa -> elisabeth -> elizabeth).
static CANONICAL: LazyLock<AHashMap<&'static str, &'static str>> = LazyLock::new(|| {
    let direct: AHashMap<&'static str, &'static str> = NICKNAMES_CSV
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(','))
        .map(|(nick, full)| (nick.trim(), full.trim()))
        .filter(|(nick, full)| nick != full)
        .collect();
    direct
        .iter()
        .map(|(&nick, &full)| {
            let mut target = full;
            // A few hops at most; the bound guards against a cycle slipped into the table.
            for _ in 0..4 {
                match direct.get(target) {
                    Some(&next) if next != nick => target = next,
                    _ => break,
                }
            }
            (nick, target)
        })
        .collect()
});

/// The canonical given name for a nickname or foreign short form: "bob" -> "robert",
/// "Liz" -> "elizabeth", "Hans" -> "john". A name the table does not know comes back
/// unchanged. Expects one word; folds case and diacritics itself if needed.
pub fn canonical_given_name(name: &str) -> &str {
    if let Some(&full) = CANONICAL.get(name) {
        return full;
    }
    let needs_fold = name.bytes().any(|b| !(b.is_ascii_lowercase() || b == b' '));
    if needs_fold {
        if let Some(&full) = CANONICAL.get(fold_with(name, FoldStyle::NAME).as_str()) {
            return full;
        }
    }
    name
}

/// Full names the table resolves to that have more than one word ("jose maria").
static MULTI_WORD_TARGETS: LazyLock<ahash::AHashSet<&'static str>> = LazyLock::new(|| {
    CANONICAL
        .values()
        .copied()
        .filter(|full| full.contains(' '))
        .collect()
});

/// The canonical form of a whole cleaned given name, which comparators and blocking read:
/// the name itself when the table knows it as one ("chema" -> "jose maria", and "jose maria"
/// stays), else its first word resolved ("bob james" -> "robert").
pub fn canonical_given(clean: &str) -> &str {
    if clean.contains(' ') {
        if let Some(&full) = CANONICAL.get(clean) {
            return full;
        }
        if MULTI_WORD_TARGETS.contains(clean) {
            return clean;
        }
    }
    canonical_given_name(clean.split(' ').next().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_nicknames() {
        assert_eq!(canonical_given_name("bob"), "robert");
        assert_eq!(canonical_given_name("Bob"), "robert");
        assert_eq!(canonical_given_name("liz"), "elizabeth");
        assert_eq!(canonical_given_name("bill"), "william");
        assert_eq!(canonical_given_name("peggy"), "margaret");
    }

    #[test]
    fn chains_resolve_to_one_canonical() {
        assert_eq!(canonical_given_name("lisa"), "elizabeth");
        assert_eq!(canonical_given_name("elisabeth"), "elizabeth");
        assert_eq!(canonical_given_name("joe"), "joseph");
        assert_eq!(canonical_given_name("sepp"), "joseph");
        assert_eq!(canonical_given_name("Josef"), "joseph");
        assert_eq!(
            canonical_given_name("hans"),
            canonical_given_name("johannes")
        );
        assert_eq!(canonical_given_name("pepe"), "joseph");
        assert_eq!(canonical_given_name("beppe"), "joseph");
    }

    #[test]
    fn unknown_and_canonical_names_pass_through() {
        assert_eq!(canonical_given_name("robert"), "robert");
        assert_eq!(canonical_given_name("wojciech"), "wojciech");
        assert_eq!(canonical_given_name("Zoë"), "Zoë");
    }

    #[test]
    fn table_is_large_and_acyclic() {
        assert!(CANONICAL.len() > 300, "{}", CANONICAL.len());
        for (&nick, &full) in CANONICAL.iter() {
            assert!(
                !CANONICAL.contains_key(full),
                "{nick} -> {full} is not fully resolved"
            );
        }
    }
}
