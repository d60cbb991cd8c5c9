//! Prometheus metrics, kept per server instance (no global recorder, so several servers in
//! one test process do not mix their figures) and rendered as text at `/metrics`. Labels are
//! route patterns, methods, status codes and consumer names: never ids or values.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    /// Per route pattern: request counts by (method, status), and the latency histogram.
    /// Looked up by `&str`, so a request allocates nothing here once its route was seen.
    routes: Mutex<HashMap<String, RouteStats>>,
}

#[derive(Default, Clone)]
struct RouteStats {
    counts: Vec<(String, u16, u64)>,
    latency: Histogram,
}

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// `{a="x",b="y"}` with values escaped.
pub fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

impl Metrics {
    pub fn inc(&self, name: &'static str, labels: String, by: u64) {
        *self
            .counters
            .lock()
            .expect("metrics lock")
            .entry((name, labels))
            .or_default() += by;
    }

    /// One finished HTTP request.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut routes = self.routes.lock().expect("metrics lock");
        let r = match routes.get_mut(route) {
            Some(r) => r,
            None => routes.entry(route.to_string()).or_default(),
        };
        match r
            .counts
            .iter_mut()
            .find(|(m, s, _)| *s == status && m == method)
        {
            Some(c) => c.2 += 1,
            None => r.counts.push((method.to_string(), status, 1)),
        }
        let h = &mut r.latency;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut counters = self.counters.lock().expect("metrics lock").clone();
        let routes: BTreeMap<String, RouteStats> = self
            .routes
            .lock()
            .expect("metrics lock")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (route, r) in &routes {
            for (method, status, n) in &r.counts {
                let l = labels(&[
                    ("method", method),
                    ("route", route),
                    ("status", &status.to_string()),
                ]);
                counters.insert(("mdm_http_requests_total", l), *n);
            }
        }
        let mut last = "";
        for ((name, labels), v) in &counters {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            let _ = writeln!(out, "{name}{labels} {v}");
        }
        if !routes.is_empty() {
            let name = "mdm_http_request_duration_seconds";
            let _ = writeln!(out, "# TYPE {name} histogram");
            for (route, r) in &routes {
                let labels = labels(&[("route", route)]);
                let h = &r.latency;
                let inner = &labels[1..labels.len() - 1];
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(out, "{name}_bucket{{{inner},le=\"{b}\"}} {}", h.buckets[i]);
                }
                let _ = writeln!(out, "{name}_bucket{{{inner},le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_sum{labels} {}", h.sum);
                let _ = writeln!(out, "{name}_count{labels} {}", h.count);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request(
            "GET",
            "/v1/{domain}/golden/{id}",
            200,
            Duration::from_millis(3),
        );
        m.inc(
            "mdm_webhook_deliveries_total",
            labels(&[("consumer", "ERP")]),
            2,
        );
        let text = m.render();
        assert!(text.contains(
            "mdm_http_requests_total{method=\"GET\",route=\"/v1/{domain}/golden/{id}\",status=\"200\"} 1"
        ), "{text}");
        assert!(text.contains("le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("le=\"0.001\"} 0"), "{text}");
        assert!(text.contains("mdm_webhook_deliveries_total{consumer=\"ERP\"} 2"));
    }
}
