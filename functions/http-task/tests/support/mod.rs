//! Test support shared by the function crates.

pub mod runtime_api;
