//! Benchmark of the matching engine: generates data with `mdm_testkit` (in memory), runs
//! the pipeline, and prints time per phase, total, peak RSS and pairwise / B-cubed F1.
//!
//! ```text
//! cargo run --release -p mdm_benches --bin match_bench -- \
//!     [--domain customer] [--entities 50000] [--seed 42] [--threads N] [--rates 0,0.5,1,2,3]
//!     [--disjoint-attributes]
//! ```
//! `--disjoint-attributes` generates sources that each record their own subset of
//! attributes (`GenConfig::disjoint_attributes`).
//! With `--rates`, prints one row per corruption factor (the generator's default rates
//! multiplied by it) instead of a single run.

use mdm_core::evaluate::evaluate;
use mdm_core::pipeline::{self, features::RawTable, MatchOptions};
use mdm_core::standardize::StdContext;
use mdm_testkit::{CorruptionRates, Domain, GenConfig};
use std::collections::HashMap;
use std::time::Instant;

struct Args {
    domain: Domain,
    entities: usize,
    seed: u64,
    threads: Option<usize>,
    rates: Option<Vec<f64>>,
    disjoint: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        domain: Domain::Customer,
        entities: 20_000,
        seed: 42,
        threads: None,
        rates: None,
        disjoint: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--disjoint-attributes" => a.disjoint = true,
            "--domain" => a.domain = Domain::parse(&val()?).ok_or("unknown domain")?,
            "--entities" => a.entities = val()?.parse().map_err(|e| format!("--entities: {e}"))?,
            "--seed" => a.seed = val()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--threads" => a.threads = Some(val()?.parse().map_err(|e| format!("--threads: {e}"))?),
            "--rates" => {
                a.rates = Some(
                    val()?
                        .split(',')
                        .map(|r| r.trim().parse::<f64>().map_err(|e| format!("--rates: {e}")))
                        .collect::<Result<_, _>>()?,
                )
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

struct RunSummary {
    records: usize,
    precision: f64,
    recall: f64,
    f1: f64,
    bcubed_f1: f64,
    seconds: f64,
}

/// One generate + match + evaluate run.
fn run_once(args: &Args, factor: f64, verbose: bool) -> Result<RunSummary, String> {
    // MDM_RULES_DIR: try edited rules without rebuilding (the shipped ones are compiled in).
    let dir = std::env::var_os("MDM_RULES_DIR").map(std::path::PathBuf::from);
    let rules =
        mdm_rules::load_domain(dir.as_deref(), args.domain.name()).map_err(|e| e.to_string())?;
    let mut cfg = GenConfig::new(args.domain, args.entities, args.seed);
    cfg.rates = CorruptionRates::default().scaled(factor);
    cfg.disjoint_attributes = args.disjoint;
    let t = Instant::now();
    let generated = mdm_testkit::generate_records(&cfg, &rules).map_err(|e| e.to_string())?;
    if verbose {
        eprintln!(
            "generate: {} records in {:.2?}",
            generated.records.len(),
            t.elapsed()
        );
    }
    let start = Instant::now();
    let raw = RawTable::from_records(&rules, &generated.records);
    let intern = start.elapsed();
    let res = pipeline::run(&rules, &StdContext::default(), raw, MatchOptions::default())
        .map_err(|e| e.to_string())?;
    let total = start.elapsed().as_secs_f64();
    let truth = generated.truth();
    let clusters: HashMap<_, _> = res
        .features
        .keys
        .iter()
        .cloned()
        .zip(res.clusters.iter().copied())
        .collect();
    let ev = evaluate(&truth, &clusters).map_err(|e| e.to_string())?;
    if verbose {
        println!(
            "domain {}  records {}  candidate pairs {}",
            args.domain.name(),
            res.features.len(),
            res.candidate_pairs
        );
        println!("  {:<12} {:>9.3} s", "intern", intern.as_secs_f64());
        for (phase, d) in &res.timings {
            println!("  {:<12} {:>9.3} s", phase, d.as_secs_f64());
        }
        println!("  {:<12} {:>9.3} s", "total", total);
        println!("  peak RSS     {:>9.0} MiB", peak_rss_mib());
        println!(
            "  lambda {:.4}  EM iterations {}  {:?}",
            res.params.lambda, res.params.em_iterations, res.cluster_stats
        );
        for r in &res.blocking {
            println!(
                "  block {:<40} pairs {:>10} new {:>10} capped {:>4} skipped {}",
                r.rule,
                r.pairs,
                r.new_pairs,
                r.capped.len(),
                r.skipped_pairs
            );
        }
        println!(
            "  pairwise P {:.4} R {:.4} F1 {:.4}   B-cubed F1 {:.4}",
            ev.pairwise.precision, ev.pairwise.recall, ev.pairwise.f1, ev.bcubed.f1
        );
    }
    if let Ok(n) = std::env::var("MATCH_BENCH_SHOW_ERRORS") {
        show_errors(&rules, &generated, &res, n.parse().unwrap_or(10));
    }
    Ok(RunSummary {
        records: res.features.len(),
        precision: ev.pairwise.precision,
        recall: ev.pairwise.recall,
        f1: ev.pairwise.f1,
        bcubed_f1: ev.bcubed.f1,
        seconds: total,
    })
}

/// Prints wrongly merged and missed pairs with their explanation (synthetic data only).
fn show_errors(
    rules: &mdm_core::DomainRules,
    g: &mdm_testkit::Generated,
    res: &pipeline::MatchResult,
    n: usize,
) {
    let ctx = StdContext::default();
    let prepared = pipeline::Prepared::new(rules, &ctx, RawTable::from_records(rules, &g.records))
        .expect("rules");
    let show = |label: &str, a: usize, b: usize| {
        let e = prepared.explain(&res.params, a, b);
        println!("{label} p={:.3} {}", e.probability, e.summary());
        for r in [a, b] {
            let vals: Vec<String> = rules
                .attributes
                .iter()
                .zip(&g.records[r].values)
                .filter_map(|(at, v)| v.as_ref().map(|v| format!("{}={v}", at.name)))
                .collect();
            println!("    {}", vals.join(" | "));
        }
    };
    // Where recall is lost: true pairs blocking never compared, and compared ones not merged.
    let cands = prepared.candidates().expect("rules");
    let set: std::collections::HashSet<(u32, u32)> = cands.pairs.iter().copied().collect();
    let mut members: HashMap<u64, Vec<u32>> = HashMap::new();
    for (i, e) in g.entities.iter().enumerate() {
        members.entry(*e).or_default().push(i as u32);
    }
    let (mut truth, mut compared, mut merged) = (0usize, 0usize, 0usize);
    for rs in members.values() {
        for (i, &a) in rs.iter().enumerate() {
            for &b in &rs[i + 1..] {
                truth += 1;
                if set.contains(&(a.min(b), a.max(b))) {
                    compared += 1;
                    merged += usize::from(res.clusters[a as usize] == res.clusters[b as usize]);
                }
            }
        }
    }
    println!("true pairs {truth}: candidates {compared}, of which in one cluster {merged}");
    lost_signatures(&prepared, res, &members, &set);
    if let Ok(path) = std::env::var("MATCH_BENCH_DUMP") {
        dump_errors(&path, rules, g, res, &set);
    }
    let fp = res.scored.iter().filter(|s| {
        s.decision == mdm_core::rules::matching::Decision::Match
            && g.entities[s.a as usize] != g.entities[s.b as usize]
    });
    for s in fp.take(n) {
        show("FALSE MATCH", s.a as usize, s.b as usize);
    }
    let mut by_entity: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, e) in g.entities.iter().enumerate() {
        by_entity.entry(*e).or_default().push(i);
    }
    let mut shown = 0;
    let mut ents: Vec<_> = by_entity.into_iter().collect();
    ents.sort();
    for (_, rs) in ents {
        for w in rs.windows(2) {
            if res.clusters[w[0]] != res.clusters[w[1]] && shown < n {
                shown += 1;
                let (a, b) = (w[0].min(w[1]) as u32, w[0].max(w[1]) as u32);
                let scored = res.scored.iter().any(|s| (s.a, s.b) == (a, b));
                show(
                    if scored { "MISSED (scored)" } else { "MISSED" },
                    w[0],
                    w[1],
                );
            }
        }
    }
}

/// Counts the true pairs lost by blocking (`never`) or by scoring and clustering (`apart`)
/// per evidence signature: the comparisons both records carry, `=` top level, `~` a lower
/// one, `x` else. Shows which shapes of shared evidence the rules do not reach.
fn lost_signatures(
    prepared: &pipeline::Prepared,
    res: &pipeline::MatchResult,
    members: &HashMap<u64, Vec<u32>>,
    cands: &std::collections::HashSet<(u32, u32)>,
) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for rs in members.values() {
        for (i, &a) in rs.iter().enumerate() {
            for &b in &rs[i + 1..] {
                let (a, b) = (a.min(b), a.max(b));
                if res.clusters[a as usize] == res.clusters[b as usize] {
                    continue;
                }
                let e = prepared.explain(&res.params, a as usize, b as usize);
                let sig: Vec<String> = e
                    .terms
                    .iter()
                    .filter(|t| t.level != "missing")
                    .map(|t| {
                        let mark = match t.level.as_str() {
                            "exact" => '=',
                            "else" => 'x',
                            _ => '~',
                        };
                        format!("{}{mark}", t.comparison)
                    })
                    .collect();
                let kind = if cands.contains(&(a, b)) {
                    "apart"
                } else {
                    "never"
                };
                *counts
                    .entry(format!("{kind} {}", sig.join(" ")))
                    .or_default() += 1;
            }
        }
    }
    // Ceilings: true pairs joined, directly or through the entity's other records, by two
    // records that both carry something beyond names (names alone are not identifying),
    // and, tighter, that agree on it (exactly or closely, not "else").
    let weak = [
        "given_name",
        "family_name",
        "organization_name",
        "gender",
        "city",
    ];
    for agreeing in [false, true] {
        let (reachable, total) = joined(prepared, res, members, &weak, agreeing);
        println!(
            "  recall ceiling (pairs joined by {} more than names): {reachable} of {total} = {:.4}",
            if agreeing { "agreeing on" } else { "carrying" },
            reachable as f64 / total as f64
        );
    }
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    for (sig, n) in v.iter().take(40) {
        println!("  lost {n:>6}  {sig}");
    }
}

/// True pairs (reachable, all) where the entity's records are joined through pairs that
/// carry (or, with `agreeing`, agree on) a comparison outside `weak`.
fn joined(
    prepared: &pipeline::Prepared,
    res: &pipeline::MatchResult,
    members: &HashMap<u64, Vec<u32>>,
    weak: &[&str],
    agreeing: bool,
) -> (usize, usize) {
    let (mut reachable, mut total) = (0usize, 0usize);
    for rs in members.values() {
        let mut comp: Vec<usize> = (0..rs.len()).collect();
        fn root(c: &mut [usize], mut i: usize) -> usize {
            while c[i] != i {
                i = c[i];
            }
            i
        }
        for i in 0..rs.len() {
            for j in i + 1..rs.len() {
                let e = prepared.explain(&res.params, rs[i] as usize, rs[j] as usize);
                if e.terms.iter().any(|t| {
                    t.level != "missing"
                        && !(agreeing && t.level == "else")
                        && !weak.contains(&t.comparison.as_str())
                }) {
                    let (ri, rj) = (root(&mut comp, i), root(&mut comp, j));
                    comp[ri] = rj;
                }
            }
        }
        for i in 0..rs.len() {
            for j in i + 1..rs.len() {
                total += 1;
                reachable += usize::from(root(&mut comp, i) == root(&mut comp, j));
            }
        }
    }
    (reachable, total)
}

/// Every true pair not in one cluster (`never_compared` or `not_merged`) and every merged
/// non-match (`false_match`) as TSV: kind, then both records' `attr=value` lists.
fn dump_errors(
    path: &str,
    rules: &mdm_core::DomainRules,
    g: &mdm_testkit::Generated,
    res: &pipeline::MatchResult,
    cands: &std::collections::HashSet<(u32, u32)>,
) {
    use std::io::Write;
    let rec = |r: usize| -> String {
        rules
            .attributes
            .iter()
            .zip(&g.records[r].values)
            .filter_map(|(at, v)| v.as_ref().map(|v| format!("{}={v}", at.name)))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("dump file"));
    let n = g.records.len();
    let mut members: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, e) in g.entities.iter().enumerate() {
        members.entry(*e).or_default().push(i);
    }
    let mut ents: Vec<_> = members.into_iter().collect();
    ents.sort();
    for (_, rs) in &ents {
        for (i, &a) in rs.iter().enumerate() {
            for &b in &rs[i + 1..] {
                if res.clusters[a] != res.clusters[b] {
                    let kind = if cands.contains(&(a.min(b) as u32, a.max(b) as u32)) {
                        "not_merged"
                    } else {
                        "never_compared"
                    };
                    writeln!(out, "{kind}\t{}\t{}", rec(a), rec(b)).expect("write");
                }
            }
        }
    }
    let mut by_cluster: HashMap<u32, Vec<usize>> = HashMap::new();
    for r in 0..n {
        by_cluster.entry(res.clusters[r]).or_default().push(r);
    }
    let mut cl: Vec<_> = by_cluster.into_values().collect();
    cl.sort();
    for rs in cl {
        for (i, &a) in rs.iter().enumerate() {
            for &b in &rs[i + 1..] {
                if g.entities[a] != g.entities[b] {
                    writeln!(out, "false_match\t{}\t{}", rec(a), rec(b)).expect("write");
                }
            }
        }
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("match_bench: {e}");
            std::process::exit(2);
        }
    };
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = args.threads {
        builder = builder.num_threads(n);
    }
    let pool = builder.build().expect("thread pool");
    let result = pool.install(|| match &args.rates {
        None => run_once(&args, 1.0, true).map(|_| ()),
        Some(rates) => {
            println!("| corruption x | records | pairwise P | pairwise R | pairwise F1 | B-cubed F1 | match s |");
            println!("|---:|---:|---:|---:|---:|---:|---:|");
            for &f in rates {
                let r = run_once(&args, f, false)?;
                println!(
                    "| {f} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.2} |",
                    r.records, r.precision, r.recall, r.f1, r.bcubed_f1, r.seconds
                );
            }
            Ok(())
        }
    });
    if let Err(e) = result {
        eprintln!("match_bench: {e}");
        std::process::exit(1);
    }
}
