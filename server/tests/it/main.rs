//! Integration tests against a real PostgreSQL: a fresh database per test.
//!
//! Run with `DATABASE_URL` pointing at a server where the user may create databases, such as
//! `postgres://postgres@127.0.0.1:5432/postgres`, and `SQLX_OFFLINE=true` so that the query
//! macros read the committed `.sqlx` data.

#![allow(
    clippy::unwrap_used,
    reason = "a test should fail loudly at the first unexpected error"
)]

mod accounts;
mod decisions;
mod embedded;
mod harness;
mod http;
mod inventory;
mod jobs;
mod links;
mod loopback;
mod notify;
mod oidc;
mod oidc_provider;
mod policies;
mod server;
mod sessions;
mod slack;
mod workflow;
