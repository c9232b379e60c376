//! The `writ` server: HTTP, domain, database and jobs.

pub mod clock;
pub mod config;
pub mod console;
pub mod controls;
pub mod db;
pub mod decide;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod notify;
pub mod oidc;
pub mod serve;
pub mod services;
