//! `mdm report`: what a reconcile run did and where a domain stands: the run's counts,
//! duplicates within and across systems, per-source counts, data-quality findings
//! (quarantine) and the review backlog. As a struct (for JSON), text and an HTML page.
//! Only ids and counts: never attribute values.

use crate::ServiceError;
use chrono::{DateTime, Utc};
use mdm_store::runs::Run;
use mdm_store::DbConnection;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub domain: String,
    pub run: RunReport,
    pub golden: GoldenCounts,
    pub duplicates: Duplicates,
    pub sources: Vec<SourceCounts>,
    pub quality: Vec<Finding>,
    /// Defects of the published golden records (`mdm_core::golden_quality`), when the
    /// caller had the domain's rules to check them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub golden_quality: Option<mdm_core::golden_quality::GoldenQuality>,
    pub review: Review,
}

/// One reconcile run as the report shows it: times with their zone (RFC 3339, UTC), what
/// it did to golden records, and its stats as an object (not the ledger's JSON text).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub id: i64,
    /// `full` or `incremental`.
    pub mode: String,
    /// `running`, `completed`, `failed` or `interrupted`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Source records the run matched (every staged one on a full run, the changed ones
    /// and their neighbours on an incremental run).
    pub records: u64,
    /// Golden records the run created, updated, merged away, split off, deleted or left
    /// unchanged.
    pub golden_records: RunGoldenCounts,
    /// Pairs left for a steward's review after the run (the whole open backlog).
    pub review_items: u64,
    /// Clusters, changed records, pairs, events; `timings` as phase -> seconds.
    pub stats: serde_json::Value,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunGoldenCounts {
    pub created: u64,
    pub updated: u64,
    pub merged: u64,
    pub split: u64,
    pub deleted: u64,
    pub unchanged: u64,
}

impl RunReport {
    fn from_run(run: &Run) -> Self {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let mut stats: serde_json::Value =
            serde_json::from_str(&run.stats).unwrap_or(serde_json::Value::Null);
        // Stored as [phase, seconds] pairs; a reader looks a phase up by name.
        if let Some(pairs) = stats.get("timings").and_then(|t| t.as_array()) {
            let by_phase: serde_json::Map<String, serde_json::Value> = pairs
                .iter()
                .filter_map(|p| Some((p.get(0)?.as_str()?.to_string(), p.get(1)?.clone())))
                .collect();
            stats["timings"] = by_phase.into();
        }
        RunReport {
            id: run.id,
            mode: run.mode.clone(),
            status: run.status.clone(),
            started_at: run.started_at.and_utc(),
            finished_at: run.finished_at.map(|t| t.and_utc()),
            records: n(run.records),
            golden_records: RunGoldenCounts {
                created: n(run.n_created),
                updated: n(run.n_updated),
                merged: n(run.n_merged),
                split: n(run.n_split),
                deleted: n(run.n_deleted),
                unchanged: n(run.n_unchanged),
            },
            review_items: n(run.review_items),
            stats,
            error: run.error.clone(),
        }
    }
}

/// Golden records of the domain by status, and the source records they hold (the xref).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GoldenCounts {
    pub active: u64,
    /// Retired by merges (their IDs redirect to the survivor).
    pub retired: u64,
    pub deleted: u64,
    /// Source records in the cross-reference: `active` + `duplicates.redundant_records`.
    pub source_records: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Duplicates {
    /// Golden records with more than one source record.
    pub golden_with_duplicates: u64,
    /// Golden records with two or more records of one system (some of them also across
    /// systems: this and `across_systems` overlap).
    pub within_system: u64,
    /// Golden records with records of two or more systems.
    pub across_systems: u64,
    /// Golden records whose duplicates are all of one system:
    /// `golden_with_duplicates` = `across_systems` + `within_system_only`.
    pub within_system_only: u64,
    /// Source records beyond the first of each golden record.
    pub redundant_records: u64,
    /// Largest golden record (source records).
    pub largest: u64,
    /// Per pair of systems (sorted, joined by `+`): golden records they share.
    pub shared_by_systems: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceCounts {
    pub system: String,
    pub current: u64,
    pub deleted: u64,
    pub quarantined: u64,
    /// Golden records this system contributes to.
    pub golden_records: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub system: String,
    pub reason: String,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub pending: u64,
    /// The most likely matches first (ids and probability only), at most `TOP_REVIEW`.
    pub top: Vec<ReviewPair>,
    /// How many pairs `top` shows, of `total` (the whole backlog): a reader sees that the
    /// list is cut ("10 of 24") without counting it.
    pub shown: u64,
    pub total: u64,
}

/// Review pairs the report lists.
pub const TOP_REVIEW: i64 = 10;

#[derive(Debug, Clone, Serialize)]
pub struct ReviewPair {
    pub a: String,
    pub b: String,
    pub probability: f64,
}

/// Builds the report of run `run_id`, or of the domain's latest run.
pub fn build(
    conn: &mut DbConnection,
    domain: Option<&str>,
    run_id: Option<i64>,
) -> Result<Report, ServiceError> {
    let run = match run_id {
        Some(id) => mdm_store::runs::get(conn, id)?
            .ok_or_else(|| ServiceError::Invalid(format!("no reconcile run {id}")))?,
        None => mdm_store::runs::latest(conn, domain, None)?.ok_or_else(|| {
            ServiceError::Invalid("no reconcile run yet: run `mdm reconcile` first".into())
        })?,
    };
    let domain = run.domain.clone();
    let mut golden = GoldenCounts::default();
    for (status, n) in mdm_store::golden::status_counts(conn, &domain)? {
        match status.as_str() {
            "active" => golden.active = n as u64,
            "retired" => golden.retired = n as u64,
            _ => golden.deleted = n as u64,
        }
    }
    let xref = mdm_store::xref::load(conn, &domain)?;
    golden.source_records = xref.len() as u64;
    let mut by_golden: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for x in &xref {
        by_golden.entry(&x.golden_id).or_default().push(&x.system);
    }
    let duplicates = duplicates(&by_golden);
    let sources = sources(conn, &domain, &by_golden)?;
    let quality = mdm_store::reports::quarantine_counts(conn, &domain)?
        .into_iter()
        .map(|(system, reason, rows)| Finding {
            system,
            reason,
            rows: rows as u64,
        })
        .collect();
    let pending = mdm_store::decisions::review_count(conn, &domain)? as u64;
    let top: Vec<ReviewPair> = mdm_store::decisions::review_items(conn, &domain, TOP_REVIEW)?
        .into_iter()
        .map(|r| ReviewPair {
            a: format!("{}/{}", r.a_system, r.a_source_id),
            b: format!("{}/{}", r.b_system, r.b_source_id),
            probability: r.probability,
        })
        .collect();
    Ok(Report {
        domain,
        run: RunReport::from_run(&run),
        golden,
        duplicates,
        sources,
        quality,
        golden_quality: None,
        review: Review {
            pending,
            shown: top.len() as u64,
            total: pending,
            top,
        },
    })
}

fn duplicates(by_golden: &BTreeMap<&str, Vec<&str>>) -> Duplicates {
    let mut d = Duplicates::default();
    for systems in by_golden.values() {
        let n = systems.len() as u64;
        d.largest = d.largest.max(n);
        if n < 2 {
            continue;
        }
        d.golden_with_duplicates += 1;
        d.redundant_records += n - 1;
        let distinct: BTreeSet<&str> = systems.iter().copied().collect();
        if distinct.len() < systems.len() {
            d.within_system += 1;
        }
        if distinct.len() == 1 {
            d.within_system_only += 1;
        }
        if distinct.len() > 1 {
            d.across_systems += 1;
            let v: Vec<&str> = distinct.into_iter().collect();
            for (i, a) in v.iter().enumerate() {
                for b in &v[i + 1..] {
                    *d.shared_by_systems.entry(format!("{a}+{b}")).or_default() += 1;
                }
            }
        }
    }
    d
}

fn sources(
    conn: &mut DbConnection,
    domain: &str,
    by_golden: &BTreeMap<&str, Vec<&str>>,
) -> Result<Vec<SourceCounts>, ServiceError> {
    let mut out: BTreeMap<String, SourceCounts> = BTreeMap::new();
    for (system, status, n) in mdm_store::reports::staged_counts(conn, domain)? {
        let e = source_entry(&mut out, &system);
        match status.as_str() {
            "current" => e.current += n as u64,
            _ => e.deleted += n as u64,
        }
    }
    for (system, _, n) in mdm_store::reports::quarantine_counts(conn, domain)? {
        source_entry(&mut out, &system).quarantined += n as u64;
    }
    for systems in by_golden.values() {
        let distinct: BTreeSet<&str> = systems.iter().copied().collect();
        for s in distinct {
            source_entry(&mut out, s).golden_records += 1;
        }
    }
    Ok(out.into_values().collect())
}

fn source_entry<'a>(out: &'a mut BTreeMap<String, SourceCounts>, s: &str) -> &'a mut SourceCounts {
    out.entry(s.to_string()).or_insert_with(|| SourceCounts {
        system: s.to_string(),
        current: 0,
        deleted: 0,
        quarantined: 0,
        golden_records: 0,
    })
}

impl Report {
    /// A plain-text summary for the terminal.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let r = &self.run;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} — run {} ({}, {}), started {} UTC",
            self.domain,
            r.id,
            r.mode,
            r.status,
            r.started_at.format("%Y-%m-%d %H:%M:%S")
        );
        let g = &r.golden_records;
        let _ = writeln!(
            s,
            "  {} source records -> {} active golden records ({} retired by merges, {} deleted)",
            self.golden.source_records,
            self.golden.active,
            self.golden.retired,
            self.golden.deleted
        );
        let _ = writeln!(
            s,
            "  this run, golden records: created {}  updated {}  merged {}  split {}  deleted {}  unchanged {}  (of {} source records matched)",
            g.created, g.updated, g.merged, g.split, g.deleted, g.unchanged, r.records
        );
        let d = &self.duplicates;
        let _ = writeln!(
            s,
            "  duplicates: {} golden records hold more than one source record, {} beyond the first \
             ({} across systems, {} within one system only; largest {} records)",
            d.golden_with_duplicates, d.redundant_records, d.across_systems, d.within_system_only, d.largest
        );
        let _ = writeln!(
            s,
            "    golden records with two or more records of one system: {}",
            d.within_system
        );
        for (pair, n) in &d.shared_by_systems {
            let _ = writeln!(s, "    golden records shared by {pair}: {n}");
        }
        let _ = writeln!(s, "  sources:");
        for src in &self.sources {
            let _ = writeln!(
                s,
                "    {:<10} current {:>8}  deleted {:>6}  quarantined {:>6}  in golden records {:>8}",
                src.system, src.current, src.deleted, src.quarantined, src.golden_records
            );
        }
        let findings: u64 = self.quality.iter().map(|f| f.rows).sum();
        let _ = writeln!(s, "  data quality: {findings} quarantined rows");
        for f in &self.quality {
            let _ = writeln!(s, "    {} {}: {}", f.system, f.reason, f.rows);
        }
        if let Some(q) = &self.golden_quality {
            let _ = writeln!(
                s,
                "  golden record defects: {} placeholder or invalid phones/e-mails published over a valid one, \
                 {} addresses (groups) assembled from several source records, \
                 {} phones with another country's code than the record's",
                q.placeholders_published, q.groups_from_several_records, q.phones_against_country
            );
        }
        let _ = writeln!(s, "  review backlog: {} pairs", self.review.pending);
        if let Some(e) = &r.error {
            let _ = writeln!(s, "  run error: {e}");
        }
        s
    }

    /// A self-contained HTML page.
    pub fn html(&self) -> String {
        let esc = |t: &str| {
            t.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let row = |cells: &[String]| {
            format!(
                "<tr>{}</tr>",
                cells
                    .iter()
                    .map(|c| format!("<td>{}</td>", esc(c)))
                    .collect::<String>()
            )
        };
        let r = &self.run;
        let g = &r.golden_records;
        let mut counts = String::new();
        for (k, v) in [
            ("golden records created", g.created),
            ("golden records updated", g.updated),
            ("golden records merged away", g.merged),
            ("golden records split off", g.split),
            ("golden records deleted", g.deleted),
            ("golden records unchanged", g.unchanged),
            ("source records matched", r.records),
            ("review items open after the run", r.review_items),
        ] {
            counts.push_str(&row(&[k.to_string(), v.to_string()]));
        }
        let d = &self.duplicates;
        let mut dups = String::new();
        for (k, v) in [
            (
                "golden records with more than one source record",
                d.golden_with_duplicates,
            ),
            ("… of which across systems", d.across_systems),
            ("… of which within one system only", d.within_system_only),
            (
                "golden records with two or more records of one system",
                d.within_system,
            ),
            (
                "source records beyond each golden record's first",
                d.redundant_records,
            ),
            ("source records in the largest golden record", d.largest),
        ] {
            dups.push_str(&row(&[k.to_string(), v.to_string()]));
        }
        for (k, v) in &d.shared_by_systems {
            dups.push_str(&row(&[
                format!("golden records shared by {k}"),
                v.to_string(),
            ]));
        }
        let sources: String = self
            .sources
            .iter()
            .map(|s| {
                row(&[
                    s.system.clone(),
                    s.current.to_string(),
                    s.deleted.to_string(),
                    s.quarantined.to_string(),
                    s.golden_records.to_string(),
                ])
            })
            .collect();
        let quality: String = self
            .quality
            .iter()
            .map(|f| row(&[f.system.clone(), f.reason.clone(), f.rows.to_string()]))
            .collect();
        let defects: String = self
            .golden_quality
            .iter()
            .flat_map(|q| {
                [
                    ("placeholder or invalid phones and e-mails published over a member's valid one", q.placeholders_published),
                    ("addresses (survivorship groups) assembled from several source records", q.groups_from_several_records),
                    ("phones with another country's code than the golden record's, written without one", q.phones_against_country),
                ]
            })
            .map(|(k, v)| row(&[k.to_string(), v.to_string()]))
            .collect();
        let review: String = self
            .review
            .top
            .iter()
            .map(|p| row(&[p.a.clone(), p.b.clone(), format!("{:.3}", p.probability)]))
            .collect();
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mdm report — {domain} run {id}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}td,th{{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}}th{{background:#f4f4f4}}h1{{font-size:1.4rem}}</style>
</head><body>
<h1>mdm report — {domain}, run {id}</h1>
<p>Mode {mode}, status {status}, started {started}, finished {finished}.
{records} source records in {active} active golden records ({retired} retired by merges, {deleted} deleted).</p>
<h2>This run</h2><table>{counts}</table>
<h2>Duplicates</h2><table>{dups}</table>
<h2>Sources</h2><table><tr><th>system</th><th>current</th><th>deleted</th><th>quarantined</th><th>in golden records</th></tr>{sources}</table>
<h2>Data quality (quarantine)</h2><table><tr><th>system</th><th>reason</th><th>rows</th></tr>{quality}</table>
<h2>Golden record defects</h2><table><tr><th>defect</th><th>golden values</th></tr>{defects}</table>
<h2>Review backlog: {pending} pairs ({shown_count} of {pending} shown)</h2><p>{shown}</p><table><tr><th>record</th><th>record</th><th>probability</th></tr>{review}</table>
</body></html>
"#,
            domain = esc(&self.domain),
            id = r.id,
            mode = esc(&r.mode),
            status = esc(&r.status),
            started = r.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
            finished = r
                .finished_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default(),
            records = self.golden.source_records,
            active = self.golden.active,
            retired = self.golden.retired,
            deleted = self.golden.deleted,
            pending = self.review.pending,
            shown = self.review_shown(),
            shown_count = self.review.shown,
        )
    }

    /// What the review table shows of the backlog: all of it, or N of M (the only list
    /// of the report that is cut; the others show every row).
    fn review_shown(&self) -> String {
        let (shown, total) = (self.review.shown, self.review.total);
        match shown {
            0 => "Nothing to review.".into(),
            n if n >= total => format!("All {total} pairs, the most likely matches first."),
            _ => format!(
                "{shown} of {total} shown: the {shown} most likely matches of {total} pairs; \
                 every pair is in the review queue (GET /v1/{{domain}}/review, the steward \
                 console)."
            ),
        }
    }

    /// Writes `report.json` and `report.html` into `dir` (created if missing).
    pub fn write_to(
        &self,
        dir: &std::path::Path,
    ) -> Result<(std::path::PathBuf, std::path::PathBuf), ServiceError> {
        let io = |path: &std::path::Path| {
            let path = path.to_path_buf();
            move |error| ServiceError::Io { path, error }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let json = dir.join("report.json");
        let html = dir.join("report.html");
        let body = serde_json::to_string_pretty(self).expect("report serializes");
        std::fs::write(&json, body).map_err(io(&json))?;
        std::fs::write(&html, self.html()).map_err(io(&html))?;
        Ok((json, html))
    }
}
