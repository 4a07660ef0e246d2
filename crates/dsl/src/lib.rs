//! The Conductor workflow DSL: model, the ${...} parameter language, and validation.
