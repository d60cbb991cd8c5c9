//! The ingest targets: CSV (with stray-quote recovery), NDJSON and JSON array, each row
//! then prepared for staging. Invariants beyond "no panic": every input row is accounted
//! for by a count independent of the adapter, no text bound for the database holds a NUL,
//! and preparing a row does not depend on its column order.

use crate::{Finding, Outcome};
use mdm_core::standardize::basic_check;
use mdm_core::DomainRules;
use mdm_ingest::prepare::Preparer;
use mdm_ingest::{
    ColumnMapping, CsvOptions, CsvSource, JsonArraySource, NdjsonSource, RawRow, RecordSource,
};
use std::sync::LazyLock;

pub static RULES: LazyLock<DomainRules> =
    LazyLock::new(|| mdm_rules::load_domain(None, "customer").expect("shipped rules parse"));
static MAPPING: LazyLock<ColumnMapping> =
    LazyLock::new(|| ColumnMapping::new([("KUNNR", "source_id"), ("NAME1", "organization_name")]));

fn fail(msg: impl Into<String>) -> Finding {
    Finding(msg.into())
}

fn collect(src: &mut dyn RecordSource) -> Result<Vec<RawRow>, Finding> {
    let mut rows = Vec::new();
    src.for_each_row(&mut |r| {
        rows.push(r);
        Ok(())
    })
    .map_err(|e| fail(format!("whole input failed after the header: {e}")))?;
    Ok(rows)
}

fn has_nul(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| s.contains('\0'))
}

/// Checks shared by all ingest targets, then preparation of every readable row.
fn check_rows(rows: &[RawRow]) -> Result<u64, Finding> {
    let mut sig = rows.len() as u64;
    for w in rows.windows(2) {
        if w[1].number < w[0].number {
            return Err(fail(format!(
                "row numbers go backwards: {} after {}",
                w[1].number, w[0].number
            )));
        }
    }
    let mut p = Preparer::new(&RULES, &MAPPING);
    for r in rows {
        match &r.content {
            Err(rej) => {
                if has_nul(&rej.raw) || has_nul(&rej.field) || rej.detail.contains('\0') {
                    return Err(fail(format!(
                        "adapter rejection of row {} holds a NUL (PostgreSQL refuses it)",
                        r.number
                    )));
                }
                sig = sig.wrapping_mul(31).wrapping_add(rej.reason as u64 + 1);
            }
            Ok(fields) => {
                sig = sig
                    .wrapping_mul(31)
                    .wrapping_add(prepare(&mut p, fields, r.number)?);
            }
        }
    }
    Ok(sig)
}

type Fields = Vec<(std::sync::Arc<str>, String)>;

fn prepare(p: &mut Preparer<'_>, fields: &Fields, number: u64) -> Result<u64, Finding> {
    let once = p.prepare(fields.clone());
    let reversed = p.prepare(fields.iter().rev().cloned().collect());
    match (&once, &reversed) {
        (Ok(a), Ok(b)) if a != b => {
            return Err(fail(format!(
                "row {number}: column order changes the prepared row"
            )))
        }
        (Ok(_), Err(_)) | (Err(_), Ok(_)) => {
            return Err(fail(format!(
                "row {number}: column order decides staged or quarantined"
            )))
        }
        _ => {}
    }
    match once {
        Ok(row) => {
            let id = &row.source_id;
            if id.is_empty() || id.trim() != id || id.contains('\0') || id.chars().count() > 256 {
                return Err(fail(format!(
                    "row {number}: staged source_id {id:?} is not a key"
                )));
            }
            if row.content_hash.len() != 64 {
                return Err(fail(format!(
                    "row {number}: content hash {}",
                    row.content_hash
                )));
            }
            let attrs: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&row.attributes)
                    .map_err(|e| fail(format!("row {number}: staged attributes not JSON: {e}")))?;
            for (k, v) in &attrs {
                let v = v
                    .as_str()
                    .ok_or_else(|| fail(format!("row {number}: attribute `{k}` not a string")))?;
                if k.contains('\0') || v.contains('\0') {
                    return Err(fail(format!("row {number}: staged attribute holds a NUL")));
                }
                if let Some(a) = RULES.attributes.iter().find(|a| &a.name == k) {
                    if basic_check(a.ty, v).is_err() {
                        return Err(fail(format!(
                            "row {number}: `{k}` staged though it fails its basic check"
                        )));
                    }
                }
            }
            Ok(100 + attrs.len() as u64)
        }
        Err(rej) => {
            if has_nul(&rej.raw) || has_nul(&rej.field) || rej.detail.contains('\0') {
                return Err(fail(format!("row {number}: quarantine entry holds a NUL")));
            }
            Ok(10 + rej.reason as u64)
        }
    }
}

pub fn csv(input: &[u8]) -> Result<Outcome, Finding> {
    let options = CsvOptions::default();
    let Ok(mut src) = CsvSource::from_reader(input, "fuzz.csv".into(), options) else {
        return Ok(Outcome(1));
    };
    let columns = src.columns().unwrap_or_default().to_vec();
    if let Some(c) = columns.iter().find(|c| c.contains(['\n', '\r'])) {
        return Err(fail(format!(
            "header column {c:?} spans lines: a quote in the header swallowed the rows"
        )));
    }
    if let Some(c) = columns.iter().find(|c| c.contains('\0')) {
        return Err(fail(format!(
            "header column {c:?} holds a NUL (quarantine entries name it)"
        )));
    }
    let rows = collect(&mut src)?;
    for r in &rows {
        if let Ok(f) = &r.content {
            if f.len() != columns.len() {
                return Err(fail(format!(
                    "row {} staged with {} fields",
                    r.number,
                    f.len()
                )));
            }
        }
    }
    if std::env::var_os("FUZZ_SHOW").is_some() {
        for r in &rows {
            let what = r.content.as_ref().map(|f| format!("{f:?}"));
            println!(
                "row {}: {:?}",
                r.number,
                what.map_err(|e| (&e.detail, &e.raw))
            );
        }
    }
    let sig = check_rows(&rows)?;
    csv_lines_covered(input, &rows)?;
    Ok(Outcome(sig ^ (columns.len() as u64) << 48))
}

/// Every non-blank physical line after the header belongs to a row: a row starts on it, a
/// staged row's multi-line field runs over it, or a rejection's raw text spans it.
fn csv_lines_covered(input: &[u8], rows: &[RawRow]) -> Result<(), Finding> {
    let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    // A BOM alone on the first line is a blank line to csv.
    if let Some(first) = lines.first_mut() {
        *first = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
    }
    let mut covered = vec![false; lines.len() + 1];
    for r in rows {
        let extra = match &r.content {
            Ok(fields) => fields.iter().map(|(_, v)| newlines(v)).sum(),
            Err(rej) if rej.detail.starts_with("unterminated quote") => 0,
            Err(rej) => match rej.raw.as_deref() {
                Some(raw) if raw.ends_with("[truncated]") => return Ok(()),
                Some(raw) => newlines(raw),
                None => 0,
            },
        };
        let (from, to) = (r.number as usize, r.number as usize + extra);
        if from == 0 || to > lines.len() {
            return Err(fail(format!(
                "row numbered {from}..={to} in an input of {} lines",
                lines.len()
            )));
        }
        covered[from..=to].iter_mut().for_each(|c| *c = true);
    }
    let quote_free = !input.contains(&b'"') && !bare_cr(input);
    let mut expected = 0;
    // csv skips blank lines before the header too.
    let header = lines.iter().position(|l| !l.iter().all(|&b| b == b'\r'));
    for (i, line) in lines.iter().enumerate().skip(header.map_or(1, |h| h + 1)) {
        if line.iter().all(|&b| b == b'\r') {
            continue;
        }
        expected += 1;
        if !covered[i + 1] {
            return Err(fail(format!(
                "line {} is in no row: silently dropped",
                i + 1
            )));
        }
    }
    if quote_free && rows.len() != expected {
        return Err(fail(format!(
            "{} rows from {expected} non-blank lines without quotes",
            rows.len()
        )));
    }
    Ok(())
}

fn newlines(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count()
}

fn bare_cr(input: &[u8]) -> bool {
    input
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\r' && input.get(i + 1) != Some(&b'\n'))
}

pub fn ndjson(input: &[u8]) -> Result<Outcome, Finding> {
    let mut src = NdjsonSource::from_reader(input, "fuzz.ndjson".into());
    let rows = collect(&mut src)?;
    // Independent count: the lines that are not blank, by number.
    let mut expected = Vec::new();
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let line = if i == 0 {
            line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
        } else {
            line
        };
        if !line.iter().all(u8::is_ascii_whitespace) {
            expected.push((i as u64 + 1, line));
        }
    }
    if input.is_empty() {
        expected.clear();
    }
    let got: Vec<u64> = rows.iter().map(|r| r.number).collect();
    let want: Vec<u64> = expected.iter().map(|(n, _)| *n).collect();
    if got != want {
        return Err(fail(format!(
            "rows {got:?} where the non-blank lines are {want:?}"
        )));
    }
    for (r, (_, line)) in rows.iter().zip(&expected) {
        let object = matches!(
            serde_json::from_slice::<serde_json::Value>(line),
            Ok(serde_json::Value::Object(_))
        );
        if object != r.content.is_ok() {
            return Err(fail(format!(
                "line {}: a JSON object is {}",
                r.number,
                if object {
                    "quarantined"
                } else {
                    "read as a row"
                }
            )));
        }
    }
    Ok(Outcome(check_rows(&rows)?))
}

pub fn json_array(input: &[u8]) -> Result<Outcome, Finding> {
    let body = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let oracle = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(v)) => Some(v),
        _ => None,
    };
    let mut src = match (JsonArraySource::parse("push".into(), input), &oracle) {
        (Err(_), None) => return Ok(Outcome(1)),
        (Err(e), Some(_)) => return Err(fail(format!("a JSON array is refused: {e}"))),
        (Ok(_), None) => return Err(fail("a body that is no JSON array is read as one")),
        (Ok(src), Some(_)) => src,
    };
    let elements = oracle.unwrap_or_default();
    let rows = collect(&mut src)?;
    if rows.len() != elements.len() {
        return Err(fail(format!(
            "{} rows from {} elements",
            rows.len(),
            elements.len()
        )));
    }
    for (i, (r, e)) in rows.iter().zip(&elements).enumerate() {
        if r.number != i as u64 + 1 || r.content.is_ok() != e.is_object() {
            return Err(fail(format!(
                "element {} read as row {} wrongly",
                i + 1,
                r.number
            )));
        }
    }
    Ok(Outcome(check_rows(&rows)?))
}
