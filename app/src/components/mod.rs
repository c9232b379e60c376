//! Components shared by the console's pages.

pub mod common;
pub mod kept;
pub mod layout;
pub mod tables;
