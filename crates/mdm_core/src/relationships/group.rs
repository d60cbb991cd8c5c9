//! Derived groups of golden records (households): after clustering and survivorship, golden
//! records the matcher kept apart that share an address and a family name or a landline are
//! linked into one group with an ID of its own. Pure and deterministic: the same golden
//! records, decisions and previous groups give the same groups and IDs in any input order.
//!
//! - **Blocking, not all pairs.** Records are compared only within one block: equal
//!   standardized values of every `block` attribute (postcode, house number; a US ZIP+4
//!   compared as its ZIP, also on a record without a country when no other country's
//!   code has its shape). A block
//!   larger than `max_block` is an address of many unrelated people (a care home, a hall of
//!   residence) and is reported, not grouped. A record lacking a block value but the first
//!   (a house number not recorded, the postcode known) joins the one block of its postcode
//!   whose place (street) agrees with it, if exactly one does; a record without a street
//!   either (only a postcode) the one block where it shares a phone (an `any` value that
//!   is not a name) with a member.
//! - **The place** (`agree` attributes: the street, the flat) must agree where both records
//!   have a value. Sources spell streets several ways (`C/ de Cervantes`, `Calle de
//!   Cervantes`; `Beech Gdns`, `Beech Gardens`): the same comparison form, a close spelling
//!   (Jaro-Winkler >= 0.9), or a shared distinctive word of four letters or more (five or
//!   more: a close spelling, Jaro-Winkler >= 0.92 or one letter dropped, added, changed or
//!   two swapped anywhere, `Ostplatz` / `Postplatz`, counts as shared; not a
//!   street type the standardizer knows, `calle`, `strasse`, `road`, and carried by few
//!   candidates' streets: at most 1%, at least 2). Other types (the flat) must be equal:
//!   two flats of one building are two places. A record without a value is placed only in
//!   a block whose values agree among themselves: otherwise it is not known which street
//!   or flat is its.
//! - **Evidence.** A pair is linked when at least one `any` attribute agrees: a person name
//!   shares a word of four or more letters (double-barrelled and Spanish surnames; not a
//!   particle such as `del` or `van`) or is a close spelling (Jaro-Winkler >= 0.9: a typo,
//!   Kowalski / Kowalska); a family name also agrees with the other record's given name
//!   (`name_split`: sources swap the two fields or write a name into the given field
//!   alone), never a given name with a given name; other types by equal standardized
//!   value (a phone in E.164; placeholders never count).
//! - **Sole residents.** The candidates of one place number at most `sole_residents`
//!   (shipped: 2) are linked without a shared `any` value: a couple who kept their
//!   surnames and have a phone each. Where units are not recorded, two strangers in one
//!   building are linked too: the price of finding such couples (set 0 to turn it off).
//! - **Decisions.** A steward's `together` decision joins two records whatever the rule
//!   says; an `apart` decision keeps them out of one group, so a union that would put an
//!   apart pair together is refused (strongest-first union-find as in `cluster`).
//! - **Stable IDs.** Each new group takes the ID of the previous group holding most of its
//!   members; a previous ID goes to one group only. Pairs (new group, previous group) are
//!   taken by overlap (descending), then previous ID, then the new group's first member
//!   (ascending), so ties are broken the same way in every run. A group that overlaps no
//!   unclaimed previous group gets a new ID from the caller (`new_id`), which must never
//!   hand out an ID twice.

use super::Derived;
use crate::model::AttrType;
use crate::pipeline::features::split_full;
use crate::standardize::{self, Cleaned, StdContext};
use crate::DomainRules;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// An active golden record that may be a member: its ID and its golden values as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub values: BTreeMap<String, String>,
}

/// A steward's decision on two golden records (IDs already followed through redirects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDecision {
    pub id: i64,
    /// True: the two are in one group; false: never in one group.
    pub together: bool,
    pub a: String,
    pub b: String,
}

/// Why a member is linked to another member of its group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub with: String,
    /// The attributes that agreed (the `block` and `agree` ones and each agreeing `any`
    /// one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agree: Vec<String>,
    /// The steward decision that joined them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<i64>,
    /// They are the only candidates at their address (no `any` attribute needed).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sole_residents: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub golden_id: String,
    /// `rule`, or `steward` when a decision holds the member in its group.
    pub basis: &'static str,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedGroup {
    pub id: String,
    /// By golden ID.
    pub members: Vec<GroupMember>,
}

/// Counts of one derivation (part of the run's stats).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupStats {
    /// Golden records that may be members (organizations left out).
    pub candidates: u64,
    /// Blocks (addresses) with at least two candidates.
    pub blocks: u64,
    pub oversized_blocks: u64,
    pub pairs_compared: u64,
    /// Pairs the rule links.
    pub links: u64,
    /// Addresses whose only candidates (at most `sole_residents`) were linked without a
    /// shared name or phone.
    pub sole_residents: u64,
    /// Records without a block value (a house number) placed in the one block they fit.
    pub placed_without_block_value: u64,
    /// Unions refused because a steward kept two records apart.
    pub refused_by_decision: u64,
    /// Decisions naming a record that is no candidate (deleted, an organization).
    pub decisions_ignored: u64,
    pub groups: u64,
    pub members: u64,
    /// Groups that kept a previous ID, and groups with a new one.
    pub kept_ids: u64,
    pub new_ids: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derivation {
    /// By group ID.
    pub groups: Vec<DerivedGroup>,
    pub stats: GroupStats,
}

/// A new group's ID: a UUID from the type, the run and the group's first member, so the same
/// run gives the same IDs and no two runs (nor two groups of one run) share one.
pub fn new_group_id(rel_type: &str, run_id: i64, first_member: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("{rel_type}\u{1f}{run_id}\u{1f}{first_member}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid().to_string()
}

/// A candidate's comparable values ([`prepare`]).
pub struct Prepared {
    block: Option<Vec<String>>,
    /// The block values one by one (some missing when `block` is None).
    key: Vec<Option<String>>,
    agree: Vec<Option<String>>,
    any: Vec<Option<String>>,
    /// Per `any` attribute, the value of the other field of a person's name (the given
    /// name beside the family name, and the reverse; `name_split`): sources swap the two
    /// or write the whole name into one.
    other_name: Vec<Option<String>>,
}

impl Prepared {
    /// A hash of the first block value (the postcode): records are compared only with
    /// records of the same first value, so a caller may split the candidates by it and
    /// find every edge part by part ([`block_edges`]). None: no first value, no edge.
    pub fn place_hash(&self) -> Option<u64> {
        use std::hash::{Hash, Hasher};
        let first = self.key.first()?.as_ref()?;
        let mut h = std::hash::DefaultHasher::new();
        first.hash(&mut h);
        Some(h.finish())
    }
}

/// How values of one attribute agree.
struct Comparer {
    ty: AttrType,
    /// Words carried by more candidates than `limit` are not distinctive (streets only).
    df: HashMap<String, u32>,
    limit: u32,
}

/// The comparers of a rule: one per `agree` attribute, then one per `any` attribute. They
/// depend on every candidate (how many carry a street word), so a caller that splits the
/// candidates builds them first over all of them ([`Vocabulary`]).
pub struct Comparers(Vec<Comparer>);

/// Street-word counts over every candidate, added one by one.
pub struct Vocabulary {
    comparers: Vec<Comparer>,
    candidates: usize,
}

impl Vocabulary {
    pub fn new(rule: &Derived, rules: &DomainRules) -> Self {
        let ty = |a: &str| rules.attribute(a).map_or(AttrType::Text, |x| x.ty);
        let comparers = rule
            .agree
            .iter()
            .chain(&rule.any)
            .map(|a| Comparer {
                ty: ty(a),
                df: HashMap::new(),
                limit: 0,
            })
            .collect();
        Vocabulary {
            comparers,
            candidates: 0,
        }
    }

    pub fn add(&mut self, p: &Prepared) {
        self.candidates += 1;
        let values = p.agree.iter().chain(&p.any);
        for (c, v) in self.comparers.iter_mut().zip(values) {
            if let (AttrType::Street, Some(v)) = (c.ty, v) {
                let mut words: Vec<&str> = v.split(' ').collect();
                words.sort_unstable();
                words.dedup();
                for w in words {
                    match c.df.get_mut(w) {
                        Some(n) => *n += 1,
                        None => {
                            c.df.insert(w.to_string(), 1);
                        }
                    }
                }
            }
        }
    }

    pub fn comparers(self) -> Comparers {
        let limit = (self.candidates / 100).max(2) as u32;
        Comparers(
            self.comparers
                .into_iter()
                .map(|c| Comparer { limit, ..c })
                .collect(),
        )
    }
}

impl Comparer {
    /// A street word that names a street: not a street type (`strasse`, `calle`) and
    /// carried by few candidates.
    fn distinctive(&self, w: &str) -> bool {
        !standardize::address::is_street_type(w) && self.df.get(w).is_none_or(|&n| n <= self.limit)
    }

    fn agree(&self, a: &str, b: &str) -> bool {
        if a == b {
            return true;
        }
        if !matches!(self.ty, AttrType::Street | AttrType::PersonName) {
            return false;
        }
        let words = |s: &'_ str| -> Vec<String> {
            s.split(' ')
                .filter(|w| w.len() >= 4 && w.bytes().all(|c| c.is_ascii_alphabetic()))
                .filter(|w| self.ty != AttrType::Street || self.distinctive(w))
                .map(String::from)
                .collect()
        };
        let wb = words(b);
        let street = self.ty == AttrType::Street;
        // A word typed with a slip still names the street (`Klosciuszki`, `Kosciuszki`;
        // a street also with one letter dropped, added, changed or two swapped anywhere,
        // `Ostplatz`, `Postplatz`, which Jaro-Winkler misses at the start of a word).
        let slip = |x: &str, y: &str| {
            x.len() >= 5
                && y.len() >= 5
                && (strsim::jaro_winkler(x, y) >= 0.92
                    || (street && strsim::damerau_levenshtein(x, y) <= 1))
        };
        let same = |x: &String, y: &String| x == y || slip(x, y);
        words(a).iter().any(|w| wb.iter().any(|v| same(w, v))) || strsim::jaro_winkler(a, b) >= 0.9
    }
}

/// A pair the rule links: (a, b, the agreeing `any` indexes; empty for the sole residents
/// of an address).
pub type Edge = (usize, usize, Vec<usize>);

/// Derives the groups. `previous` holds (group ID, member golden ID) of the groups stored
/// before the run, member IDs followed through redirects. All candidates at once: a caller
/// with millions splits them by [`Prepared::place_hash`] and calls [`prepare`],
/// [`Vocabulary`], [`block_edges`] and [`groups_from_edges`] itself, with the same result.
pub fn derive_groups(
    rule: &Derived,
    rules: &DomainRules,
    ctx: &StdContext,
    mut candidates: Vec<Candidate>,
    decisions: &[GroupDecision],
    previous: &[(String, String)],
    new_id: &dyn Fn(&str) -> String,
) -> Derivation {
    let mut stats = GroupStats::default();
    candidates.sort_by(|a, b| a.id.cmp(&b.id));
    candidates.dedup_by(|a, b| a.id == b.id);
    let (ids, prepared): (Vec<String>, Vec<Prepared>) = candidates
        .into_iter()
        .filter_map(|c| Some((prepare(rule, rules, ctx, &c)?, c.id)))
        .map(|(p, id)| (id, p))
        .unzip();
    stats.candidates = ids.len() as u64;
    let mut vocabulary = Vocabulary::new(rule, rules);
    prepared.iter().for_each(|p| vocabulary.add(p));
    let edges = block_edges(rule, &vocabulary.comparers(), &prepared, &mut stats);
    let groups = groups_from_edges(rule, &ids, edges, decisions, previous, new_id, &mut stats);
    Derivation { groups, stats }
}

/// The groups the rule's `edges` and the `decisions` make. `ids` are the candidates the
/// edges index, sorted by ID without repeats; a candidate in no edge need not be among
/// them unless a decision names it (a record alone is in no group).
pub fn groups_from_edges(
    rule: &Derived,
    ids: &[String],
    mut edges: Vec<Edge>,
    decisions: &[GroupDecision],
    previous: &[(String, String)],
    new_id: &dyn Fn(&str) -> String,
    stats: &mut GroupStats,
) -> Vec<DerivedGroup> {
    // Unions in one order however the edges were found (part by part or at once).
    edges.sort_unstable();
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut uf = Groups::new(ids.len());
    let mut together: Vec<(usize, usize, i64)> = Vec::new();
    let mut sorted: Vec<&GroupDecision> = decisions.iter().collect();
    sorted.sort_by_key(|d| d.id);
    for d in sorted {
        match (index.get(d.a.as_str()), index.get(d.b.as_str())) {
            (Some(&a), Some(&b)) if a != b => {
                if d.together {
                    together.push((a.min(b), a.max(b), d.id));
                } else {
                    uf.apart(a, b);
                }
            }
            _ => stats.decisions_ignored += 1,
        }
    }
    for &(a, b, _) in &together {
        if !uf.union(a, b) {
            stats.refused_by_decision += 1;
        }
    }
    for (a, b, _) in &edges {
        if !uf.union(*a, *b) {
            stats.refused_by_decision += 1;
        }
    }
    let groups = uf.components();
    let mut out = assign_ids(groups, ids, previous, new_id, stats);
    add_evidence(&mut out, ids, &index, &edges, &together, rule);
    stats.groups = out.len() as u64;
    stats.members = out.iter().map(|g| g.members.len() as u64).sum();
    out
}

/// A candidate's comparable values, or None when it is never a member (it has a value of
/// a `members_without` attribute: an organization).
pub fn prepare(
    rule: &Derived,
    rules: &DomainRules,
    ctx: &StdContext,
    c: &Candidate,
) -> Option<Prepared> {
    if rule
        .members_without
        .iter()
        .any(|a| c.values.get(a).is_some_and(|v| !standardize::is_missing(v)))
    {
        return None;
    }
    Some(prepared(rule, rules, ctx, c))
}

fn prepared(rule: &Derived, rules: &DomainRules, ctx: &StdContext, c: &Candidate) -> Prepared {
    let country = rules
        .attributes
        .iter()
        .find(|a| a.ty == AttrType::Country)
        .and_then(|a| c.values.get(&a.name))
        .and_then(|v| standardize::country_code(v));
    let ctx = StdContext {
        default_country: country.unwrap_or(&ctx.default_country).to_string(),
        date_order: ctx.date_order,
        system_countries: BTreeMap::new(),
        country_stated: country.is_some() || ctx.country_stated,
    };
    let value = |attr: &str| -> Option<String> {
        let ty = rules.attribute(attr)?.ty;
        let raw = c.values.get(attr).filter(|v| !standardize::is_missing(v));
        let raw: String = match (raw, ty) {
            (Some(v), _) => v.clone(),
            // A house number written into the street.
            (None, AttrType::HouseNumber) => {
                let street = rules.attributes.iter().find(|a| a.ty == AttrType::Street)?;
                standardize::split_house_number(c.values.get(&street.name)?).1?
            }
            // A family name only inside the full name.
            (None, AttrType::PersonName) => {
                let split = rules.matching.name_split.as_ref()?;
                if split.family != attr {
                    return None;
                }
                split_full(c.values.get(&split.full)?).1.to_string()
            }
            (None, _) => return None,
        };
        let v = comparable(ty, &raw, &ctx)?;
        // One address whether or not a source wrote a ZIP+4 extension.
        Some(match (ty, country) {
            (AttrType::Postcode, Some(cc)) => {
                standardize::address::postcode_base(&v, cc).to_string()
            }
            // No country recorded: a code only one country's longer form fits (a ZIP+4).
            (AttrType::Postcode, None) => {
                standardize::address::postcode_base_unstated(&v).to_string()
            }
            _ => v,
        })
    };
    let key: Vec<Option<String>> = rule.block.iter().map(|a| value(a)).collect();
    let split = rules.matching.name_split.as_ref();
    let other_name = |attr: &str| -> Option<String> {
        let split = split?;
        let other = if attr == split.family {
            &split.given
        } else if attr == split.given {
            &split.family
        } else {
            return None;
        };
        let raw = c
            .values
            .get(other)
            .filter(|v| !standardize::is_missing(v))?;
        comparable(rules.attribute(other)?.ty, raw, &ctx)
    };
    Prepared {
        block: key.iter().cloned().collect(),
        key,
        agree: rule.agree.iter().map(|a| value(a)).collect(),
        any: rule.any.iter().map(|a| value(a)).collect(),
        other_name: rule.any.iter().map(|a| other_name(a)).collect(),
    }
}

/// The standardized form compared, None for missing, invalid and placeholder values.
fn comparable(ty: AttrType, raw: &str, ctx: &StdContext) -> Option<String> {
    let Cleaned::Valid(v) = standardize::clean(ty, raw, ctx) else {
        return None;
    };
    if standardize::placeholder_reason(ty, &v).is_some() {
        return None;
    }
    Some(match ty {
        AttrType::Street => standardize::address::match_form(&v),
        _ => v,
    })
}

/// Puts a record that lacks some block values (a house number not recorded) into the one
/// block it fits: the same first block value (the postcode) and the others it has, and a
/// place that agrees (a street it shares with that block's records and with no other
/// block's). A record without any `agree` value (no street either: only a postcode) fits a
/// block where it shares an `any` value that is not a name with a member (a landline):
/// a name alone is common in a postcode. A record that fits several blocks, or shares no
/// `agree` value nor such a number, stays out.
fn place_partial<'p>(
    prepared: &'p [Prepared],
    agree_cmp: &[Comparer],
    any_cmp: &[Comparer],
    blocks: &mut BTreeMap<&'p [String], Vec<usize>>,
    stats: &mut GroupStats,
) {
    // Blocks by their first value, so a record is tried only against its postcode's blocks.
    let mut by_first: HashMap<&str, Vec<&'p [String]>> = HashMap::new();
    for key in blocks.keys() {
        by_first.entry(key[0].as_str()).or_default().push(key);
    }
    let mut placed: Vec<(&'p [String], usize)> = Vec::new();
    for (i, p) in prepared.iter().enumerate() {
        let Some(Some(first)) = p.key.first().filter(|_| p.block.is_none()) else {
            continue;
        };
        let Some(near) = by_first.get(first.as_str()) else {
            continue;
        };
        let fits = |key: &[String], members: &[usize]| {
            let keys_agree = p
                .key
                .iter()
                .zip(key)
                .all(|(mine, theirs)| mine.as_ref().is_none_or(|m| m == theirs));
            let mut shared = false;
            let place_agrees = members.iter().all(|&j| {
                agree_cmp.iter().enumerate().all(|(k, c)| {
                    match (&p.agree[k], &prepared[j].agree[k]) {
                        (Some(x), Some(y)) => {
                            let ok = c.agree(x, y);
                            shared |= ok;
                            ok
                        }
                        _ => true,
                    }
                })
            });
            // Only a postcode: a number it shares with a member places it.
            let shares_number = || {
                p.agree.iter().all(Option::is_none)
                    && members.iter().any(|&j| {
                        any_cmp.iter().enumerate().any(|(k, c)| {
                            c.ty != AttrType::PersonName
                                && matches!(
                                    (&p.any[k], &prepared[j].any[k]),
                                    (Some(x), Some(y)) if c.agree(x, y)
                                )
                        })
                    })
            };
            keys_agree && place_agrees && (shared || shares_number())
        };
        let mut found = near.iter().copied().filter(|key| fits(key, &blocks[key]));
        if let (Some(key), None) = (found.next(), found.next()) {
            placed.push((key, i));
        }
    }
    stats.placed_without_block_value += placed.len() as u64;
    for (key, i) in placed {
        let members = blocks.get_mut(key).expect("a block found above");
        members.push(i);
        members.sort_unstable();
    }
}

/// The pairs the rule links among `prepared` (indexes into it), block by block. The
/// candidates may be a part of all, as long as the part holds every candidate of each of
/// its first block values ([`Prepared::place_hash`]).
pub fn block_edges(
    rule: &Derived,
    comparers: &Comparers,
    prepared: &[Prepared],
    stats: &mut GroupStats,
) -> Vec<Edge> {
    let (agree_cmp, any_cmp) = comparers.0.split_at(rule.agree.len());
    let mut blocks: BTreeMap<&[String], Vec<usize>> = BTreeMap::new();
    for (i, p) in prepared.iter().enumerate() {
        if let Some(k) = &p.block {
            blocks.entry(k.as_slice()).or_default().push(i);
        }
    }
    place_partial(prepared, agree_cmp, any_cmp, &mut blocks, stats);
    let mut edges = Vec::new();
    for members in blocks.values().filter(|m| m.len() >= 2) {
        stats.blocks += 1;
        if members.len() > rule.max_block {
            stats.oversized_blocks += 1;
            continue;
        }
        // Per `agree` attribute: do the block's values disagree among themselves (two
        // streets, two flats)? Then a record without one cannot be placed.
        let ambiguous: Vec<bool> = agree_cmp
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let vals: Vec<&str> = members
                    .iter()
                    .filter_map(|&i| prepared[i].agree[k].as_deref())
                    .collect();
                vals.iter()
                    .enumerate()
                    .any(|(n, a)| vals[n + 1..].iter().any(|b| !c.agree(a, b)))
            })
            .collect();
        let mut one_place = true;
        let before = edges.len();
        for (n, &a) in members.iter().enumerate() {
            for &b in &members[n + 1..] {
                stats.pairs_compared += 1;
                let (pa, pb) = (&prepared[a], &prepared[b]);
                let same_place =
                    agree_cmp
                        .iter()
                        .enumerate()
                        .all(|(k, c)| match (&pa.agree[k], &pb.agree[k]) {
                            (Some(x), Some(y)) => c.agree(x, y),
                            (None, None) => true,
                            _ => !ambiguous[k],
                        });
                if !same_place {
                    one_place = false;
                    continue;
                }
                let agree: Vec<usize> = any_cmp
                    .iter()
                    .enumerate()
                    .filter(|(k, c)| any_agrees(c, pa, pb, *k))
                    .map(|(k, _)| k)
                    .collect();
                if !agree.is_empty() {
                    edges.push((a, b, agree));
                }
            }
        }
        // The only residents of one place (a couple with different surnames and phones).
        if one_place && members.len() <= rule.sole_residents {
            let linked: Vec<(usize, usize)> =
                edges[before..].iter().map(|(a, b, _)| (*a, *b)).collect();
            let mut added = false;
            for (n, &a) in members.iter().enumerate() {
                for &b in &members[n + 1..] {
                    if !linked.contains(&(a, b)) {
                        edges.push((a, b, Vec::new()));
                        added = true;
                    }
                }
            }
            stats.sole_residents += u64::from(added);
        }
        stats.links += (edges.len() - before) as u64;
    }
    edges
}

/// Whether `any` attribute `k` agrees between two records: their values, or one's value and
/// the other field of the other's name (a family name written as the given name, the two
/// swapped, or the whole name in one field). Not the two other fields: given names alone
/// do not make a household.
fn any_agrees(c: &Comparer, pa: &Prepared, pb: &Prepared, k: usize) -> bool {
    let agree = |x: &Option<String>, y: &Option<String>| match (x, y) {
        (Some(x), Some(y)) => c.agree(x, y),
        _ => false,
    };
    agree(&pa.any[k], &pb.any[k])
        || agree(&pa.any[k], &pb.other_name[k])
        || agree(&pa.other_name[k], &pb.any[k])
}

/// Union-find whose unions refuse to put an `apart` pair in one component.
struct Groups {
    parent: Vec<usize>,
    members: Vec<Vec<usize>>,
    apart: HashMap<usize, Vec<usize>>,
}

impl Groups {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            members: (0..n).map(|i| vec![i]).collect(),
            apart: HashMap::new(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn apart(&mut self, a: usize, b: usize) {
        self.apart.entry(a).or_default().push(b);
        self.apart.entry(b).or_default().push(a);
    }

    /// Joins the components of a and b; false when an apart pair would end up together.
    fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        let (small, big) = if self.members[ra].len() <= self.members[rb].len() {
            (ra, rb)
        } else {
            (rb, ra)
        };
        let small_members = self.members[small].clone();
        for m in &small_members {
            let partners = self.apart.get(m).cloned().unwrap_or_default();
            if partners.into_iter().any(|p| self.find(p) == big) {
                return false;
            }
        }
        self.parent[small] = big;
        let moved = std::mem::take(&mut self.members[small]);
        self.members[big].extend(moved);
        true
    }

    /// Components of two or more, each sorted, ordered by first member.
    fn components(self) -> Vec<Vec<usize>> {
        let mut out: Vec<Vec<usize>> = self
            .members
            .into_iter()
            .filter(|m| m.len() >= 2)
            .map(|mut m| {
                m.sort_unstable();
                m
            })
            .collect();
        out.sort();
        out
    }
}

/// Previous IDs to the groups holding most of their members, new IDs to the rest.
fn assign_ids(
    groups: Vec<Vec<usize>>,
    ids: &[String],
    previous: &[(String, String)],
    new_id: &dyn Fn(&str) -> String,
    stats: &mut GroupStats,
) -> Vec<DerivedGroup> {
    let mut was_in: HashMap<&str, Vec<&str>> = HashMap::new();
    for (g, m) in previous {
        was_in.entry(m.as_str()).or_default().push(g.as_str());
    }
    let mut pairs: Vec<(usize, &str, usize)> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let mut overlap: BTreeMap<&str, usize> = BTreeMap::new();
        for &m in g {
            let mut prev = was_in.get(ids[m].as_str()).cloned().unwrap_or_default();
            prev.sort_unstable();
            prev.dedup();
            for p in prev {
                *overlap.entry(p).or_default() += 1;
            }
        }
        pairs.extend(overlap.into_iter().map(|(p, n)| (n, p, gi)));
    }
    // Groups are ordered by first member, so `gi` orders ties by it.
    pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)).then(a.2.cmp(&b.2)));
    let mut chosen: Vec<Option<String>> = vec![None; groups.len()];
    let mut taken: std::collections::HashSet<&str> = Default::default();
    for (_, p, gi) in pairs {
        if chosen[gi].is_none() && taken.insert(p) {
            chosen[gi] = Some(p.to_string());
            stats.kept_ids += 1;
        }
    }
    let mut out: Vec<DerivedGroup> = groups
        .into_iter()
        .zip(chosen)
        .map(|(g, id)| {
            let id = id.unwrap_or_else(|| {
                stats.new_ids += 1;
                new_id(&ids[g[0]])
            });
            DerivedGroup {
                id,
                members: g
                    .iter()
                    .map(|&m| GroupMember {
                        golden_id: ids[m].clone(),
                        basis: "rule",
                        evidence: Vec::new(),
                    })
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Each member's evidence: the rule's links and the decisions inside its group.
fn add_evidence(
    groups: &mut [DerivedGroup],
    ids: &[String],
    index: &HashMap<&str, usize>,
    edges: &[Edge],
    together: &[(usize, usize, i64)],
    rule: &Derived,
) {
    let mut group_of: HashMap<usize, (usize, usize)> = HashMap::new();
    for (gi, g) in groups.iter().enumerate() {
        for (mi, m) in g.members.iter().enumerate() {
            group_of.insert(index[m.golden_id.as_str()], (gi, mi));
        }
    }
    let mut push = |a: usize, b: usize, e: Evidence, steward: bool| {
        let (Some(&(ga, ma)), Some(&(gb, _))) = (group_of.get(&a), group_of.get(&b)) else {
            return;
        };
        if ga == gb {
            let m = &mut groups[ga].members[ma];
            m.evidence.push(Evidence {
                with: ids[b].clone(),
                ..e
            });
            if steward {
                m.basis = "steward";
            }
        }
    };
    for (a, b, agree) in edges {
        let agree: Vec<String> = rule
            .block
            .iter()
            .chain(&rule.agree)
            .cloned()
            .chain(agree.iter().map(|&k| rule.any[k].clone()))
            .collect();
        let e = Evidence {
            with: String::new(),
            sole_residents: agree.len() == rule.block.len() + rule.agree.len(),
            agree,
            decision: None,
        };
        push(*a, *b, e.clone(), false);
        push(*b, *a, e, false);
    }
    for &(a, b, id) in together {
        let e = Evidence {
            with: String::new(),
            agree: Vec::new(),
            decision: Some(id),
            sole_residents: false,
        };
        push(a, b, e.clone(), true);
        push(b, a, e, true);
    }
    for g in groups {
        for m in &mut g.members {
            m.evidence
                .sort_by(|x, y| (&x.with, x.decision).cmp(&(&y.with, y.decision)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> DomainRules {
        crate::survive::tests::domain(&[
            ("family_name", AttrType::PersonName),
            ("organization_name", AttrType::OrganizationName),
            ("phone", AttrType::Phone),
            ("street", AttrType::Street),
            ("house_number", AttrType::HouseNumber),
            ("address_line2", AttrType::Text),
            ("postcode", AttrType::Postcode),
            ("country", AttrType::Country),
        ])
    }

    fn rule() -> Derived {
        Derived {
            members_without: vec!["organization_name".into()],
            block: vec!["postcode".into(), "house_number".into()],
            agree: vec!["street".into(), "address_line2".into()],
            sole_residents: 0,
            any: vec!["family_name".into(), "phone".into()],
            max_block: 50,
        }
    }

    fn person(id: &str, family: &str, street: &str, line2: Option<&str>) -> Candidate {
        let mut values: BTreeMap<String, String> = [
            ("family_name", family),
            ("street", street),
            ("postcode", "10115"),
            ("country", "DE"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if let Some(l) = line2 {
            values.insert("address_line2".into(), l.into());
        }
        Candidate {
            id: id.into(),
            values,
        }
    }

    fn derive(
        cands: Vec<Candidate>,
        decisions: &[GroupDecision],
        previous: &[(String, String)],
    ) -> Derivation {
        derive_groups(
            &rule(),
            &rules(),
            &StdContext::default(),
            cands,
            decisions,
            previous,
            &|first| format!("H-{first}"),
        )
    }

    fn members(d: &Derivation) -> Vec<(String, Vec<&str>)> {
        d.groups
            .iter()
            .map(|g| {
                (
                    g.id.clone(),
                    g.members.iter().map(|m| m.golden_id.as_str()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn one_address_and_family_make_a_household_and_flats_do_not() {
        let d = derive(
            vec![
                person("a", "Müller", "Hauptstr. 5", None),
                person("b", "Müller-Schmidt", "Hauptstraße 5", None),
                person("c", "Weber", "Hauptstraße 5", None),
                person("d", "Roth", "Gartenweg 1", Some("Flat 1")),
                person("e", "Roth", "Gartenweg 1", Some("Flat 2")),
                person("f", "Roth", "Gartenweg 1", None),
            ],
            &[],
            &[],
        );
        // A double-barrelled name shares a word; Weber shares only the address.
        assert_eq!(members(&d), [("H-a".to_string(), vec!["a", "b"])]);
        assert_eq!(d.stats.candidates, 6);
        assert_eq!(d.stats.blocks, 2);
        let e = &d.groups[0].members[0].evidence[0];
        assert_eq!(
            (e.with.as_str(), e.agree.last().map(String::as_str)),
            ("b", Some("family_name"))
        );
    }

    #[test]
    fn street_spellings_agree_but_two_streets_do_not() {
        let spain = |id: &str, family: &str, street: &str| {
            let mut c = person(id, family, street, None);
            c.values.insert("country".into(), "ES".into());
            c.values.insert("postcode".into(), "18770".into());
            c
        };
        let d = derive(
            vec![
                spain("a", "Gimenez Carsalilla", "Calle de Cervantes 11"),
                spain("b", "Gimenez Albaoliilla", "C/ de Cervantes 11"),
                person("c", "Roth", "Hauptstraße 5", None),
                person("d", "Roth", "Bahnhofstraße 5", None),
            ],
            &[],
            &[],
        );
        assert_eq!(members(&d), [("H-a".to_string(), vec!["a", "b"])]);
    }

    #[test]
    fn the_sole_residents_of_a_place_are_one_household_when_asked() {
        let cands = || {
            vec![
                person("a", "Hawton", "Hill Boulevard 175", None),
                person("b", "Wadhurst", "Hill Boulevard 175", None),
                person("c", "Koch", "Am Markt 45", None),
                person("d", "Eich", "Am Markt 45", None),
                person("e", "Roth", "Am Markt 45", None),
            ]
        };
        assert!(derive(cands(), &[], &[]).groups.is_empty());
        let d = derive_groups(
            &Derived {
                sole_residents: 2,
                ..rule()
            },
            &rules(),
            &StdContext::default(),
            cands(),
            &[],
            &[],
            &|first| format!("H-{first}"),
        );
        // Three at Am Markt 45 are not a couple.
        assert_eq!(members(&d), [("H-a".to_string(), vec!["a", "b"])]);
        assert!(d.groups[0].members[0].evidence[0].sole_residents);
    }

    /// The rules with a person's name split into given and family names, as shipped.
    fn rules_with_given_names() -> DomainRules {
        let mut r = rules();
        for name in ["given_name", "full_name"] {
            r.attributes.push(crate::model::Attribute {
                name: name.into(),
                ty: AttrType::PersonName,
                description: None,
            });
        }
        r.matching.name_split = Some(crate::rules::matching::NameSplit {
            full: "full_name".into(),
            given: "given_name".into(),
            family: "family_name".into(),
        });
        r
    }

    #[test]
    fn a_family_name_in_the_given_name_field_agrees() {
        let named = |id: &str, given: &str, family: Option<&str>| {
            let mut c = person(id, family.unwrap_or("-"), "Hauptstr. 5", None);
            if family.is_none() {
                c.values.remove("family_name");
            }
            c.values.insert("given_name".into(), given.into());
            c
        };
        let cands = vec![
            named("a", "Matthew", Some("Ashden")),
            // The fields swapped by a source, and the family name alone in the given field.
            named("b", "Ashden", Some("Gareth")),
            named("c", "Ashden", None),
            // Given names alone are no evidence.
            named("d", "Matthew", Some("Roth")),
        ];
        let d = derive_groups(
            &rule(),
            &rules_with_given_names(),
            &StdContext::default(),
            cands,
            &[],
            &[],
            &|first| format!("H-{first}"),
        );
        assert_eq!(members(&d), [("H-a".to_string(), vec!["a", "b", "c"])]);
    }

    #[test]
    fn a_zip_plus_four_without_a_country_is_its_zip() {
        let us = |id: &str, street: &str, postcode: &str, country: Option<&str>| {
            let mut c = person(id, "Walker", street, None);
            c.values.insert("postcode".into(), postcode.into());
            match country {
                Some(cc) => c.values.insert("country".into(), cc.into()),
                None => c.values.remove("country"),
            };
            c
        };
        let d = derive(
            vec![
                us("a", "River Ct 29", "77035-6937", None),
                us("b", "River Court 29", "77035", Some("US")),
                // Other countries' codes without a country stay whole.
                us("c", "Rua Augusta 29", "1100-048", None),
                us("d", "Rua Augusta 29", "1100", None),
            ],
            &[],
            &[],
        );
        assert_eq!(members(&d), [("H-a".to_string(), vec!["a", "b"])]);
    }

    #[test]
    fn street_slips_anywhere_in_a_word_agree() {
        let d = derive(
            vec![
                // A first letter lost, a letter added.
                person("a", "Oberhaselreuther", "Postplatz 161", None),
                person("b", "Oberhaselreuther", "Ostplatz 161", None),
                person("c", "Westerkirchhuber", "Industrieweg 49", None),
                person("d", "Westerkirchhuber", "IIndustrieweg 49", None),
                // Two streets of one postcode are still two places.
                person("e", "Roth", "Lindenstraße 3", None),
                person("f", "Roth", "Lindenallee 3", None),
                person("g", "Klein", "Bergweg 7", None),
                person("h", "Klein", "Bergring 7", None),
            ],
            &[],
            &[],
        );
        assert_eq!(
            members(&d),
            [
                ("H-a".to_string(), vec!["a", "b"]),
                ("H-c".to_string(), vec!["c", "d"])
            ]
        );
    }

    #[test]
    fn a_record_without_house_number_joins_the_one_block_it_fits() {
        let d = derive(
            vec![
                person("a", "Roth", "Gartenweg 1", None),
                person("b", "Roth", "Gartenweg", None),
                person("c", "Klein", "Ringstraße 2", None),
                person("d", "Klein", "Ringstraße 4", None),
                person("e", "Klein", "Ringstraße", None),
            ],
            &[],
            &[],
        );
        // `e` fits two blocks of Ringstraße: not placed.
        assert_eq!(members(&d), [("H-a".to_string(), vec!["a", "b"])]);
        assert_eq!(d.stats.placed_without_block_value, 1);
    }

    #[test]
    fn a_record_with_only_a_postcode_joins_the_one_block_where_it_shares_a_phone() {
        let with = |c: Candidate, phone: &str| {
            let mut c = c;
            c.values.insert("phone".into(), phone.into());
            if c.values["street"].is_empty() {
                c.values.remove("street");
            }
            c
        };
        let d = derive(
            vec![
                with(
                    person("a", "Kowalska", "ul. Parkowa 21", None),
                    "030 86421975",
                ),
                with(
                    person("b", "Kowalska", "ul. Parkowa 21", None),
                    "030 42917536",
                ),
                with(person("c", "Nowak", "ul. Lipowa 3", None), "030 73518264"),
                // Only a postcode: the landline of a's home places it there.
                with(person("d", "Rudewski", "", None), "030 86421975"),
                // A shared name alone does not place a record.
                with(person("e", "Nowak", "", None), "030 26483917"),
            ],
            &[],
            &[],
        );
        assert_eq!(members(&d), [("H-a".to_string(), vec!["a", "b", "d"])]);
        assert_eq!(d.stats.placed_without_block_value, 1);
    }

    #[test]
    fn a_record_without_flat_joins_the_single_flat_named() {
        let d = derive(
            vec![
                person("d", "Roth", "Gartenweg 1", Some("Flat 2")),
                person("f", "Roth", "Gartenweg 1", None),
            ],
            &[],
            &[],
        );
        assert_eq!(members(&d), [("H-d".to_string(), vec!["d", "f"])]);
    }

    #[test]
    fn organizations_and_other_names_are_not_members_but_a_shared_phone_links() {
        let mut org = person("o", "Müller", "Hauptstr. 5", None);
        org.values
            .insert("organization_name".into(), "Müller GmbH".into());
        let mut wife = person("w", "Schulz", "Hauptstr. 5", None);
        let mut man = person("m", "Becker", "Hauptstr. 5", None);
        wife.values.insert("phone".into(), "030 86421975".into());
        man.values
            .insert("phone".into(), "+49 (30) 8642 1975".into());
        let d = derive(vec![org, wife, man], &[], &[]);
        assert_eq!(members(&d), [("H-m".to_string(), vec!["m", "w"])]);
        assert_eq!(d.stats.candidates, 2, "the organization is no candidate");
    }

    #[test]
    fn ids_follow_most_members_and_decisions_hold() {
        let cands = || {
            vec![
                person("a", "Roth", "Gartenweg 1", None),
                person("b", "Roth", "Gartenweg 1", None),
                person("c", "Roth", "Gartenweg 1", None),
                person("x", "Klein", "Ring 2", None),
                person("y", "Klein", "Ring 2", None),
            ]
        };
        let prev = vec![
            ("H1".to_string(), "a".to_string()),
            ("H1".into(), "b".into()),
            ("H2".into(), "c".into()),
            ("H2".into(), "y".into()),
        ];
        let d = derive(cands(), &[], &prev);
        // {a,b,c} holds two of H1's members and one of H2's; {x,y} one of H2's.
        assert_eq!(
            members(&d),
            [
                ("H1".to_string(), vec!["a", "b", "c"]),
                ("H2".to_string(), vec!["x", "y"])
            ]
        );
        let apart = GroupDecision {
            id: 1,
            together: false,
            a: "c".into(),
            b: "a".into(),
        };
        let apart_b = GroupDecision {
            id: 2,
            b: "b".into(),
            ..apart.clone()
        };
        let d = derive(cands(), &[apart, apart_b], &prev);
        assert_eq!(members(&d)[0], ("H1".to_string(), vec!["a", "b"]));
        assert_eq!(d.stats.refused_by_decision, 2);
        let with = GroupDecision {
            id: 3,
            together: true,
            a: "c".into(),
            b: "x".into(),
        };
        let d = derive(cands(), &[with], &[]);
        assert_eq!(
            members(&d),
            [("H-a".to_string(), vec!["a", "b", "c", "x", "y"])]
        );
        let x = d.groups[0]
            .members
            .iter()
            .find(|m| m.golden_id == "x")
            .unwrap();
        assert_eq!(x.basis, "steward");
    }

    #[test]
    fn input_order_does_not_matter() {
        let mut cands: Vec<Candidate> = (0..40)
            .map(|i| {
                person(
                    &format!("g{i:02}"),
                    ["Roth", "Klein", "Berg"][i % 3],
                    ["Ring 2", "Gartenweg 1"][i % 2],
                    (i % 5 == 0).then_some("Flat 1"),
                )
            })
            .collect();
        let prev: Vec<(String, String)> = (0..40)
            .step_by(3)
            .map(|i| (format!("P{}", i % 4), format!("g{i:02}")))
            .collect();
        let a = derive(cands.clone(), &[], &prev);
        cands.reverse();
        let b = derive(cands, &[], &prev);
        assert_eq!(a, b);
        assert!(
            a.groups.len() >= 4 && a.stats.kept_ids >= 2,
            "{:?}",
            a.stats
        );
    }

    /// What a caller with millions of candidates does: the vocabulary over all, then the
    /// edges part by part (split by the place hash), then the groups from every edge.
    fn derive_in_parts(cands: &[Candidate], decisions: &[GroupDecision], parts: u64) -> Derivation {
        let (rule, rules, ctx) = (rule(), rules(), StdContext::default());
        let mut all: Vec<(String, Prepared)> = cands
            .iter()
            .filter_map(|c| Some((c.id.clone(), prepare(&rule, &rules, &ctx, c)?)))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let mut stats = GroupStats {
            candidates: all.len() as u64,
            ..Default::default()
        };
        let mut vocabulary = Vocabulary::new(&rule, &rules);
        all.iter().for_each(|(_, p)| vocabulary.add(p));
        let comparers = vocabulary.comparers();
        let mut edges = Vec::new();
        for part in 0..parts {
            let (global, prepared): (Vec<usize>, Vec<&Prepared>) = all
                .iter()
                .enumerate()
                .filter(|(_, (_, p))| p.place_hash().map(|h| h % parts) == Some(part))
                .map(|(i, (_, p))| (i, p))
                .unzip();
            let prepared: Vec<Prepared> = prepared
                .into_iter()
                .map(|p| Prepared {
                    block: p.block.clone(),
                    key: p.key.clone(),
                    agree: p.agree.clone(),
                    any: p.any.clone(),
                    other_name: p.other_name.clone(),
                })
                .collect();
            for (a, b, k) in block_edges(&rule, &comparers, &prepared, &mut stats) {
                edges.push((global[a], global[b], k));
            }
        }
        let ids: Vec<String> = all.into_iter().map(|(id, _)| id).collect();
        let groups = groups_from_edges(
            &rule,
            &ids,
            edges,
            decisions,
            &[],
            &|first| format!("H-{first}"),
            &mut stats,
        );
        Derivation { groups, stats }
    }

    #[test]
    fn candidates_split_by_place_give_the_groups_of_all_at_once() {
        let cands: Vec<Candidate> = (0..120)
            .map(|i| {
                let mut c = person(
                    &format!("g{i:03}"),
                    ["Roth", "Klein", "Berg", "Wolf"][i % 4],
                    ["Ring 2", "Gartenweg 1", "Am Hang 7"][i % 3],
                    (i % 7 == 0).then_some("Flat 1"),
                );
                c.values
                    .insert("postcode".into(), format!("{}", 10115 + i % 9));
                if i % 11 == 0 {
                    c.values
                        .insert("organization_name".into(), "Roth GmbH".into());
                }
                if i % 13 == 0 {
                    c.values.remove("postcode");
                }
                c
            })
            .collect();
        let decision = |id, together, a: usize, b: usize| GroupDecision {
            id,
            together,
            a: format!("g{a:03}"),
            b: format!("g{b:03}"),
        };
        // Across two postcodes, and apart inside one household.
        let decisions = vec![decision(1, true, 1, 2), decision(2, false, 4, 40)];
        let whole = derive_groups(
            &rule(),
            &rules(),
            &StdContext::default(),
            cands.clone(),
            &decisions,
            &[],
            &|first| format!("H-{first}"),
        );
        assert!(whole.groups.len() >= 9, "{:?}", whole.stats);
        assert!(whole.stats.refused_by_decision > 0, "{:?}", whole.stats);
        for parts in [1, 2, 5] {
            assert_eq!(
                derive_in_parts(&cands, &decisions, parts),
                whole,
                "{parts} parts"
            );
        }
    }
}
