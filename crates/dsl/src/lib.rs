//! The Conductor workflow DSL: the serde [`model`] of definitions, the `${...}` parameter
//! language ([`params`]) and validation with diagnostics that point into the input.

pub mod model;
pub mod params;
pub mod pointer;
