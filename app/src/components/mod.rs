//! Components shared by the console's pages.

pub mod common;
pub mod layout;
pub mod tables;
