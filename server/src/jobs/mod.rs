//! Background jobs: the apalis worker that runs workflow jobs, and the catch-up sweep.

pub mod queue;
pub mod sweep;
pub mod ticker;
pub mod worker;
