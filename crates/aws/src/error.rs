//! Errors of the AWS adapters.

use aws_sdk_sfn::error::DisplayErrorContext;
use ocflow_control::PortError;

/// An AWS call failed, or a worker answer could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An AWS API call failed.
    #[error("{operation} failed: {message}")]
    Service {
        /// The API operation (`ReceiveMessage`, `SendTaskSuccess`, ...).
        operation: &'static str,
        /// The SDK's error, with its causes.
        message: String,
    },
    /// The task's token is no longer valid (the state timed out or the execution ended); the
    /// message was deleted.
    #[error("task `{task_id}` is no longer waiting for an answer: {message}")]
    TaskGone {
        /// The Conductor task id.
        task_id: String,
        /// What Step Functions said.
        message: String,
    },
    /// The worker's result cannot be sent as it is.
    #[error(transparent)]
    Result(#[from] ocflow_control::worker::Error),
}

impl Error {
    /// Wraps an SDK error with its full cause chain.
    pub(crate) fn service(operation: &'static str, error: impl std::error::Error) -> Self {
        Error::Service {
            operation,
            message: DisplayErrorContext(error).to_string(),
        }
    }
}

/// An SDK error as a port error, with its full cause chain.
pub(crate) fn port_error(operation: &'static str, error: impl std::error::Error) -> PortError {
    PortError::new(operation, DisplayErrorContext(error).to_string())
}
