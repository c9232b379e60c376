//! Writ console.
