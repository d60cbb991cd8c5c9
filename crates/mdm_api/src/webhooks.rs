//! Push delivery: one background task per consumer with a `webhook_url`, delivering the
//! change feed in seq order, at least once.
//!
//! Each event is POSTed as a [`FeedEvent`] with `Idempotency-Key: mdm-<consumer>-<seq>`;
//! any 2xx is success. A failure is recorded in the database (`webhook_deliveries`) and the
//! same event is retried after an exponential backoff, holding back later events so the
//! order holds. After `max_attempts` failures the event is dead-lettered and the queue moves
//! on; an admin's replay (`POST /v1/admin/consumers/{consumer}/dead-letters/replay`) sends
//! dead events again, ahead of new ones. All state is in the database, so a restart resumes
//! with the same event and attempt count. With several servers on one database, only the
//! holder of the consumer's delivery lease (`consumer_cursors.lease_owner`, renewed at half
//! time) delivers; when it dies, another takes over once the lease runs out.
//!
//! Targets are checked (`crate::webhook_target`): a URL that is not plain `http://`, carries
//! credentials, or is or resolves to a loopback, private, link-local or metadata address
//! (not in `webhooks.allow_hosts`) gets nothing: its dispatcher does not start (bad URL)
//! or each attempt fails with the reason. Redirects are not followed; a 3xx is a failure.
//!
//! With the consumer's `webhook_secret`, every attempt is signed per Standard Webhooks
//! (`crate::webhook_signature`): `webhook-id` is the idempotency key (the same on every
//! retry, so a receiver can deduplicate on either), `webhook-timestamp` the attempt's time,
//! `webhook-signature` covers the exact body bytes sent. Without a secret, deliveries go
//! unsigned (a receiver cannot tell them from forgeries) and a warning is logged at start;
//! a malformed secret is refused when the configuration is read, so the server does not
//! start.

use crate::config::{ConsumerConfig, WebhookPolicy};
use crate::error::ApiError;
use crate::feed::{decorate, Consumer, FeedEvent};
use crate::metrics::labels;
use crate::state::AppState;
use crate::webhook_signature::{self, WebhookSecret};
use actix_web::web;
use chrono::NaiveDateTime;
use mdm_store::deliveries::{self, DeliveryStatus};
use std::time::Duration;

pub fn spawn_all(state: web::Data<AppState>) {
    for c in &state.config.consumers {
        if let Some(url) = &c.webhook_url {
            if let Err(e) =
                crate::webhook_target::check_url(url, &state.config.webhooks.allow_hosts)
            {
                tracing::error!(consumer = %c.name, error = %e, "webhook_url refused; no deliveries");
                continue;
            }
            if c.webhook_secret.is_none() {
                tracing::warn!(consumer = %c.name, "no webhook_secret: deliveries are unsigned");
            }
            tracing::info!(consumer = %c.name, signed = c.webhook_secret.is_some(), "webhook dispatcher started");
            let target = Target {
                consumer: Consumer {
                    name: c.name.clone(),
                    system: c.system.clone(),
                },
                url: url.clone(),
                secret: c.webhook_secret.clone(),
            };
            actix_web::rt::spawn(run(state.clone(), target, policy(&state, c)));
        }
    }
}

fn policy(state: &AppState, _c: &ConsumerConfig) -> WebhookPolicy {
    state.config.webhooks.clone()
}

struct Target {
    consumer: Consumer,
    url: String,
    secret: Option<WebhookSecret>,
}

/// What one step did.
enum Step {
    /// Something was sent (or given up on): look again at once.
    Worked,
    /// Nothing due; wait this long (or until new events are written here).
    Idle(Duration),
}

async fn run(state: web::Data<AppState>, target: Target, policy: WebhookPolicy) {
    let resolver = crate::webhook_target::CheckedResolver {
        allow_hosts: std::sync::Arc::new(policy.allow_hosts.clone()),
    };
    let client = match reqwest::Client::builder()
        .timeout(policy.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(resolver))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(consumer = %target.consumer.name, error = %e, "webhook client");
            return;
        }
    };
    let owner = uuid::Uuid::new_v4().simple().to_string();
    let mut held_until: Option<std::time::Instant> = None;
    loop {
        // Hold the lease before every step, renewing it at half time.
        let renew_due =
            held_until.is_none_or(|t| t <= std::time::Instant::now() + policy.lease / 2);
        if renew_due {
            match claim(&state, &target.consumer.name, &owner, policy.lease).await {
                Ok(true) => {
                    if held_until.is_none() {
                        tracing::info!(consumer = %target.consumer.name, "webhook delivery lease taken");
                    }
                    held_until = Some(std::time::Instant::now() + policy.lease);
                }
                Ok(false) => {
                    if held_until.take().is_some() {
                        tracing::warn!(consumer = %target.consumer.name, "webhook delivery lease lost");
                    }
                    tokio::time::sleep(policy.poll_interval.max(policy.lease / 4)).await;
                    continue;
                }
                Err(e) => {
                    held_until = None;
                    tracing::warn!(consumer = %target.consumer.name, error = %e, "webhook lease");
                    tokio::time::sleep(policy.poll_interval).await;
                    continue;
                }
            }
        }
        let wait = match step(&state, &client, &target, &policy).await {
            Ok(Step::Worked) => continue,
            Ok(Step::Idle(d)) => d,
            Err(e) => {
                tracing::warn!(consumer = %target.consumer.name, error = %e, "webhook dispatcher");
                policy.poll_interval
            }
        };
        let wait = wait.min(policy.lease / 2);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.feed_written.notified() => {}
        }
    }
}

/// Takes or renews the delivery lease. Expiry compares UTC clocks of the servers (keep them
/// in sync, as NTP does; a lease is many seconds).
async fn claim(
    state: &web::Data<AppState>,
    consumer: &str,
    owner: &str,
    lease: Duration,
) -> Result<bool, ApiError> {
    let (consumer, owner) = (consumer.to_string(), owner.to_string());
    let until = mdm_store::now()
        + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::seconds(30));
    state
        .db(move |c| {
            Ok(mdm_store::cursors::claim_lease(
                c, &consumer, &owner, until,
            )?)
        })
        .await
}

async fn step(
    state: &web::Data<AppState>,
    client: &reqwest::Client,
    target: &Target,
    policy: &WebhookPolicy,
) -> Result<Step, ApiError> {
    let name = target.consumer.name.clone();
    let replay = {
        let name = name.clone();
        state
            .db(move |c| Ok(deliveries::list(c, &name, DeliveryStatus::Replay, 1)?))
            .await?
    };
    let mut wait = policy.poll_interval;
    if let Some(r) = replay.into_iter().next() {
        match due_in(r.next_attempt_at) {
            None => {
                let attempt = attempt(state, client, target, policy, r.seq, r.attempts, true);
                return attempt.await.map(|()| Step::Worked);
            }
            Some(d) => wait = wait.min(d),
        }
    }
    let (cursor, head) = {
        let name = name.clone();
        state
            .db(move |c| {
                let cursor = mdm_store::cursors::get(c, &name)?.webhook_seq;
                let next = mdm_store::feed::events_after(c, cursor, 1)
                    .map_err(crate::feed::feed_error)?
                    .into_iter()
                    .next();
                let retry = match &next {
                    Some(e) => deliveries::get(c, &name, e.seq)?,
                    None => None,
                };
                Ok((cursor, next.map(|e| (e.seq, retry))))
            })
            .await?
    };
    let Some((seq, retry)) = head else {
        return Ok(Step::Idle(wait));
    };
    let attempts = match &retry {
        Some(r) if r.status == DeliveryStatus::Retrying.as_str() => {
            if let Some(d) = due_in(r.next_attempt_at) {
                return Ok(Step::Idle(wait.min(d)));
            }
            r.attempts
        }
        _ => 0,
    };
    tracing::debug!(consumer = %name, cursor, seq, attempts, "delivering");
    attempt(state, client, target, policy, seq, attempts, false).await?;
    Ok(Step::Worked)
}

/// Sends event `seq` once and records the outcome.
async fn attempt(
    state: &web::Data<AppState>,
    client: &reqwest::Client,
    target: &Target,
    policy: &WebhookPolicy,
    seq: i64,
    attempts_before: i32,
    replay: bool,
) -> Result<(), ApiError> {
    let consumer = target.consumer.clone();
    let event: Option<FeedEvent> = state
        .db(move |c| {
            let Some(e) = mdm_store::feed::event(c, seq)? else {
                return Ok(None);
            };
            Ok(decorate(c, &consumer, vec![e])?.into_iter().next())
        })
        .await?;
    let name = target.consumer.name.clone();
    let Some(event) = event else {
        // Cannot happen (events are never deleted); do not spin on it.
        state
            .db(move |c| Ok(deliveries::delivered(c, &name, seq)?))
            .await?;
        return Ok(());
    };
    let outcome = send(client, target, &policy.allow_hosts, &event).await;
    let m = &state.metrics;
    let l = labels(&[("consumer", &target.consumer.name)]);
    match outcome {
        Ok(()) => {
            m.inc("mdm_webhook_delivered_total", l, 1);
            tracing::info!(consumer = %name, seq, attempts = attempts_before + 1, "webhook delivered");
            state
                .db(move |c| {
                    if replay {
                        deliveries::remove(c, &name, seq)?;
                    } else {
                        deliveries::delivered(c, &name, seq)?;
                    }
                    Ok(())
                })
                .await
        }
        Err(error) => {
            m.inc("mdm_webhook_failures_total", l.clone(), 1);
            let attempts = attempts_before + 1;
            let dead = attempts as u32 >= policy.max_attempts;
            let status = match (dead, replay) {
                (true, _) => DeliveryStatus::Dead,
                (false, true) => DeliveryStatus::Replay,
                (false, false) => DeliveryStatus::Retrying,
            };
            let next = mdm_store::now()
                + chrono::Duration::from_std(backoff(policy, attempts)).unwrap_or_default();
            if dead {
                m.inc("mdm_webhook_dead_letters_total", l, 1);
                tracing::warn!(consumer = %name, seq, attempts, error = %error, "webhook dead-lettered");
            } else {
                tracing::info!(consumer = %name, seq, attempts, error = %error, "webhook failed; will retry");
            }
            state
                .db(move |c| {
                    Ok(deliveries::record_failure(
                        c, &name, seq, status, attempts, &error, next,
                    )?)
                })
                .await
        }
    }
}

async fn send(
    client: &reqwest::Client,
    target: &Target,
    allow_hosts: &[String],
    event: &FeedEvent,
) -> Result<(), String> {
    let url = &target.url;
    let parsed = crate::webhook_target::check_url(url, allow_hosts)?;
    crate::webhook_target::check_target(&parsed, allow_hosts).await?;
    // Serialized here, not by reqwest, so the signature covers exactly the bytes sent.
    let body = serde_json::to_vec(event).map_err(|e| format!("serializing the event: {e}"))?;
    let mut req = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", &event.idempotency_key)
        .header("X-Mdm-Event-Seq", event.seq.to_string());
    if let Some(secret) = &target.secret {
        let ts = chrono::Utc::now().timestamp();
        let signature = webhook_signature::sign(secret, &event.idempotency_key, ts, &body);
        req = req
            .header("webhook-id", &event.idempotency_key)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature);
    }
    let res = req.body(body).send().await.map_err(|e| {
        if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connect() {
            "connection failed".to_string()
        } else {
            format!("request failed: {e}")
        }
    })?;
    if res.status().is_success() {
        Ok(())
    } else if res.status().is_redirection() {
        Err(format!(
            "answered HTTP {} (a redirect; redirects are not followed)",
            res.status().as_u16()
        ))
    } else {
        Err(format!("answered HTTP {}", res.status().as_u16()))
    }
}

/// Wait before the next attempt after `attempts` failures: initial * 2^(attempts-1), capped.
pub fn backoff(policy: &WebhookPolicy, attempts: i32) -> Duration {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    policy
        .initial_backoff
        .saturating_mul(1u32 << exp)
        .min(policy.max_backoff)
}

/// None when `at` has come; else how long until it does.
fn due_in(at: NaiveDateTime) -> Option<Duration> {
    let now = mdm_store::now();
    if at <= now {
        None
    } else {
        (at - now).to_std().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = WebhookPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..WebhookPolicy::default()
        };
        let ms: Vec<u128> = (1..=6).map(|a| backoff(&p, a).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000]);
    }
}
