//! Long property runs over mutated inputs for the parsers and standardizers (stable Rust
//! has no libFuzzer; see `benches/fuzz/README.md`). Each target checks invariants, not only
//! "no panic"; a panic or a broken invariant is saved to `benches/fuzz/crashes/` and
//! printed. An input that takes over a second is reported as slow; over a minute the run
//! stops and saves it as a hang.
//!
//! `cargo run --release -p mdm_ingest --example fuzz_parsers -- --target csv --minutes 10`
//! `... -- --target csv --replay benches/fuzz/crashes/csv-0123abcd` re-runs one input.
//!
//! It lives in `mdm_ingest` (as an example) because the CSV, NDJSON and JSON targets need
//! that crate, and `mdm_benches` must not depend on diesel.

mod core;
mod ingest;
mod mutate;
mod seeds;

use mutate::Rng;
use std::collections::{HashMap, HashSet};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A broken invariant, described.
pub struct Finding(pub String);

/// A summary of what an input did, for keeping inputs that behave in a new way.
pub struct Outcome(pub u64);

type Run = fn(&[u8]) -> Result<Outcome, Finding>;

struct Target {
    name: &'static str,
    run: Run,
    seeds: fn(&mut Rng) -> Vec<Vec<u8>>,
    max_len: usize,
}

const TARGETS: &[Target] = &[
    Target {
        name: "csv",
        run: ingest::csv,
        seeds: |rng| seeds::csv(&ingest::RULES, rng),
        max_len: 16 * 1024,
    },
    Target {
        name: "ndjson",
        run: ingest::ndjson,
        seeds: |rng| seeds::ndjson(&ingest::RULES, rng),
        max_len: 16 * 1024,
    },
    Target {
        name: "json_array",
        run: ingest::json_array,
        seeds: |rng| seeds::json_array(&ingest::RULES, rng),
        max_len: 16 * 1024,
    },
    Target {
        name: "rules",
        run: core::rules,
        seeds: |_| seeds::rules(),
        max_len: 32 * 1024,
    },
    Target {
        name: "standardize",
        run: core::standardize,
        seeds: seeds::standardize,
        max_len: 512,
    },
];

struct Args {
    target: String,
    minutes: f64,
    seed: u64,
    replay: Option<PathBuf>,
    out: PathBuf,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        target: String::new(),
        minutes: 1.0,
        seed: 1,
        replay: None,
        out: PathBuf::from("benches/fuzz/crashes"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => a.target = value()?,
            "--minutes" => a.minutes = value()?.parse().map_err(|e| format!("--minutes: {e}"))?,
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--replay" => a.replay = Some(PathBuf::from(value()?)),
            "--out" => a.out = PathBuf::from(value()?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(a)
}

fn main() {
    let args = args().unwrap_or_else(|e| {
        let names: Vec<_> = TARGETS.iter().map(|t| t.name).collect();
        eprintln!("{e}\nusage: fuzz_parsers --target {} [--minutes M] [--seed S] [--replay FILE] [--out DIR]", names.join("|"));
        std::process::exit(2);
    });
    let Some(target) = TARGETS.iter().find(|t| t.name == args.target) else {
        eprintln!("unknown target `{}`", args.target);
        std::process::exit(2);
    };
    install_panic_hook();
    if let Some(path) = &args.replay {
        let input = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match execute(target, &input) {
            Ok(_) => println!("{}: no finding", path.display()),
            Err(f) => {
                println!("{}: {}", path.display(), f.0);
                std::process::exit(1);
            }
        }
        return;
    }
    let stats = fuzz(target, &args);
    println!(
        "target={} minutes={:.1} executions={} crashes={} unique={} slow={} kept={}",
        target.name,
        stats.elapsed.as_secs_f64() / 60.0,
        stats.execs,
        stats.crashes,
        stats.unique,
        stats.slow,
        stats.kept
    );
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Panics are findings, reported by the loop: the hook keeps the message and location
/// (for grouping) instead of printing each one.
fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(format!("panic at {at}: {msg}"));
    }));
}

fn execute(target: &Target, input: &[u8]) -> Result<Outcome, Finding> {
    match panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input))) {
        Ok(r) => r,
        Err(_) => {
            let msg = LAST_PANIC
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .unwrap_or_else(|| "panic".into());
            Err(Finding(msg))
        }
    }
}

#[derive(Default)]
struct Stats {
    execs: u64,
    crashes: u64,
    unique: u64,
    slow: u64,
    kept: usize,
    elapsed: Duration,
}

/// Inputs of new behaviour are kept (up to this many) and mutated further.
const POOL: usize = 2048;

fn fuzz(target: &Target, args: &Args) -> Stats {
    let mut rng = Rng::new(args.seed);
    let seeds = (target.seeds)(&mut rng);
    let mut pool: Vec<Vec<u8>> = seeds.clone();
    let mut seen_outcomes: HashSet<u64> = HashSet::new();
    let mut by_kind: HashMap<String, u64> = HashMap::new();
    let mut stats = Stats::default();
    let watch = Watchdog::start(target.name, &args.out);
    let start = Instant::now();
    let budget = Duration::from_secs_f64(args.minutes * 60.0);
    let mut next_report = Duration::from_secs(60);
    let mut input = Vec::new();
    while start.elapsed() < budget {
        let base = if rng.one_in(4) {
            rng.pick(&seeds)
        } else {
            rng.pick(&pool)
        };
        input.clear();
        input.extend_from_slice(base);
        let other = rng.pick(&pool).clone();
        mutate::mutate(&mut rng, &mut input, &other, target.max_len);
        watch.begin(&input);
        let t = Instant::now();
        let result = execute(target, &input);
        let took = t.elapsed();
        stats.execs += 1;
        if took > Duration::from_secs(1) {
            stats.slow += 1;
            if stats.slow <= 5 {
                let path = save(&args.out, &format!("{}-slow", target.name), &input);
                println!("SLOW {} took {took:?}: {}", target.name, path.display());
            }
        }
        match result {
            Ok(Outcome(sig)) => {
                if seen_outcomes.insert(sig) {
                    if pool.len() < POOL {
                        pool.push(input.clone());
                    } else {
                        let i = rng.below(POOL);
                        pool[i] = input.clone();
                    }
                }
            }
            Err(Finding(msg)) => {
                stats.crashes += 1;
                let count = by_kind.entry(kind(&msg)).or_default();
                *count += 1;
                if *count == 1 {
                    stats.unique += 1;
                    let path = save(&args.out, target.name, &input);
                    println!(
                        "FINDING {}: {msg}\n  saved {}\n  input ({} bytes): {}",
                        target.name,
                        path.display(),
                        input.len(),
                        shown(&input)
                    );
                }
            }
        }
        if start.elapsed() > next_report {
            next_report += Duration::from_secs(60);
            eprintln!(
                "[{}] {:.0} s: {} executions, {} findings, pool {}",
                target.name,
                start.elapsed().as_secs_f64(),
                stats.execs,
                stats.crashes,
                pool.len()
            );
        }
    }
    stats.elapsed = start.elapsed();
    stats.kept = pool.len();
    stats
}

/// Findings are grouped by their text up to the first digit or quote, so one defect seen
/// with many inputs is saved once.
fn kind(msg: &str) -> String {
    msg.split(|c: char| c.is_ascii_digit() || c == '"' || c == '`')
        .next()
        .unwrap_or(msg)
        .to_string()
}

fn shown(input: &[u8]) -> String {
    let s = input.escape_ascii().to_string();
    if s.len() > 2000 {
        format!("{}…", &s[..2000])
    } else {
        s
    }
}

fn save(dir: &Path, prefix: &str, input: &[u8]) -> PathBuf {
    let _ = std::fs::create_dir_all(dir);
    // FNV-1a: names the file by its content, so the same input is saved once.
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{prefix}-{hash:016x}"));
    if let Err(e) = std::fs::write(&path, input) {
        eprintln!("cannot save {}: {e}", path.display());
    }
    path
}

/// Saves the input being run when it runs for over a minute, then stops the process: a
/// hang cannot be caught like a panic.
struct Watchdog {
    current: Arc<Mutex<Vec<u8>>>,
    started_ms: Arc<AtomicU64>,
}

const HANG: Duration = Duration::from_secs(60);

impl Watchdog {
    fn start(name: &'static str, out: &Path) -> Self {
        let current = Arc::new(Mutex::new(Vec::new()));
        let started_ms = Arc::new(AtomicU64::new(u64::MAX));
        let (c, s, out) = (current.clone(), started_ms.clone(), out.to_path_buf());
        let epoch = Instant::now();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(5));
            let began = s.load(Ordering::Relaxed);
            let now = epoch.elapsed().as_millis() as u64;
            if began != u64::MAX && now.saturating_sub(began) > HANG.as_millis() as u64 {
                let input = c.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let path = save(&out, &format!("{name}-hang"), &input);
                println!(
                    "HANG {name}: one input ran over {HANG:?}; saved {}",
                    path.display()
                );
                std::process::exit(3);
            }
        });
        let w = Self {
            current,
            started_ms,
        };
        EPOCH.get_or_init(|| epoch);
        w
    }

    fn begin(&self, input: &[u8]) {
        let mut c = self.current.lock().unwrap_or_else(|e| e.into_inner());
        c.clear();
        c.extend_from_slice(input);
        let epoch = EPOCH.get().expect("set at start");
        self.started_ms
            .store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
