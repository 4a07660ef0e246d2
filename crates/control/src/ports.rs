//! The ports: everything the control logic asks of the world. `ocflow-aws` implements them over
//! Step Functions and DynamoDB; tests implement them in memory.

use std::error::Error as StdError;
use std::future::Future;

use crate::execution::{ExecutionStatus, Millis, RunningRow, StartRecord, StatusChange};

/// A failed call through a port: which operation, and the adapter's error.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {source}")]
pub struct PortError {
    /// The operation that failed (`StartExecution`, `UpdateItem`, ...).
    pub operation: &'static str,
    /// The adapter's error.
    #[source]
    pub source: Box<dyn StdError + Send + Sync>,
}

impl PortError {
    /// Wraps an adapter error.
    pub fn new(
        operation: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            operation,
            source: source.into(),
        }
    }
}

/// A StartExecution request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartExecution {
    /// The state machine to run.
    pub state_machine_arn: String,
    /// The execution name (the Conductor workflow id).
    pub name: String,
    /// The execution input, as JSON text.
    pub input: String,
}

/// What StartExecution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// A new execution started (or Step Functions answered an identical start idempotently).
    Started {
        /// The execution's ARN.
        execution_arn: String,
        /// When it started.
        start_time: Millis,
    },
    /// An execution with this name already exists (`ExecutionAlreadyExists`).
    AlreadyExists,
}

/// An execution as DescribeExecution reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionDescription {
    /// The execution's ARN.
    pub execution_arn: String,
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// The execution name.
    pub name: String,
    /// The current status.
    pub status: ExecutionStatus,
    /// When it started.
    pub start_time: Millis,
    /// When it finished, if it has.
    pub stop_time: Option<Millis>,
    /// The input as JSON text.
    pub input: Option<String>,
    /// The output as JSON text, for a succeeded execution.
    pub output: Option<String>,
    /// The error name, for a failed execution.
    pub error: Option<String>,
    /// The error cause, for a failed execution.
    pub cause: Option<String>,
    /// How many times the execution was redriven.
    pub redrive_count: u32,
}

/// The Step Functions calls the control logic makes.
pub trait StepFunctions: Send + Sync {
    /// Starts an execution; an existing execution of the same name is
    /// [`StartOutcome::AlreadyExists`], not an error.
    fn start_execution(
        &self,
        request: StartExecution,
    ) -> impl Future<Output = Result<StartOutcome, PortError>> + Send;

    /// Describes an execution.
    fn describe_execution(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<ExecutionDescription, PortError>> + Send;
}

/// Whether a conditional table write happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Applied {
    /// The row now holds the update.
    Written,
    /// The row already holds a later state; the update was dropped.
    Ignored,
}

/// The executions table.
pub trait ExecutionTable: Send + Sync {
    /// Records a start. Idempotent: facts already recorded (including any status) stay.
    fn record_start(
        &self,
        record: &StartRecord,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// The execution ARN an earlier start recorded for `workflow_id`, if any (a consistent read).
    fn recorded_start(
        &self,
        workflow_id: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send;

    /// Applies a status update if it [supersedes](crate::Progress::supersedes) what the row holds.
    fn apply(
        &self,
        change: &StatusChange,
    ) -> impl Future<Output = Result<Applied, PortError>> + Send;

    /// Reconcilable rows in RUNNING that started before `started_before`, oldest first, at most
    /// `limit`.
    fn running_before(
        &self,
        started_before: Millis,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RunningRow>, PortError>> + Send;
}

impl<T: StepFunctions + ?Sized> StepFunctions for std::sync::Arc<T> {
    fn start_execution(
        &self,
        request: StartExecution,
    ) -> impl Future<Output = Result<StartOutcome, PortError>> + Send {
        (**self).start_execution(request)
    }

    fn describe_execution(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<ExecutionDescription, PortError>> + Send {
        (**self).describe_execution(execution_arn)
    }
}

impl<T: ExecutionTable + ?Sized> ExecutionTable for std::sync::Arc<T> {
    fn record_start(
        &self,
        record: &StartRecord,
    ) -> impl Future<Output = Result<(), PortError>> + Send {
        (**self).record_start(record)
    }

    fn recorded_start(
        &self,
        workflow_id: &str,
    ) -> impl Future<Output = Result<Option<String>, PortError>> + Send {
        (**self).recorded_start(workflow_id)
    }

    fn apply(
        &self,
        change: &StatusChange,
    ) -> impl Future<Output = Result<Applied, PortError>> + Send {
        (**self).apply(change)
    }

    fn running_before(
        &self,
        started_before: Millis,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RunningRow>, PortError>> + Send {
        (**self).running_before(started_before, limit)
    }
}
