//! The HTTP edge (actix-web): the publish API of the hub, served by `mdm serve`.
//!
//! - [`routes`]: handlers, one module per area (golden reads, pushes, real-time matching,
//!   the change feed, admin, health); they translate HTTP into store, ingest and engine calls.
//! - [`error`]: the one error type; every failure is problem+json with a stable code.
//! - [`auth`]: bearer tokens (stored hashed) and roles.
//! - [`feed`], [`webhooks`], [`nats`]: the change feed per consumer (pull with cursors, push
//!   with retries and dead letters, and optionally NATS JetStream).
//! - [`realtime`] and the upsert module: one record against the golden records with the
//!   nightly run's frozen model.
//! - [`openapi`]: the document, generated from the handlers.
//! - [`idempotency`] and [`rate_limit`]: the guard of write routes (`Idempotency-Key`
//!   replays, per-token rate limits answered 429).
//!
//! Architecture invariant: no SQL here. Every query is a function of `mdm_store`, run on the
//! blocking pool through [`state::AppState::db`] (or inline for short SQLite reads). No
//! attribute value is ever logged: ids, counts, routes and durations only.

pub mod auth;
pub mod config;
pub mod console;
pub mod error;
pub mod feed;
pub mod idempotency;
pub mod metrics;
pub mod name_index;
pub mod nats;
pub mod openapi;
pub mod rate_limit;
pub mod realtime;
pub mod reconciliation;
pub mod routes;
mod server;
pub mod state;
mod upsert;
pub mod webhook_signature;
pub mod webhook_target;
pub mod webhooks;

pub use config::{ApiConfig, ConsumerConfig, WebhookPolicy, WriteLimits};
pub use server::{routes as configure_routes, serve, ServeError};
