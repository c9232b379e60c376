//! Background jobs: the apalis worker that runs workflow jobs, and the catch-up sweep.

pub mod notify_queue;
pub mod queue;
pub mod sweep;
pub mod worker;
