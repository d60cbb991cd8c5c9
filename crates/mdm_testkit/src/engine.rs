//! The generation loop shared by all domains: draw entities (alone or with look-alike
//! relatives), decide which systems know each one and how often, and have the domain
//! render each system's record. Rows go to a `RowSink` as they are made.
//!
//! Entities are made in fixed-size chunks, each with its own ChaCha stream derived from
//! the seed and the chunk number, on rayon's pool; chunks are handed to the sink in
//! order. So the output depends on the seed only, never on the number of threads.

use crate::config::{CorruptionRates, GenConfig};
use crate::systems::SystemProfile;
use crate::GenError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Entities per chunk (one RNG stream each).
const CHUNK: u64 = 2048;
/// Chunks made in parallel before their rows go to the sink (bounds memory).
const BATCH: u64 = 32;
/// ChaCha streams below this are reserved (stream 1: ids and shuffling).
const FIRST_STREAM: u64 = 16;

/// One domain's population and its rendering. Shared across threads, so immutable.
pub(crate) trait EntityGen: Sync {
    type Entity: Send;
    /// Field names in the order `render` fills them (canonical attribute names).
    fn fields(&self) -> &'static [&'static str];
    /// Appends the next group of entities: one, or one with look-alike relatives.
    /// `first_index` is the global index the first of them will get.
    fn next_group(&self, rng: &mut ChaCha8Rng, first_index: u64, out: &mut Vec<Self::Entity>);
    /// Fills `row` (aligned with `fields`) with `sys`'s record of `e`; `None` is missing.
    /// `dup` marks a second record of the same entity in the same system.
    fn render(
        &self,
        e: &Self::Entity,
        sys: &SystemProfile,
        rates: &CorruptionRates,
        dup: bool,
        rng: &mut ChaCha8Rng,
        row: &mut [Option<String>],
    );
    /// The household `e` lives in, as an id shared by its members (customers only).
    fn household(&self, _e: &Self::Entity) -> Option<u64> {
        None
    }
}

/// Where finished rows go: `system` indexes the config's systems.
pub(crate) trait RowSink {
    fn push(
        &mut self,
        system: usize,
        row: Vec<Option<String>>,
        entity: u64,
    ) -> Result<(), GenError>;
}

/// One generated record before it has an id: (system, values, entity).
type Row = (usize, Vec<Option<String>>, u64);

/// (entity, household) of entities that share a home with another.
pub(crate) type Homes = Vec<(u64, u64)>;

/// Runs `gen` for `cfg.entities` entities; returns how many were made and each entity's
/// household (entity, household), for entities that share one with another.
pub(crate) fn drive<G: EntityGen>(
    gen: &G,
    cfg: &GenConfig,
    profiles: &[SystemProfile],
    sink: &mut impl RowSink,
    progress: &mut dyn FnMut(u64),
) -> Result<(u64, Homes), GenError> {
    let total = cfg.entities as u64;
    let chunks = total.div_ceil(CHUNK);
    let mut batch_start = 0;
    let mut households = Vec::new();
    while batch_start < chunks {
        let batch_end = (batch_start + BATCH).min(chunks);
        let rows: Vec<(Vec<Row>, Homes)> = (batch_start..batch_end)
            .into_par_iter()
            .map(|c| {
                chunk(
                    gen,
                    cfg,
                    profiles,
                    c * CHUNK,
                    ((c + 1) * CHUNK).min(total),
                    c,
                )
            })
            .collect();
        for (rows, homes) in rows {
            for (system, row, entity) in rows {
                sink.push(system, row, entity)?;
            }
            households.extend(homes);
        }
        progress((batch_end * CHUNK).min(total));
        batch_start = batch_end;
    }
    // A household cut short at a chunk's end may have one member left: not a household.
    let mut size: std::collections::HashMap<u64, usize> = Default::default();
    for (_, h) in &households {
        *size.entry(*h).or_default() += 1;
    }
    households.retain(|(_, h)| size[h] >= 2);
    Ok((total, households))
}

/// Entities `from..to`, all their records, from the chunk's own RNG stream, and their
/// households (entity, household).
fn chunk<G: EntityGen>(
    gen: &G,
    cfg: &GenConfig,
    profiles: &[SystemProfile],
    from: u64,
    to: u64,
    chunk_no: u64,
) -> (Vec<Row>, Homes) {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(FIRST_STREAM + chunk_no);
    let n_fields = gen.fields().len();
    let mut rows = Vec::with_capacity(((to - from) * 3) as usize);
    let mut group = Vec::new();
    let mut systems = Vec::with_capacity(profiles.len());
    let mut next = from;
    let mut homes = Vec::new();
    while next < to {
        group.clear();
        gen.next_group(&mut rng, next, &mut group);
        for e in group.iter().take((to - next) as usize) {
            let entity = next;
            next += 1;
            if let Some(h) = gen.household(e) {
                homes.push((entity, h));
            }
            systems.clear();
            systems.extend((0..profiles.len()).filter(|&i| rng.random_bool(profiles[i].presence)));
            if systems.is_empty() {
                // Every entity is known somewhere, or it would not be in the data at all.
                systems.push(rng.random_range(0..profiles.len()));
            }
            for &s in &systems {
                let copies = if rng.random_bool(cfg.duplicate_rate) {
                    2
                } else {
                    1
                };
                for copy in 0..copies {
                    let mut row = vec![None; n_fields];
                    gen.render(e, &profiles[s], &cfg.rates, copy > 0, &mut rng, &mut row);
                    rows.push((s, row, entity));
                }
            }
        }
    }
    (rows, homes)
}
