//! Writ's decision engine: Cedar policies evaluated over an identity, a resource and the grants
//! in force, with no database access. The server loads the facts and calls [`Engine::decide`].

mod cedar;
mod compile;
mod engine;
mod facts;
mod query;

pub use engine::{Diagnostic, Effect, Engine, Outcome, PolicyInfo};
pub use facts::{Facts, GrantFact, IdentityKind, Posture, Principal, Sensitivity, Target};
pub use query::{Action, Behaviour, Context, Device, FieldError, Geo, Intent, Query, Signal};

/// Returns the Cedar schema that every policy set is validated against.
pub fn schema_text() -> &'static str {
    include_str!("../schema/writ.cedarschema")
}

/// Returns the default policy set that Writ ships.
pub fn default_policies() -> &'static str {
    include_str!("../policies/default.cedar")
}
