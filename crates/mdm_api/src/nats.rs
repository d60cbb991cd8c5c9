//! Optional: every change event is also published to NATS JetStream, on subject
//! `<prefix>.<domain>.<kind>` of a stream the server creates if missing, with the header
//! `Nats-Msg-Id: mdm-<seq>` so JetStream drops a re-publish after a crash (at least once,
//! deduplicated by the server). Progress is a cursor in the database (`consumer_cursors`,
//! consumer `nats:<stream>`), so a restart resumes after the last acknowledged event.
//!
//! The client is the few lines of the NATS text protocol this needs (CONNECT, SUB, HPUB with
//! a reply inbox, PING/PONG): no client library, no TLS.

use crate::error::ApiError;
use crate::feed::{FeedEvent, XrefEntry};
use crate::state::AppState;
use actix_web::web;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    /// `nats://host:port`
    pub url: String,
    pub stream: String,
    /// Subjects are `<prefix>.<domain>.<kind>`.
    pub subject_prefix: String,
}

/// A connection that can make JetStream requests.
pub struct Nats {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    inbox: String,
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl Nats {
    pub async fn connect(url: &str) -> std::io::Result<Nats> {
        let addr = url.strip_prefix("nats://").unwrap_or(url);
        let stream = tokio::time::timeout(REQUEST_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(io_err)??;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut nats = Nats {
            reader: BufReader::new(r),
            writer: w,
            inbox: format!("_INBOX.mdm.{}", uuid::Uuid::new_v4().simple()),
        };
        let info = nats.line().await?;
        if !info.starts_with("INFO") {
            return Err(io_err(format!("not a NATS server (said {info:?})")));
        }
        let hello = format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"headers\":true,\"name\":\"mdm\"}}\r\nSUB {} 1\r\nPING\r\n",
            nats.inbox
        );
        nats.writer.write_all(hello.as_bytes()).await?;
        loop {
            match nats.line().await?.as_str() {
                "PONG" => return Ok(nats),
                l if l.starts_with("-ERR") => return Err(io_err(l.to_string())),
                _ => {}
            }
        }
    }

    async fn line(&mut self) -> std::io::Result<String> {
        let mut l = String::new();
        if self.reader.read_line(&mut l).await? == 0 {
            return Err(io_err("NATS closed the connection"));
        }
        Ok(l.trim_end().to_string())
    }

    /// Publishes with a reply inbox and waits for the one reply.
    pub async fn request(
        &mut self,
        subject: &str,
        msg_id: Option<&str>,
        payload: &[u8],
    ) -> std::io::Result<Vec<u8>> {
        let mut frame = Vec::with_capacity(payload.len() + 128);
        match msg_id {
            Some(id) => {
                let headers = format!("NATS/1.0\r\nNats-Msg-Id: {id}\r\n\r\n");
                frame.extend_from_slice(
                    format!(
                        "HPUB {subject} {} {} {}\r\n{headers}",
                        self.inbox,
                        headers.len(),
                        headers.len() + payload.len()
                    )
                    .as_bytes(),
                );
            }
            None => frame.extend_from_slice(
                format!("PUB {subject} {} {}\r\n", self.inbox, payload.len()).as_bytes(),
            ),
        }
        frame.extend_from_slice(payload);
        frame.extend_from_slice(b"\r\n");
        self.writer.write_all(&frame).await?;
        tokio::time::timeout(REQUEST_TIMEOUT, self.reply())
            .await
            .map_err(|_| io_err("NATS request timed out"))?
    }

    async fn reply(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            let l = self.line().await?;
            if l == "PING" {
                self.writer.write_all(b"PONG\r\n").await?;
            } else if l.starts_with("-ERR") {
                return Err(io_err(l));
            } else if let Some(rest) = l.strip_prefix("MSG ") {
                let len: usize = rest
                    .split_whitespace()
                    .last()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| io_err(format!("bad MSG line {l:?}")))?;
                let mut buf = vec![0u8; len + 2];
                self.reader.read_exact(&mut buf).await?;
                buf.truncate(len);
                return Ok(buf);
            }
        }
    }

    /// A JetStream API call: the JSON reply, or its `error` as an Err.
    pub async fn api(
        &mut self,
        subject: &str,
        body: &serde_json::Value,
    ) -> std::io::Result<serde_json::Value> {
        let reply = self
            .request(subject, None, body.to_string().as_bytes())
            .await?;
        let v: serde_json::Value = serde_json::from_slice(&reply).map_err(io_err)?;
        match v.get("error") {
            Some(e) => Err(io_err(format!("JetStream: {e}"))),
            None => Ok(v),
        }
    }

    /// Creates the stream unless it exists.
    pub async fn ensure_stream(&mut self, cfg: &NatsConfig) -> std::io::Result<()> {
        if self
            .api(
                &format!("$JS.API.STREAM.INFO.{}", cfg.stream),
                &serde_json::json!({}),
            )
            .await
            .is_ok()
        {
            return Ok(());
        }
        let config = serde_json::json!({
            "name": cfg.stream,
            "subjects": [format!("{}.>", cfg.subject_prefix)],
            "storage": "file",
            "duplicate_window": 120_000_000_000u64,
        });
        self.api(&format!("$JS.API.STREAM.CREATE.{}", cfg.stream), &config)
            .await
            .map(|_| ())
    }

    /// Publishes one event and waits for JetStream's acknowledgement.
    pub async fn publish(&mut self, cfg: &NatsConfig, event: &FeedEvent) -> std::io::Result<()> {
        let subject = format!("{}.{}.{}", cfg.subject_prefix, event.domain, event.kind);
        let body = serde_json::to_vec(event).map_err(io_err)?;
        let ack = self
            .request(&subject, Some(&format!("mdm-{}", event.seq)), &body)
            .await?;
        let v: serde_json::Value = serde_json::from_slice(&ack).map_err(io_err)?;
        if v.get("seq").is_some() {
            Ok(())
        } else {
            Err(io_err(format!("JetStream did not acknowledge: {v}")))
        }
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
            state
                .metrics
                .inc("mdm_nats_published_total", String::new(), 1);
        }
    }
}
