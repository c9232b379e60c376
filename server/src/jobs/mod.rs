//! Background jobs: the apalis worker that runs workflow jobs, the catch-up sweep, and the
//! cleanup of expired sessions.

pub mod notify_queue;
pub mod queue;
pub mod sessions;
pub mod sweep;
pub mod ticker;
pub mod worker;
