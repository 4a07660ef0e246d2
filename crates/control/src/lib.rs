//! What runs around the compiled state machines, written once over ports so that it is the same
//! on AWS (adapters in `ocflow-aws`) and locally:
//!
//! - [`starter`]: turns queued start requests into executions, idempotently;
//! - [`tracker`]: keeps the executions table in step with execution status-change events;
//! - [`reconcile`]: settles rows the events left in RUNNING by asking Step Functions;
//! - [`worker`]: turns worker task messages into Conductor tasks and Conductor task results into
//!   task-token answers.
//!
//! This crate does no I/O of its own: every effect goes through the traits in [`ports`].
//!
//! ```
//! use ocflow_control::starter::{execution_name, NameSource};
//! let name = execution_name("order flow", NameSource::IdempotencyKey("order-42"));
//! assert!(name.starts_with("order-42-"));
//! assert_eq!(name, execution_name("order flow", NameSource::IdempotencyKey("order-42")));
//! ```

pub mod deployment;
pub mod directory;
pub mod execution;
#[cfg(test)]
mod fakes;
pub mod ports;
pub mod reconcile;
pub mod sqs;
pub mod starter;
pub mod tracker;
pub mod worker;

pub use execution::{ExecutionStatus, Progress, StatusChange};
pub use ports::{Applied, ExecutionTable, PortError, StepFunctions};
