//! Hydration entry.
