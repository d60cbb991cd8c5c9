//! Prometheus metrics through the `metrics` facade and `metrics-exporter-prometheus`, kept
//! per server instance: each server owns a recorder that is never installed globally (so
//! several servers in one process would not mix their figures); its handle renders the text
//! format at `/metrics`. Labels are route patterns, methods, status codes, consumer and
//! system names: never ids or values.

use metrics::{Key, Label, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::time::Duration;

/// Latency histogram buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("non-empty bucket list")
            .build_recorder();
        let handle = recorder.handle();
        Self { recorder, handle }
    }
}

/// Labels from name/value pairs, in the order given (the order they are rendered in).
pub fn labels(pairs: &[(&str, &str)]) -> Vec<Label> {
    pairs
        .iter()
        .map(|(k, v)| Label::new(k.to_string(), v.to_string()))
        .collect()
}

const NO_METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);

impl Metrics {
    pub fn inc(&self, name: &'static str, labels: Vec<Label>, by: u64) {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &NO_METADATA)
            .increment(by);
    }

    /// One finished HTTP request.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.inc(
            "mdm_http_requests_total",
            labels(&[
                ("method", method),
                ("route", route),
                ("status", &status.to_string()),
            ]),
            1,
        );
        self.recorder
            .register_histogram(
                &Key::from_parts(
                    "mdm_http_request_duration_seconds",
                    labels(&[("route", route)]),
                ),
                &NO_METADATA,
            )
            .record(took.as_secs_f64());
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds histogram samples into buckets every few seconds, so memory stays bounded
    /// when nobody scrapes `/metrics`.
    pub fn spawn_upkeep(metrics: std::sync::Arc<Metrics>) {
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP);
            loop {
                tick.tick().await;
                metrics.handle.run_upkeep();
            }
        });
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
        assert!(
            text.contains("mdm_webhook_deliveries_total{consumer=\"ERP\"} 2"),
            "{text}"
        );
    }

    #[test]
    fn servers_do_not_share_figures() {
        let (a, b) = (Metrics::default(), Metrics::default());
        a.inc("mdm_pushed_rows_total", labels(&[("system", "ERP")]), 5);
        assert!(a
            .render()
            .contains("mdm_pushed_rows_total{system=\"ERP\"} 5"));
        assert!(!b.render().contains("mdm_pushed_rows_total"));
    }
}
