//! The local engine: runs compiled ASL state machines in-process, faithful to Step Functions.

pub mod history;
pub mod store;
