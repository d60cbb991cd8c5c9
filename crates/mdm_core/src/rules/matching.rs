//! The matching section of a domain's rules file (`[matching]`): how to derive features,
//! which blocking rules produce candidate pairs, which comparisons (with levels) score them,
//! the deterministic overrides and the decision thresholds.
//!
//! Plain serde types, readable by a data steward; `match-rules/README.md` documents them.
//! The engine (`block`, `compare`, `score`, `cluster`) interprets them.

use serde::{Deserialize, Serialize};

/// `[matching]`: everything the engine needs beyond the attribute list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchingRules {
    /// Probability at or above which a pair is an automatic match.
    #[serde(default = "default_match_threshold")]
    pub match_threshold: f64,
    /// Probability at or above which a pair below `match_threshold` goes to review.
    #[serde(default = "default_review_threshold")]
    pub review_threshold: f64,
    /// Blocks larger than this are capped (only the first `max_block_size` records of a key
    /// value, in input order, are paired) and reported.
    #[serde(default = "default_max_block_size")]
    pub max_block_size: usize,
    /// Anti-chaining: two clusters are merged only if at least this share of their cross
    /// pairs are linked at review level or better (see `cluster`).
    #[serde(default = "default_min_link_share")]
    pub min_link_share: f64,
    /// Random record pairs drawn to estimate the u-probabilities.
    #[serde(default = "default_u_sample_pairs")]
    pub u_sample_pairs: usize,
    /// Seed of that sample, so training is reproducible.
    #[serde(default)]
    pub seed: u64,
    /// A full-name field split into given and family names when those are empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_split: Option<NameSplit>,
    #[serde(default)]
    pub blocking: Vec<BlockingRule>,
    #[serde(default)]
    pub comparisons: Vec<Comparison>,
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// A `non_match` override shown (at 95% confidence) to split more than this share of
    /// the matches (learned on the data, see `veto`) is lifted: its difference is weighed
    /// with the other evidence.
    /// 1 keeps every override as written.
    #[serde(default = "default_veto_max_m")]
    pub veto_max_m: f64,
    /// An attribute whose presence tells two kinds of record apart (organizations carry an
    /// organization name, people do not). The prior match probability is then learned per
    /// kind of pair (neither, one, both records carry it): pairs of different kinds almost
    /// never match, and the rarer kind's records match each other far more often than the
    /// average pair, so one prior for all would under-weigh its evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind_attribute: Option<String>,
}

fn default_match_threshold() -> f64 {
    0.95
}
fn default_review_threshold() -> f64 {
    0.5
}
fn default_max_block_size() -> usize {
    300
}
fn default_min_link_share() -> f64 {
    0.5
}
fn default_veto_max_m() -> f64 {
    0.015
}
fn default_u_sample_pairs() -> usize {
    200_000
}

/// `name_split = { full = "full_name", given = "given_name", family = "family_name" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameSplit {
    pub full: String,
    pub given: String,
    pub family: String,
}

/// One blocking rule: records whose keys are all present and equal become candidate pairs.
/// Each key is `"attribute:function"`, e.g. `"family_name:metaphone"`, `"birth_date:year"`,
/// `"phone:last:7"`, `"name:first:4"`; functions are listed in `block::KeyFn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockingRule {
    pub name: String,
    pub keys: Vec<String>,
    /// Whether EM learns m-probabilities from this rule's pairs. Switch it off for rules
    /// whose pairs are dominated by look-alikes (same household, same phone line), which
    /// would teach EM that a different given name is normal among matches.
    #[serde(default = "yes")]
    pub train: bool,
}

fn yes() -> bool {
    true
}

/// One comparison: a named test of one attribute (or two, for swaps) that yields a level.
/// Levels are tried in order; the first whose condition holds is the pair's level. A pair
/// where either value is missing gets the neutral "missing" level; one that meets no
/// condition gets the implicit "else" level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub name: String,
    pub attr: String,
    /// The attribute this one may be entered in by mistake (given <-> family name), for
    /// the `swapped` level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_with: Option<String>,
    /// Adjust the exact level's weight by how common the agreed value is.
    #[serde(default)]
    pub term_frequency: bool,
    /// Comparisons of one group (e.g. `address`: street, postcode, city) measure one thing,
    /// so together they count once: the strongest agreement, or if none agrees, the
    /// strongest disagreement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub levels: Vec<Level>,
}

/// A level's condition, written in a rules file as `"exact"` or `{ jaro_winkler = 0.92 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Level {
    /// Standardized values equal.
    Exact,
    /// Jaro-Winkler similarity at least this.
    JaroWinkler(f64),
    /// Damerau-Levenshtein distance at most this.
    Damerau(usize),
    /// Token-set similarity (shared tokens, fuzzy) at least this: for organization and
    /// product names whose words come in any order.
    TokenSet(f64),
    /// Same Double Metaphone code for every word.
    Phonetic,
    /// Same given name once nicknames are resolved (Bob = Robert), or one is the other's initial.
    Nickname,
    /// One side is an initial of the other.
    Initial,
    /// The value equals the other side's `swap_with` attribute and vice versa.
    Swapped,
    /// Same first N characters.
    Prefix(usize),
    /// Dates with day and month swapped.
    DayMonthSwapped,
    /// Dates at most N days apart.
    DaysWithin(u32),
    /// Dates differing in one digit.
    DateTypo,
    /// Dates in the same year.
    SameYear,
    /// Numbers whose relative difference is at most this.
    RelativeDifference(f64),
    /// E-mails with the same local part.
    EmailLocal,
    /// E-mails at the same domain.
    EmailDomain,
    /// Phones (or any digits) with the same last N digits.
    LastDigits(usize),
    /// Package sizes that are the same amount once units are converted (`0,5 l` = `500 ml`).
    Quantity,
    /// The values share a word that at most N records of the column carry (a model code,
    /// a rare company word): evidence that plain similarity misses in long, reordered or
    /// truncated values.
    RareWord(u32),
    /// Each value carries a number the other lacks (a size, a rating, a model number:
    /// `M6` / `M16`, `A4 80g` / `A3 90g`, `0,5 l` = `500 ml` agree): two variants of one
    /// product series. A level of disagreement, for a comparison of its own.
    NumbersDiffer,
    /// Equal but for two neighbouring characters swapped (`4B1` / `B41`): a typing slip,
    /// which variants of a series (`4B1` / `4B2`) hardly ever are.
    Transposition,
    /// Each value has a word (letters only, three or more) that no word of the other matches,
    /// even fuzzily or as an abbreviation: `Sport` / `Almond`, `Decaf` / `Espresso`, a colour
    /// or grade that variants of one series differ in. A level of disagreement, for a
    /// comparison of its own; its weight says how often names of one product differ so.
    WordsDiffer,
    /// `{ code_in = "manufacturer_part_number" }`, a comparison's only level: the record
    /// without that identifier names, in this attribute, a word (at least three characters)
    /// found inside the other record's identifier: the model code of a part number one
    /// source lacks. Missing unless exactly one record has the identifier.
    CodeIn(String),
}

impl Level {
    /// The other attribute a level reads (`code_in`).
    pub fn other_attr(&self) -> Option<&str> {
        match self {
            Level::CodeIn(a) => Some(a),
            _ => None,
        }
    }
}

/// A deterministic rule on top of the probabilities, e.g. "same valid GTIN => match".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub attr: String,
    /// `equal` or `different` (both present).
    pub when: OverrideWhen,
    /// `match` or `non_match`.
    pub then: Decision,
    /// For `different`: only when the values differ in at least this many edits, so one
    /// mistyped character does not veto a match.
    #[serde(default = "one")]
    pub min_edits: usize,
    /// For `different`: values equal but for two neighbouring characters swapped are not
    /// different (a typing slip; left to the comparisons' weights).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_swaps: bool,
    /// For `non_match`: whether the rule always holds, or only where the data shows that
    /// matches rarely trip it (see `veto`).
    #[serde(default, skip_serializing_if = "VetoHold::is_learned")]
    pub hold: VetoHold,
}

fn one() -> usize {
    1
}

/// When a `non_match` override holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VetoHold {
    /// Where the learned share of matches it would split is at most `veto_max_m`.
    #[default]
    Learned,
    /// Always: an assigned code whose difference names two entities (a GTIN with its check
    /// digit, a registry number), even where look-alikes make matches seem to differ.
    Always,
}

impl VetoHold {
    fn is_learned(&self) -> bool {
        *self == VetoHold::Learned
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideWhen {
    Equal,
    Different,
}

/// The three outcomes of scoring a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    NonMatch,
    Review,
    Match,
}

impl Decision {
    pub fn name(self) -> &'static str {
        match self {
            Decision::NonMatch => "non_match",
            Decision::Review => "review",
            Decision::Match => "match",
        }
    }
}

impl Default for MatchingRules {
    fn default() -> Self {
        Self {
            match_threshold: default_match_threshold(),
            review_threshold: default_review_threshold(),
            max_block_size: default_max_block_size(),
            min_link_share: default_min_link_share(),
            u_sample_pairs: default_u_sample_pairs(),
            seed: 0,
            name_split: None,
            blocking: Vec::new(),
            comparisons: Vec::new(),
            overrides: Vec::new(),
            veto_max_m: default_veto_max_m(),
            kind_attribute: None,
        }
    }
}
