//! `mdm match --report DIR`: what the model believes about the data it just matched
//! (`mdm_core::model_report`), written as `DIR/report.json` and `DIR/report.html`. The HTML
//! is one self-contained page: inline CSS and SVG, no scripts, no external resources, every
//! text node escaped.

use anyhow::Context;
use mdm_core::model_report::{self, ModelReport};
use mdm_core::pipeline::{self, MatchResult};
use mdm_core::veto;
use mdm_core::DomainRules;
use std::fmt::Write as _;
use std::path::Path;

/// Scores every candidate pair of the finished run, builds the report and writes both files.
pub fn write(dir: &Path, rules: &DomainRules, res: &MatchResult) -> anyhow::Result<()> {
    let scores = pipeline::score_candidates(rules, &res.features, &res.params)?;
    let report = model_report::build(rules, &res.params, res.features.len(), &scores);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = dir.join("report.json");
    std::fs::write(&json, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", json.display()))?;
    let html = dir.join("report.html");
    std::fs::write(&html, render(&report))
        .with_context(|| format!("writing {}", html.display()))?;
    eprintln!(
        "report      {}  (model's estimate at the match threshold: precision {:.4}, recall {:.4})",
        html.display(),
        report.at_match_threshold.precision,
        report.at_match_threshold.recall
    );
    Ok(())
}

/// Escapes text for an HTML text node or a quoted attribute.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A probability readably: small ones in scientific notation.
fn prob(p: f64) -> String {
    if p != 0.0 && p.abs() < 0.001 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

const GREEN: &str = "#2e7d32";
const AMBER: &str = "#f9a825";
const GREY: &str = "#90a4ae";
const RED: &str = "#c62828";
const DARK: &str = "#263238";

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;\
max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
h3{margin:1.2em 0 .3em;font-size:1.05em}\
table{border-collapse:collapse;margin:.5em 0}th,td{padding:.25em .7em;text-align:right;\
border-bottom:1px solid #eee;vertical-align:middle}th{background:#f5f5f5}\
td.l,th.l{text-align:left}.note{color:#555;font-size:.92em;max-width:60em}\
.kpi{display:inline-block;margin:0 2em .5em 0}.kpi b{font-size:1.5em;display:block}\
.pos{color:#2e7d32}.neg{color:#c62828}svg text{font-family:inherit}";

/// The whole page.
pub fn render(r: &ModelReport) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>mdm model report: {}</title><style>{STYLE}</style></head><body>\n",
        esc(&r.domain)
    );
    let _ = write!(
        h,
        "<h1>Model report: {}</h1>\n<p>{} records, {} candidate pairs. Prior probability that \
         two records match λ = {} (weight {:+.2} bits); EM iterations: {}.</p>\n",
        esc(&r.domain),
        count(r.records as u64),
        count(r.candidate_pairs as u64),
        prob(r.lambda),
        r.prior_weight,
        r.em_iterations
    );
    if let Some(k) = &r.kind_prior {
        let _ = writeln!(
            h,
            "<p>The prior depends on the kind of pair (how many of its two records carry \
             <code>{}</code>): neither λ = {}, one λ = {}, both λ = {}.</p>",
            esc(&k.attribute),
            prob(k.lambda[0]),
            prob(k.lambda[1]),
            prob(k.lambda[2])
        );
    }
    summary(&mut h, r);
    distribution(&mut h, r);
    comparisons(&mut h, r);
    overrides(&mut h, r);
    blocking(&mut h, r);
    h.push_str(
        "<h2>How to read this</h2>\n<p class=\"note\">Each comparison sorts a pair of records \
         into a level (exact, a close spelling, ..., \"else\"). <b>m</b> is the share of \
         true matches the model places at that level, <b>u</b> the share of non-matches. \
         The level's <b>weight</b> is log2(m/u): bits of evidence for a match (positive) or \
         against it (negative). A pair's match weight is the prior's weight plus its \
         levels' weights; its probability is 1/(1+2^-weight). The thresholds are the \
         rules' match and review probabilities shown as weights too. Every \"expected\" \
         figure (matches, precision, recall) is the model's own belief, computed from the \
         probabilities it gives the candidate pairs, not a measurement against truth; \
         matches that no blocking rule made a candidate pair are not counted.</p>\n",
    );
    h.push_str("</body></html>\n");
    h
}

fn summary(h: &mut String, r: &ModelReport) {
    let d = &r.decisions;
    let (m, v) = (&r.at_match_threshold, &r.at_review_threshold);
    h.push_str("<h2>Decisions and the model's own estimate of its accuracy</h2>\n");
    let _ = writeln!(
        h,
        "<div><span class=\"kpi\"><b>{:.4}</b>estimated precision at the match threshold</span>\
         <span class=\"kpi\"><b>{:.4}</b>estimated recall at the match threshold</span>\
         <span class=\"kpi\"><b>{:.1}</b>expected matches among candidate pairs</span></div>",
        m.precision, m.recall, m.expected_matches
    );
    let _ = writeln!(
        h,
        "<table><tr><th class=\"l\">decision</th><th>by the model</th><th>by an override</th></tr>\
         <tr><td class=\"l\">match</td><td>{}</td><td>{}</td></tr>\
         <tr><td class=\"l\">review</td><td>{}</td><td>–</td></tr>\
         <tr><td class=\"l\">non-match</td><td>{}</td><td>{}</td></tr></table>",
        count(d.match_by_model),
        count(d.match_by_override),
        count(d.review),
        count(d.non_match_by_model),
        count(d.non_match_by_override)
    );
    h.push_str(
        "<table><tr><th class=\"l\">if pairs at or above</th><th>probability</th>\
         <th>weight</th><th>pairs</th><th>expected true matches</th>\
         <th>est. precision</th><th>est. recall</th></tr>\n",
    );
    for (name, e, w) in [
        ("match threshold (merged)", m, r.thresholds.match_weight),
        (
            "review threshold (if all review pairs were accepted)",
            v,
            r.thresholds.review_weight,
        ),
    ] {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{name}</td><td>{}</td><td>{w:+.2}</td><td>{}</td>\
             <td>{:.1}</td><td>{:.4}</td><td>{:.4}</td></tr>",
            prob(e.threshold),
            count(e.pairs),
            e.expected_true_matches,
            e.precision,
            e.recall
        );
    }
    h.push_str(
        "</table>\n<p class=\"note\">Precision = expected true matches above the threshold / \
         pairs above it; recall = expected true matches above it / expected matches among all \
         candidate pairs. A pair counts as its probability of being a match; a pair an \
         override decided counts as 1 (match) or 0 (non-match). These are the model's \
         beliefs: if its assumptions (independent comparisons, the levels' m and u) are off, \
         so are they. Measure against a truth file with <code>mdm evaluate</code>.</p>\n",
    );
}

/// The histogram of candidate pairs' match weights (log scale) with the thresholds.
fn distribution(h: &mut String, r: &ModelReport) {
    h.push_str("<h2>Match weights of the candidate pairs</h2>\n");
    let b = &r.histogram;
    if b.is_empty() {
        h.push_str("<p>No candidate pairs.</p>\n");
        return;
    }
    let (w, ht, left, right, top, bottom) = (1040.0, 330.0, 60.0, 20.0, 24.0, 46.0);
    let pw = w - left - right;
    let ph = ht - top - bottom;
    let (x0, x1) = (b[0].lo, b[b.len() - 1].hi);
    let x = |v: f64| left + (v - x0) / (x1 - x0) * pw;
    let max = b.iter().map(|b| b.pairs).max().unwrap_or(1).max(1) as f64;
    let ymax = (max + 1.0).log10().ceil().max(1.0);
    let y = |n: f64| top + ph - (n + 1.0).log10() / ymax * ph;
    let _ = writeln!(
        h,
        "<svg width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\" role=\"img\" \
         aria-label=\"histogram of match weights\">"
    );
    // Y grid at powers of ten.
    for p in 0..=ymax as i32 {
        let n = 10f64.powi(p);
        let yy = y(n);
        let _ = writeln!(
            h,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#eee\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            left + pw,
            left - 6.0,
            yy + 4.0,
            count(n as u64)
        );
    }
    let bw = pw / b.len() as f64;
    let step = b.len().div_ceil(26).max(1);
    for (i, k) in b.iter().enumerate() {
        let mid = (k.lo + k.hi) / 2.0;
        let colour = if mid >= r.thresholds.match_weight {
            GREEN
        } else if mid >= r.thresholds.review_weight {
            AMBER
        } else {
            GREY
        };
        let bx = x(k.lo);
        if k.pairs > 0 {
            let by = y(k.pairs as f64);
            let _ = writeln!(
                h,
                "<rect x=\"{:.1}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\">\
                 <title>{}</title></rect>",
                bx + 0.5,
                (bw - 1.0).max(0.5),
                top + ph - by,
                esc(&format!(
                    "weight {} to {}: pairs {}, decided by an override {}, expected matches {:.1}",
                    k.lo, k.hi, k.pairs, k.overridden, k.expected_matches
                ))
            );
        }
        if k.expected_matches >= 0.5 {
            let ey = y(k.expected_matches);
            let _ = writeln!(
                h,
                "<rect x=\"{:.1}\" y=\"{ey:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{DARK}\" \
                 fill-opacity=\"0.55\"/>",
                bx + bw * 0.3,
                (bw * 0.4).max(0.5),
                top + ph - ey
            );
        }
        if i % step == 0 {
            let _ = writeln!(
                h,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                bx,
                top + ph + 15.0,
                k.lo
            );
        }
    }
    let _ = writeln!(
        h,
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#555\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">match weight (bits, \
         log2 of the odds); bar height: candidate pairs, log scale</text>",
        left + pw,
        top + ph,
        top + ph,
        left + pw / 2.0,
        ht - 6.0
    );
    for (name, t, colour) in [
        ("review", r.thresholds.review_weight, AMBER),
        ("match", r.thresholds.match_weight, GREEN),
    ] {
        if t >= x0 && t <= x1 {
            let tx = x(t);
            let _ = writeln!(
                h,
                "<line x1=\"{tx:.1}\" x2=\"{tx:.1}\" y1=\"{top}\" y2=\"{}\" stroke=\"{colour}\" \
                 stroke-width=\"2\" stroke-dasharray=\"5,3\"/><text x=\"{:.1}\" y=\"{}\" \
                 font-size=\"11\" fill=\"{DARK}\">{name} {t:+.2}</text>",
                top + ph,
                tx + 3.0,
                top - 8.0 + if name == "match" { 0.0 } else { 12.0 }
            );
        }
    }
    h.push_str("</svg>\n");
    let _ = writeln!(
        h,
        "<p class=\"note\">Bars: candidate pairs per {} bit of match weight, grey below the \
         review threshold ({:+.2} bits, probability {}), amber in the review band, green at or \
         above the match threshold ({:+.2} bits, probability {}). The dark inner bars are the \
         expected matches in each bucket (sum of probabilities). A model that separates well \
         shows two humps with little between them; many pairs near the thresholds mean much \
         review work or uncertain merges. Pairs an override decided are counted at their \
         model weight.</p>",
        model_report::BUCKET_BITS,
        r.thresholds.review_weight,
        prob(r.thresholds.review_probability),
        r.thresholds.match_weight,
        prob(r.thresholds.match_probability)
    );
}

/// A horizontal bar for a weight, zero in the middle, `scale` bits at either end.
fn weight_bar(w: f64, scale: f64) -> String {
    let (bw, half) = (220.0, 110.0);
    let len = (w / scale).clamp(-1.0, 1.0) * half;
    let (x, colour) = if len >= 0.0 {
        (half, GREEN)
    } else {
        (half + len, RED)
    };
    format!(
        "<svg width=\"{bw}\" height=\"14\" role=\"img\" aria-label=\"weight\">\
         <rect x=\"{x:.1}\" y=\"2\" width=\"{:.1}\" height=\"10\" fill=\"{colour}\"/>\
         <line x1=\"{half}\" x2=\"{half}\" y1=\"0\" y2=\"14\" stroke=\"#555\"/></svg>",
        len.abs().max(0.5)
    )
}

fn comparisons(h: &mut String, r: &ModelReport) {
    h.push_str("<h2>Comparisons: what each level is worth</h2>\n");
    let scale = r
        .comparisons
        .iter()
        .flat_map(|c| c.levels.iter().map(|l| l.weight.abs()))
        .filter(|w| w.is_finite())
        .fold(1.0f64, f64::max);
    let _ = writeln!(
        h,
        "<p class=\"note\">m: share of matches at the level; u: share of non-matches; weight = \
         log2(m/u) in bits. The bars run from −{scale:.1} to +{scale:.1} bits. A level \
         with a small or negative weight tells the model little; a large negative \"else\" \
         weight makes a disagreement strong evidence against a match.</p>"
    );
    for c in &r.comparisons {
        let _ = write!(
            h,
            "<h3>{} <small>(attribute {}{})</small></h3>\n<table><tr><th class=\"l\">level</th>\
             <th>m</th><th>u</th><th>weight</th><th class=\"l\"></th></tr>\n",
            esc(&c.name),
            esc(&c.attr),
            if c.term_frequency {
                "; exact agreement adjusted by how common the value is"
            } else {
                ""
            }
        );
        for l in &c.levels {
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td class=\"{}\">{:+.2}</td>\
                 <td class=\"l\">{}</td></tr>",
                esc(&l.level),
                prob(l.m),
                prob(l.u),
                if l.weight >= 0.0 { "pos" } else { "neg" },
                l.weight,
                weight_bar(l.weight, scale)
            );
        }
        h.push_str("</table>\n");
    }
}

fn overrides(h: &mut String, r: &ModelReport) {
    h.push_str("<h2>Deterministic overrides</h2>\n");
    if r.overrides.is_empty() {
        h.push_str("<p>The rules have none.</p>\n");
        return;
    }
    h.push_str(
        "<table><tr><th class=\"l\">rule</th><th>learned m (matches it would split)</th>\
         <th>pairs the m rests on</th><th class=\"l\">on this data</th><th>pairs decided</th></tr>\n",
    );
    for o in &r.overrides {
        let status = match (o.then.as_str(), o.holds, o.always) {
            ("match", _, _) => "holds".to_string(),
            (_, true, true) => "holds (rule: always)".into(),
            (_, true, false) if o.m.is_none() => "holds (nothing learned)".into(),
            (_, true, false) if o.support.is_some_and(|s| s < veto::MIN_SUPPORT) => {
                "holds (too few pairs to judge)".into()
            }
            (_, true, false) => "holds".into(),
            (_, false, _) => "lifted: weighed as evidence".into(),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{} {} ⇒ {}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td>\
             <td>{}</td></tr>",
            esc(&o.attr),
            esc(&o.when),
            esc(&o.then),
            o.m.map_or("–".into(), |m| format!("{:.2}%", 100.0 * m)),
            o.support.map_or("–".into(), |s| count(s as u64)),
            esc(&status),
            count(o.pairs_decided)
        );
    }
    h.push_str(
        "</table>\n<p class=\"note\">A non-match override (e.g. different national IDs ⇒ \
         non-match) holds unless the data shows that matches often trip it: it is lifted when \
         its learned m, the share of vouched-for pairs it would split, exceeds the rules' \
         <code>veto_max_m</code> at 95% confidence. Where it is lifted, the difference is \
         weighed like any other comparison level.</p>\n",
    );
}

fn blocking(h: &mut String, r: &ModelReport) {
    h.push_str("<h2>Blocking rules</h2>\n");
    let max_pairs = r.blocking.iter().map(|b| b.pairs).max().unwrap_or(0).max(1) as f64;
    let max_exp = r
        .blocking
        .iter()
        .map(|b| b.expected_matches)
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let bar = |v: f64, max: f64, colour: &str| {
        format!(
            "<svg width=\"160\" height=\"12\" role=\"img\" aria-label=\"bar\"><rect x=\"0\" \
             y=\"1\" width=\"{:.1}\" height=\"10\" fill=\"{colour}\"/></svg>",
            (v / max * 160.0).max(0.5)
        )
    };
    h.push_str(
        "<table><tr><th class=\"l\">rule</th><th>candidate pairs</th><th class=\"l\"></th>\
         <th>expected matches</th><th class=\"l\"></th><th>new pairs</th>\
         <th>expected new matches</th><th>pairs only it finds</th>\
         <th>expected matches only it finds</th><th>capped blocks</th><th>pairs skipped</th></tr>\n",
    );
    for b in &r.blocking {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td>{}</td><td class=\"l\">{}</td><td>{:.1}</td>\
             <td class=\"l\">{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{:.1}</td>\
             <td>{}</td><td>{}</td></tr>",
            esc(&b.rule),
            count(b.pairs),
            bar(b.pairs as f64, max_pairs, GREY),
            b.expected_matches,
            bar(b.expected_matches, max_exp, GREEN),
            count(b.new_pairs),
            b.expected_new_matches,
            count(b.only_pairs),
            b.expected_only_matches,
            b.capped_blocks,
            count(b.skipped_pairs)
        );
    }
    h.push_str(
        "</table>\n<p class=\"note\">Candidate pairs: pairs the rule produced (some also by \
         other rules); expected matches: the sum of their match probabilities. New pairs and \
         expected new matches count only the pairs no earlier rule produced: a rule whose \
         expected new matches are near zero finds nothing the others miss. The last two \
         count the pairs no other rule produced: the matches lost if the rule were dropped. Pairs in a block \
         larger than <code>max_block_size</code> are skipped and never compared.</p>\n",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">O'Neil & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;"
        );
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1234567), "1\u{202f}234\u{202f}567");
    }
}
