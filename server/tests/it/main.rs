//! Integration tests against a real PostgreSQL: a fresh database per test.
//!
//! Run with `DATABASE_URL` pointing at a server where the user may create databases, such as
//! `postgres://postgres@127.0.0.1:5432/postgres`.

mod harness;
mod jobs;
mod workflow;
