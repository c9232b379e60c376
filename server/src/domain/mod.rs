//! Writ's domain: the inventory, resources, the request workflow, accounts, policies, the
//! decision log and the audit log.
//! The console, the JSON API and the jobs all act through these functions.

pub mod accounts;
pub mod actor;
pub mod approval_links;
pub mod audit;
pub mod clients;
pub mod dashboard;
pub mod decision_log;
pub mod grants;
pub mod identities;
pub mod import;
pub mod notifications;
pub mod oidc_users;
pub mod page;
pub mod policies;
pub mod requests;
pub mod resources;
pub mod reviews;
pub mod role_map;
pub mod secrets;
pub mod tokens;
pub mod users;
