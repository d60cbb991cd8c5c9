//! Optional: every change event is also published to NATS JetStream, on subject
//! `<prefix>.<domain>.<kind>` of a stream the server creates if missing, with the header
//! `Nats-Msg-Id: mdm-<seq>` so JetStream drops a re-publish after a crash (at least once,
//! deduplicated by the server). Progress is a cursor in the database (`consumer_cursors`,
//! consumer `nats:<stream>`), so a restart resumes after the last acknowledged event.
//!
//! The client is `async-nats`: JetStream stream creation, publish acknowledgements and the
//! `Nats-Msg-Id` header come from the crate.

use crate::error::ApiError;
use crate::feed::{FeedEvent, XrefEntry};
use crate::state::AppState;
use actix_web::web;
use async_nats::jetstream::{self, message::PublishMessage, stream};
use std::time::Duration;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long JetStream remembers a `Nats-Msg-Id` to drop a re-publish.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Where and how to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// `nats://host:port`
    pub url: String,
    pub stream: String,
    /// Subjects are `<prefix>.<domain>.<kind>`.
    pub subject_prefix: String,
}

/// A connection with its JetStream context.
pub struct Nats {
    client: async_nats::Client,
    js: jetstream::Context,
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl Nats {
    pub async fn connect(url: &str) -> std::io::Result<Nats> {
        let client = async_nats::ConnectOptions::new()
            .name("mdm")
            .connection_timeout(REQUEST_TIMEOUT)
            .request_timeout(Some(REQUEST_TIMEOUT))
            .connect(url)
            .await
            .map_err(io_err)?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(REQUEST_TIMEOUT);
        Ok(Nats { client, js })
    }

    /// A raw JetStream API call (`$JS.API.…`): the JSON reply, or its `error` as an Err.
    pub async fn api(
        &mut self,
        subject: &str,
        body: &serde_json::Value,
    ) -> std::io::Result<serde_json::Value> {
        let reply = self
            .client
            .request(subject.to_string(), body.to_string().into())
            .await
            .map_err(io_err)?;
        let v: serde_json::Value = serde_json::from_slice(&reply.payload).map_err(io_err)?;
        match v.get("error") {
            Some(e) => Err(io_err(format!("JetStream: {e}"))),
            None => Ok(v),
        }
    }

    /// Creates the stream unless it exists.
    pub async fn ensure_stream(&mut self, cfg: &NatsConfig) -> std::io::Result<()> {
        self.js
            .get_or_create_stream(stream::Config {
                name: cfg.stream.clone(),
                subjects: vec![format!("{}.>", cfg.subject_prefix)],
                storage: stream::StorageType::File,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(io_err)
    }

    /// Publishes one event with `Nats-Msg-Id: mdm-<seq>` and waits for JetStream's
    /// acknowledgement (a duplicate is acknowledged too, as already stored).
    pub async fn publish(&mut self, cfg: &NatsConfig, event: &FeedEvent) -> std::io::Result<()> {
        let subject = format!("{}.{}.{}", cfg.subject_prefix, event.domain, event.kind);
        let body = serde_json::to_vec(event).map_err(io_err)?;
        self.js
            .send_publish(
                subject,
                PublishMessage::build()
                    .payload(body.into())
                    .message_id(format!("mdm-{}", event.seq)),
            )
            .await
            .map_err(io_err)?
            .await
            .map(|_| ())
            .map_err(io_err)
    }
}

pub fn spawn(state: web::Data<AppState>, cfg: NatsConfig) {
    tracing::info!(stream = %cfg.stream, "NATS publisher started");
    actix_web::rt::spawn(run(state, cfg));
}

async fn run(state: web::Data<AppState>, cfg: NatsConfig) {
    let cursor_name = format!("nats:{}", cfg.stream);
    let mut backoff = state.config.webhooks.initial_backoff;
    loop {
        match session(&state, &cfg, &cursor_name).await {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(error = %e, "NATS publishing failed; reconnecting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(state.config.webhooks.max_backoff);
            }
        }
    }
}

/// One connection: publish until an error.
async fn session(
    state: &web::Data<AppState>,
    cfg: &NatsConfig,
    cursor_name: &str,
) -> Result<(), String> {
    let mut nats = Nats::connect(&cfg.url).await.map_err(|e| e.to_string())?;
    nats.ensure_stream(cfg).await.map_err(|e| e.to_string())?;
    loop {
        let name = cursor_name.to_string();
        let batch = state
            .db(move |c| {
                let after = mdm_store::cursors::get(c, &name)?.webhook_seq;
                let events = mdm_store::feed::events_after(c, after, 100)
                    .map_err(crate::feed::feed_error)?;
                events
                    .into_iter()
                    .map(|e| {
                        let xref = mdm_store::xref::members(c, &e.golden_id)?
                            .into_iter()
                            .map(|x| XrefEntry {
                                system: x.system,
                                source_id: x.source_id,
                            })
                            .collect();
                        let mut fe = crate::feed::decorate(
                            c,
                            &crate::feed::Consumer {
                                name: "NATS".into(),
                                system: String::new(),
                            },
                            vec![e],
                        )?
                        .remove(0);
                        fe.xref = xref;
                        fe.idempotency_key = format!("mdm-{}", fe.seq);
                        Ok(fe)
                    })
                    .collect::<Result<Vec<_>, ApiError>>()
            })
            .await
            .map_err(|e| e.to_string())?;
        if batch.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(state.config.webhooks.poll_interval) => {}
                _ = state.feed_written.notified() => {}
            }
            continue;
        }
        for event in batch {
            nats.publish(cfg, &event).await.map_err(|e| e.to_string())?;
            let (name, seq) = (cursor_name.to_string(), event.seq);
            state
                .db(move |c| Ok(mdm_store::cursors::advance_webhook(c, &name, seq)?))
                .await
                .map_err(|e| e.to_string())?;
            state.metrics.inc("mdm_nats_published_total", Vec::new(), 1);
        }
    }
}
