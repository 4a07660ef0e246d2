//! Errors: those of the engine's API, and the failures states raise inside an execution.

use serde_json::{Value, json};

use crate::store::StoreError;

/// The error names Step Functions predefines (the `States.` family).
pub mod names {
    /// Matches every error name but [`RUNTIME`] and [`DATA_LIMIT_EXCEEDED`].
    pub const ALL: &str = "States.ALL";
    /// A task failed; as a matcher, every error raised by a resource (not `States.Timeout`).
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// A Task ran past `TimeoutSeconds`, or the execution past the machine's `TimeoutSeconds`.
    pub const TIMEOUT: &str = "States.Timeout";
    /// A Task waiting for a callback received no heartbeat within `HeartbeatSeconds`.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// A JSONata expression failed or returned nothing.
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
    /// A Parallel branch failed (the Parallel state reports the branch's own error).
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    /// No Choice rule matched and the Choice has no `Default`.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// Insufficient privileges (never raised locally).
    pub const PERMISSIONS: &str = "States.Permissions";
    /// An unrecoverable problem in the execution itself; never caught by `States.ALL`.
    pub const RUNTIME: &str = "States.Runtime";
    /// A state input, output or variable is above 256 KiB; never caught by `States.ALL`.
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    /// More Map iterations failed than `ToleratedFailurePercentage`/`Count` allow.
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    /// A distributed Map could not read its items (`ItemReader` is not supported locally).
    pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
    /// A distributed Map could not write its results.
    pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
}

/// Whether the `ErrorEquals` entry `pattern` matches the error name `error`, by Step Functions'
/// rules: exact names match; `States.ALL` matches everything but `States.Runtime` and
/// `States.DataLimitExceeded`; `States.TaskFailed` matches every error a resource raised (any name
/// outside the `States.` family); `States.Timeout` also matches `States.HeartbeatTimeout`.
pub fn error_matches(pattern: &str, error: &str) -> bool {
    if pattern == error {
        return true;
    }
    match pattern {
        names::ALL => error != names::RUNTIME && error != names::DATA_LIMIT_EXCEEDED,
        names::TASK_FAILED => !error.starts_with("States."),
        names::TIMEOUT => error == names::HEARTBEAT_TIMEOUT,
        _ => false,
    }
}

/// An error raised inside an execution, as `$states.errorOutput` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error name (`States.Timeout`, `Ocf.Http5xx`, ...).
    pub error: String,
    /// What went wrong, in words or as a JSON document in text.
    pub cause: String,
}

impl Failure {
    /// A failure with this name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// `{"Error": ..., "Cause": ...}`, the value of `$states.errorOutput`.
    pub fn to_error_output(&self) -> Value {
        json!({"Error": self.error, "Cause": self.cause})
    }

    /// Whether any `ErrorEquals` entry matches this failure.
    pub fn matches(&self, error_equals: &[String]) -> bool {
        error_equals.iter().any(|p| error_matches(p, &self.error))
    }

    pub(crate) fn query(error: &ocflow_jsonata::Error, state: &str, field: &str) -> Self {
        Failure::new(
            names::QUERY_EVALUATION_ERROR,
            format!("state '{state}', field {field}: {error}"),
        )
    }

    pub(crate) fn runtime(cause: impl Into<String>) -> Self {
        Failure::new(names::RUNTIME, cause)
    }
}

/// Errors of the engine's API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No machine with this name or ARN is registered.
    #[error("no state machine '{0}' is registered")]
    UnknownMachine(String),
    /// The machine (or one of its states) uses JSONPath, which this engine does not run.
    #[error(
        "state machine '{machine}' uses JSONPath{}; the local engine runs JSONata machines only (\"QueryLanguage\": \"JSONata\")",
        state.as_deref().map(|s| format!(" in state '{s}'")).unwrap_or_default()
    )]
    JsonPath {
        /// The machine.
        machine: String,
        /// The state setting JSONPath, if the machine as a whole is JSONata.
        state: Option<String>,
    },
    /// The definition cannot run: a dangling `Next`, a JSONata expression that does not parse, ...
    #[error("state machine '{machine}' is invalid: {message}")]
    Definition {
        /// The machine.
        machine: String,
        /// What is wrong, with the state it is in.
        message: String,
    },
    /// No execution with this id.
    #[error("no execution '{0}'")]
    UnknownExecution(String),
    /// The execution is unfinished but not running in this engine (resume it first).
    #[error("execution '{0}' is not running in this engine; resume it first")]
    NotRunning(String),
    /// The execution has already ended.
    #[error("execution '{0}' has already ended")]
    AlreadyEnded(String),
    /// The execution has not ended, so it cannot be redriven or restarted.
    #[error("execution '{0}' is still running")]
    StillRunning(String),
    /// The execution cannot be redriven (it succeeded, or its history is full).
    #[error("execution '{id}' cannot be redriven: {reason}")]
    NotRedrivable {
        /// The execution.
        id: String,
        /// Why not.
        reason: String,
    },
    /// The task token is unknown, or its task has completed already.
    #[error("task token is not pending: unknown, timed out or already completed")]
    UnknownToken,
    /// The execution input is above Step Functions' 256 KiB limit.
    #[error("execution input is {size} bytes, above Step Functions' limit of 262144")]
    InputTooLarge {
        /// Its size in bytes, as JSON.
        size: usize,
    },
    /// Executions run as tokio tasks: `start` and `resume` need a tokio runtime.
    #[error("executions run on tokio: call this inside a tokio runtime")]
    NoRuntime,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_all_spares_runtime_and_data_limit_errors() {
        assert!(error_matches("States.ALL", "Ocf.Http5xx"));
        assert!(error_matches("States.ALL", names::TIMEOUT));
        assert!(error_matches("States.ALL", names::QUERY_EVALUATION_ERROR));
        assert!(!error_matches("States.ALL", names::RUNTIME));
        assert!(!error_matches("States.ALL", names::DATA_LIMIT_EXCEEDED));
        assert!(error_matches(
            names::DATA_LIMIT_EXCEEDED,
            names::DATA_LIMIT_EXCEEDED
        ));
    }

    #[test]
    fn task_failed_and_timeout_are_families() {
        assert!(error_matches(names::TASK_FAILED, "Ocf.Http4xx"));
        assert!(!error_matches(names::TASK_FAILED, names::TIMEOUT));
        assert!(error_matches(names::TIMEOUT, names::HEARTBEAT_TIMEOUT));
        assert!(!error_matches(names::HEARTBEAT_TIMEOUT, names::TIMEOUT));
        assert!(!error_matches("Ocf.Http4xx", "Ocf.Http5xx"));
    }
}
