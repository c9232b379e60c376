//! The `writ` server: HTTP, domain, database and jobs.

pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod services;
