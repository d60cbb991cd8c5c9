//! Real-time matching: one incoming record against the current golden records, scored by the
//! same engine and the same frozen model (`mdm_core::rematch::Model`) as the nightly run.
//!
//! A [`MatchIndex`] per domain holds, for every staged record that belongs to a golden
//! record (via xref), its blocking keys as `mdm_core::block` computes them. A query computes
//! its own keys, takes the records sharing any key (as blocking would pair them), reads
//! those records from staging, and scores each pair with `Prepared::explain` after applying
//! the frozen model's frequencies. A golden record's score is its best member's.
//!
//! Blocking rules with a `rare_word` or `code` key depend on words across the whole data
//! set, so they are not indexed: records only such a rule would pair are not found here.
//! The index is rebuilt when a newer reconcile run finishes (checked at most every few
//! seconds) and extended in place by upserts.

use crate::name_index::{self, NameIndex};
use mdm_core::pipeline::features::RawTable;
use mdm_core::pipeline::Prepared;
use mdm_core::rematch::Model;
use mdm_core::rules::matching::Decision;
use mdm_core::standardize::StdContext;
use mdm_core::{DomainRules, RecordKey, SourceKey, SystemName};
use mdm_store::DbConnection;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Most member records scored for one query.
const MAX_CANDIDATES: usize = 100;
/// Records per feature table while computing keys for the index.
const INDEX_CHUNK: usize = 1024;
/// Records read ahead of key computation during an index build (chunks computed in parallel).
const INDEX_BATCH: usize = 64 * INDEX_CHUNK;

#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("domain {0} has no trained match model yet: run `mdm reconcile --domain {0}` first")]
    NoModel(String),
    #[error(transparent)]
    Engine(#[from] mdm_core::pipeline::MatchError),
    #[error(transparent)]
    Store(#[from] mdm_store::StoreError),
    #[error("stored record {0} has unreadable attributes")]
    Corrupt(i64),
}

/// Per indexed blocking rule, per record: the key hash (`None` when a part is missing).
pub type RuleKeys = Vec<Vec<Option<u64>>>;

/// A staged record on its way into the index: (staging id, system, source_id, golden id,
/// attributes as stored).
type Pending = (i64, String, String, String, String);

struct Member {
    staging_id: i64,
    golden: u32,
    system: String,
    source_id: String,
}

pub struct MatchIndex {
    pub run_id: i64,
    model: Model,
    members: Vec<Member>,
    goldens: Vec<String>,
    golden_of: HashMap<String, u32>,
    by_member: HashMap<(String, String), u32>,
    /// Per indexed rule: key hash -> member indices.
    keys: Vec<HashMap<u64, Vec<u32>>>,
    /// Per member, per indexed rule (`m * rules.len() + r`): its key, 0 when it has none
    /// (taking a member out of a bucket it is not in is a no-op), so an upsert drops the
    /// old version's keys from its own buckets instead of scanning them all.
    member_keys: Vec<u64>,
    /// Blocking rule index of each entry of `keys`.
    rules: Vec<usize>,
    /// Members by the words of their names, for queries that carry only a name.
    names: NameIndex,
}

/// One candidate golden record.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Candidate {
    pub golden_id: String,
    pub probability: f64,
    /// `match`, `review` or `non_match`.
    pub decision: String,
    /// The member record that scored best.
    pub matched_system: String,
    pub matched_source_id: String,
    /// Per-comparison levels and weights (log2 Bayes factors), prior, total and override.
    #[schema(value_type = Object)]
    pub explanation: serde_json::Value,
}

/// A hash of the rules' matching part, as reconcile computes it: a stored model is valid
/// only while it is unchanged.
fn rules_hash(rules: &DomainRules) -> String {
    let text =
        serde_json::to_string(&(&rules.attributes, &rules.matching)).expect("rules serialize");
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The latest completed reconcile run of a domain (0 when none).
pub fn latest_run(conn: &mut DbConnection, domain: &str) -> Result<i64, MatchError> {
    Ok(mdm_store::runs::latest(conn, Some(domain), Some("completed"))?.map_or(0, |r| r.id))
}

/// Canonical attribute values of a JSON object, aligned to the domain's attributes.
pub fn values_of(
    rules: &DomainRules,
    attrs: &serde_json::Map<String, serde_json::Value>,
) -> Vec<Option<String>> {
    rules
        .attributes
        .iter()
        .map(|a| match attrs.get(&a.name) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        })
        .collect()
}

fn table(rules: &DomainRules, rows: &[(RecordKey, Vec<Option<String>>)]) -> RawTable {
    let mut t = RawTable::new(rules);
    for (key, values) in rows {
        t.push(key.clone(), |i| values[i].as_deref());
    }
    t
}

fn placeholder_key() -> RecordKey {
    RecordKey {
        system: SystemName::parse("QUERY").expect("valid"),
        source_id: SourceKey::parse("query").expect("valid"),
    }
}

impl MatchIndex {
    /// Reads the model, xref and staged records of the domain and computes every key.
    pub fn build(
        conn: &mut DbConnection,
        rules: &DomainRules,
        ctx: &StdContext,
    ) -> Result<Self, MatchError> {
        let domain = rules.domain.as_str();
        let started = std::time::Instant::now();
        let run_id = latest_run(conn, domain)?;
        let model = match mdm_store::matchstate::model(conn, domain)? {
            Some((hash, json)) if hash == rules_hash(rules) => {
                serde_json::from_str::<Model>(&json).ok()
            }
            _ => None,
        }
        .ok_or_else(|| MatchError::NoModel(domain.to_string()))?;
        let xref: HashMap<(String, String), String> = mdm_store::xref::load(conn, domain)?
            .into_iter()
            .map(|x| ((x.system, x.source_id), x.golden_id))
            .collect();
        let indexed: Vec<usize> = rules
            .matching
            .blocking
            .iter()
            .enumerate()
            .filter(|(_, b)| {
                !b.keys
                    .iter()
                    .any(|k| k.contains(":rare_word") || k.contains(":code:"))
            })
            .map(|(i, _)| i)
            .collect();
        let mut idx = MatchIndex {
            run_id,
            model,
            members: Vec::new(),
            goldens: Vec::new(),
            golden_of: HashMap::new(),
            by_member: HashMap::new(),
            keys: vec![HashMap::new(); indexed.len()],
            member_keys: Vec::new(),
            rules: indexed,
            names: NameIndex::default(),
        };
        let records = mdm_store::matchstate::current_records(conn, domain)?;
        let mut batch = Vec::with_capacity(INDEX_BATCH);
        for r in records {
            let Some(golden) = xref.get(&(r.system.clone(), r.source_id.clone())) else {
                continue;
            };
            batch.push((r.id, r.system, r.source_id, golden.clone(), r.attributes));
            if batch.len() == INDEX_BATCH {
                idx.add_batch(rules, ctx, std::mem::take(&mut batch))?;
            }
        }
        idx.add_batch(rules, ctx, batch)?;
        tracing::info!(
            domain,
            members = idx.members.len(),
            goldens = idx.goldens.len(),
            secs = started.elapsed().as_secs_f64(),
            "match index built"
        );
        Ok(idx)
    }

    /// Parses and computes the keys of a batch of records on the rayon pool, a chunk per
    /// task (key computation is most of an index build: at 1M records, minutes on one
    /// thread), then adds them in order.
    fn add_batch(
        &mut self,
        rules: &DomainRules,
        ctx: &StdContext,
        batch: Vec<Pending>,
    ) -> Result<(), MatchError> {
        use rayon::prelude::*;
        let keyed: Vec<(RuleKeys, Vec<Vec<String>>)> = batch
            .par_chunks(INDEX_CHUNK)
            .map(|chunk| {
                let rows = chunk
                    .iter()
                    .map(|(id, _, _, _, text)| {
                        let attrs: serde_json::Map<String, serde_json::Value> =
                            serde_json::from_str(text).map_err(|_| MatchError::Corrupt(*id))?;
                        Ok((placeholder_key(), values_of(rules, &attrs)))
                    })
                    .collect::<Result<Vec<_>, MatchError>>()?;
                let words = rows
                    .iter()
                    .map(|(_, v)| name_index::words_of(rules, v))
                    .collect();
                Ok((self.keys_of(rules, ctx, &rows)?, words))
            })
            .collect::<Result<_, MatchError>>()?;
        for (chunk, (keys, words)) in batch.chunks(INDEX_CHUNK).zip(keyed) {
            for ((i, (staging_id, system, source_id, golden, _)), words) in
                chunk.iter().enumerate().zip(words)
            {
                let m = self.add_member(
                    *staging_id,
                    system.clone(),
                    source_id.clone(),
                    golden.clone(),
                );
                self.add_keys(m, keys.iter().map(|rule| rule[i]));
                self.names.add(m, words);
            }
        }
        Ok(())
    }

    fn add_keys(&mut self, m: u32, keys: impl Iterator<Item = Option<u64>>) {
        for (map, k) in self.keys.iter_mut().zip(keys) {
            if let Some(k) = k {
                map.entry(k).or_default().push(m);
            }
            self.member_keys.push(k.unwrap_or(0));
        }
    }

    fn add_member(
        &mut self,
        staging_id: i64,
        system: String,
        source_id: String,
        golden: String,
    ) -> u32 {
        let g = match self.golden_of.get(&golden) {
            Some(&g) => g,
            None => {
                let g = self.goldens.len() as u32;
                self.goldens.push(golden.clone());
                self.golden_of.insert(golden, g);
                g
            }
        };
        let m = self.members.len() as u32;
        self.by_member
            .insert((system.clone(), source_id.clone()), m);
        self.members.push(Member {
            staging_id,
            golden: g,
            system,
            source_id,
        });
        m
    }

    /// Per indexed rule, per row: its key hash.
    fn keys_of(
        &self,
        rules: &DomainRules,
        ctx: &StdContext,
        rows: &[(RecordKey, Vec<Option<String>>)],
    ) -> Result<RuleKeys, MatchError> {
        let prepared = Prepared::new(rules, ctx, table(rules, rows))?;
        let cands = prepared.candidates()?;
        Ok(self
            .rules
            .iter()
            .map(|&r| cands.rule_keys[r].clone())
            .collect())
    }

    /// Scores `values` against the golden records whose members share a blocking key with
    /// it; `exclude` is the record itself (an update of a known record). Best first.
    pub fn query(
        &self,
        conn: &mut DbConnection,
        rules: &DomainRules,
        ctx: &StdContext,
        values: &[Option<String>],
        exclude: Option<(&str, &str)>,
    ) -> Result<(Vec<Candidate>, RuleKeys), MatchError> {
        on_this_thread(|| self.query_here(conn, rules, ctx, values, exclude, false))
    }

    /// As [`MatchIndex::query`], and also scores the members whose names share the
    /// query's rarest name words (`crate::name_index`): a query that carries little more
    /// than a name still finds its candidates.
    pub fn query_by_name(
        &self,
        conn: &mut DbConnection,
        rules: &DomainRules,
        ctx: &StdContext,
        values: &[Option<String>],
    ) -> Result<Vec<Candidate>, MatchError> {
        on_this_thread(|| self.query_here(conn, rules, ctx, values, None, true)).map(|r| r.0)
    }

    /// Golden IDs whose members' names complete `prefix` (entity suggestions), at most
    /// `limit`, in the index's order.
    pub fn complete_name(&self, prefix: &str, limit: usize) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in self.names.complete(prefix, limit * 4) {
            let g = &self.goldens[self.members[m as usize].golden as usize];
            if !out.contains(g) {
                out.push(g.clone());
            }
            if out.len() == limit {
                break;
            }
        }
        out
    }

    fn query_here(
        &self,
        conn: &mut DbConnection,
        rules: &DomainRules,
        ctx: &StdContext,
        values: &[Option<String>],
        exclude: Option<(&str, &str)>,
        by_name: bool,
    ) -> Result<(Vec<Candidate>, RuleKeys), MatchError> {
        let started = std::time::Instant::now();
        let own = self.keys_of(rules, ctx, &[(placeholder_key(), values.to_vec())])?;
        let skip = exclude.and_then(|(s, id)| {
            self.by_member
                .get(&(s.to_string(), id.to_string()))
                .copied()
        });
        let mut hits: Vec<u32> = Vec::new();
        for (r, map) in self.keys.iter().enumerate() {
            if let Some(k) = own[r][0] {
                if let Some(ms) = map.get(&k) {
                    hits.extend(ms.iter().copied().filter(|&m| Some(m) != skip));
                }
            }
        }
        // Members sharing the most keys first: they are the likeliest matches, and the
        // cap then drops only records that a single (broad) rule pairs with the query.
        hits.sort_unstable();
        let mut ranked: Vec<(usize, u32)> = hits
            .chunk_by(|a, b| a == b)
            .map(|g| (g.len(), g[0]))
            .collect();
        ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let found = ranked.len();
        let mut hits: Vec<u32> = ranked
            .into_iter()
            .take(MAX_CANDIDATES)
            .map(|(_, m)| m)
            .collect();
        if by_name && hits.len() < MAX_CANDIDATES {
            let words = name_index::words_of(rules, values);
            for m in self.names.lookup(&words, MAX_CANDIDATES) {
                if hits.len() == MAX_CANDIDATES {
                    break;
                }
                if !hits.contains(&m) {
                    hits.push(m);
                }
            }
        }
        let t_block = started.elapsed();
        if hits.is_empty() {
            return Ok((Vec::new(), own));
        }
        let ids: Vec<i64> = hits
            .iter()
            .map(|&m| self.members[m as usize].staging_id)
            .collect();
        let stored: HashMap<i64, String> = mdm_store::matchstate::versions_by_id(conn, &ids)?
            .into_iter()
            .map(|r| (r.id, r.attributes))
            .collect();
        let mut rows = vec![(placeholder_key(), values.to_vec())];
        let mut row_member = Vec::new();
        for &m in &hits {
            let Some(text) = stored.get(&self.members[m as usize].staging_id) else {
                continue;
            };
            let attrs: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
                .map_err(|_| MatchError::Corrupt(self.members[m as usize].staging_id))?;
            rows.push((placeholder_key(), values_of(rules, &attrs)));
            row_member.push(m);
        }
        let t_read = started.elapsed();
        let mut prepared = Prepared::new(rules, ctx, table(rules, &rows))?;
        apply_frequencies(&self.model, rules, &mut prepared.features);
        let t_prepare = started.elapsed();
        let mut best: HashMap<u32, Candidate> = HashMap::new();
        for (i, &m) in row_member.iter().enumerate() {
            let e = prepared.explain(&self.model.params, 0, i + 1);
            let member = &self.members[m as usize];
            let better = best
                .get(&member.golden)
                .is_none_or(|c| e.probability > c.probability);
            if better {
                best.insert(
                    member.golden,
                    Candidate {
                        golden_id: self.goldens[member.golden as usize].clone(),
                        probability: e.probability,
                        decision: decision_name(e.decision).into(),
                        matched_system: member.system.clone(),
                        matched_source_id: member.source_id.clone(),
                        explanation: serde_json::to_value(&e).unwrap_or_default(),
                    },
                );
            }
        }
        tracing::debug!(
            found,
            scored = row_member.len(),
            block_us = t_block.as_micros() as u64,
            read_us = (t_read - t_block).as_micros() as u64,
            prepare_us = (t_prepare - t_read).as_micros() as u64,
            score_us = (started.elapsed() - t_prepare).as_micros() as u64,
            "real-time match"
        );
        let mut out: Vec<Candidate> = best.into_values().collect();
        out.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then_with(|| a.golden_id.cmp(&b.golden_id))
        });
        Ok((out, own))
    }

    /// Adds (or re-points) a member after an upsert, with the keys the query computed.
    pub fn upsert_member(
        &mut self,
        staging_id: i64,
        system: &str,
        source_id: &str,
        golden: &str,
        keys: &[Vec<Option<u64>>],
        words: Vec<String>,
    ) {
        if let Some(&m) = self
            .by_member
            .get(&(system.to_string(), source_id.to_string()))
        {
            // Drop the old version's keys; its slot stays, unreachable.
            let rules = self.keys.len();
            let old = &self.member_keys[m as usize * rules..(m as usize + 1) * rules];
            for (map, k) in self.keys.iter_mut().zip(old) {
                if let Some(v) = map.get_mut(k) {
                    v.retain(|&x| x != m);
                }
            }
        }
        let m = self.add_member(staging_id, system.into(), source_id.into(), golden.into());
        self.add_keys(m, keys.iter().map(|rule| rule[0]));
        self.names.add(m, words);
    }

    pub fn golden_of(&self, system: &str, source_id: &str) -> Option<&str> {
        self.by_member
            .get(&(system.to_string(), source_id.to_string()))
            .map(|&m| self.goldens[self.members[m as usize].golden as usize].as_str())
    }
}

/// The frozen model's frequencies for the values these few records carry: what scoring reads
/// (term-frequency adjustments, rare-word levels). Unlike `Model::apply`, the model's other
/// values are not appended: they matter only to rare-word blocking keys, which a query does
/// not use, and appending tens of thousands of values would cost more than the match.
fn apply_frequencies(
    model: &Model,
    rules: &DomainRules,
    features: &mut mdm_core::pipeline::features::Features,
) {
    for stats in &model.columns {
        let Some(i) = rules.index_of(&stats.attr) else {
            continue;
        };
        let col = &mut features.columns[i];
        col.present = stats.present;
        if mdm_core::rematch::term_frequency_column(rules, &stats.attr) {
            for (v, c) in col.values.iter().zip(col.counts.iter_mut()) {
                *c = stats.values.get(&*v.text).copied().unwrap_or(1);
            }
        }
        if mdm_core::rematch::word_frequency_column(rules, &stats.attr) {
            for v in col.values.iter_mut() {
                let words: Vec<(u64, u32)> = v
                    .words
                    .iter()
                    .map(|&(w, _)| (w, stats.words.get(&w).copied().unwrap_or(1)))
                    .collect();
                v.words = words.into_boxed_slice();
            }
        }
    }
}

/// Runs `f` in a one-thread rayon pool made of the calling thread: the engine's parallel
/// iterators then run inline. A query's tables are a few rows; handing them to the global
/// pool costs more than the work, and its spinning workers compete with the HTTP workers.
/// (The engine leaves pool choice to its caller; this is the caller choosing.)
fn on_this_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    thread_local! {
        static POOL: Option<rayon::ThreadPool> = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .use_current_thread()
            .build()
            .ok();
    }
    POOL.with(|p| match p {
        Some(p) => p.install(f),
        None => f(),
    })
}

pub fn decision_name(d: Decision) -> &'static str {
    d.name()
}
