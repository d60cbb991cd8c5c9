//! `mdm evaluate`: scores a `clusters.csv` against a `truth.csv` (pairwise and B-cubed
//! precision, recall, F1). The arithmetic is `mdm_core::evaluate`; this reads the files
//! and prints the result.

use anyhow::{bail, Context};
use mdm_core::evaluate::{evaluate, EvalError, Evaluation, RecordMap};
use mdm_core::{RecordKey, SourceKey, SystemName};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// The truth: `source_system,source_id,entity_id`.
    #[arg(long)]
    pub truth: PathBuf,
    /// The clusters to score: `source_system,source_id,cluster_id`.
    #[arg(long)]
    pub clusters: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: EvaluateArgs) -> anyhow::Result<()> {
    let truth = read_assignments(&args.truth, "entity_id")?;
    let clusters = read_assignments(&args.clusters, "cluster_id")?;
    let ev = evaluate(&truth, &clusters).map_err(|e| match e {
        EvalError::MissingFromClusters { count, example } => anyhow::anyhow!(
            "{count} records of {} are missing from {}, e.g. {}/{}",
            args.truth.display(),
            args.clusters.display(),
            example.system,
            example.source_id
        ),
        EvalError::MissingFromTruth { count, example } => anyhow::anyhow!(
            "{count} records of {} are missing from {}, e.g. {}/{}",
            args.clusters.display(),
            args.truth.display(),
            example.system,
            example.source_id
        ),
        EvalError::Empty => anyhow::anyhow!("both files are empty"),
    })?;
    // Written through a handle so a closed pipe is an error, not a panic.
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&ev)?)?;
    } else {
        print_table(&mut out, &ev)?;
    }
    Ok(())
}

/// Reads `source_system,source_id,<id_column>` into record -> id.
/// Ids are interned to numbers as they are read: a million rows then cost a million
/// small map entries, not a million more strings.
fn read_assignments(path: &Path, id_column: &str) -> anyhow::Result<RecordMap<u32>> {
    let mut rdr =
        csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let headers = rdr
        .headers()
        .with_context(|| format!("reading {}", path.display()))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| {
                format!(
                    "{}: no `{name}` column (header: {})",
                    path.display(),
                    headers.iter().collect::<Vec<_>>().join(",")
                )
            })
    };
    let (sys_col, id_col, val_col) = (col("source_system")?, col("source_id")?, col(id_column)?);
    let mut out = RecordMap::default();
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut systems: HashMap<String, SystemName> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    let mut line = 1;
    while rdr
        .read_record(&mut rec)
        .with_context(|| format!("{}:{}", path.display(), line + 1))?
    {
        line += 1;
        let field = |c: usize| rec.get(c).unwrap_or("");
        let system = match systems.get(field(sys_col)) {
            Some(s) => s.clone(),
            None => {
                let s = SystemName::parse(field(sys_col))
                    .with_context(|| format!("{}:{line}", path.display()))?;
                systems.insert(field(sys_col).to_string(), s.clone());
                s
            }
        };
        let key = RecordKey {
            system,
            source_id: SourceKey::parse(field(id_col))
                .with_context(|| format!("{}:{line}", path.display()))?,
        };
        let value = field(val_col).trim();
        if value.is_empty() {
            bail!("{}:{line}: empty {id_column}", path.display());
        }
        let id = match ids.get(value) {
            Some(&id) => id,
            None => {
                let id = ids.len() as u32;
                ids.insert(value.to_string(), id);
                id
            }
        };
        if out.insert(key, id).is_some() {
            bail!(
                "{}:{line}: {}/{} appears twice",
                path.display(),
                field(sys_col),
                field(id_col)
            );
        }
    }
    Ok(out)
}

fn print_table(out: &mut impl Write, ev: &Evaluation) -> std::io::Result<()> {
    writeln!(
        out,
        "records {}  true entities {}  clusters {}",
        ev.records, ev.true_entities, ev.clusters
    )?;
    writeln!(
        out,
        "pairs: true {}  predicted {}  correct {}",
        ev.true_pairs, ev.predicted_pairs, ev.correct_pairs
    )?;
    writeln!(
        out,
        "{:<10} {:>9} {:>9} {:>9}",
        "", "precision", "recall", "F1"
    )?;
    for (name, s) in [("pairwise", ev.pairwise), ("B-cubed", ev.bcubed)] {
        writeln!(
            out,
            "{name:<10} {:>9.4} {:>9.4} {:>9.4}",
            s.precision, s.recall, s.f1
        )?;
    }
    Ok(())
}
