//! What can go wrong while synthesising a deployment.

use std::path::PathBuf;

/// A synthesis failure. Messages name the workflow and, where there is one, a JSON pointer into
/// its state machine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No workflow was given.
    #[error("no workflow to deploy")]
    NoWorkflows,
    /// Two workflows map to the same state machine name (names are sanitised to `A-Z a-z 0-9 _`).
    #[error("workflows `{first}` and `{second}` both become state machine `{machine}`")]
    DuplicateWorkflow {
        /// The first workflow's name.
        first: String,
        /// The second workflow's name.
        second: String,
        /// The sanitised name both map to.
        machine: String,
    },
    /// Two distinct names become the same CloudFormation logical id.
    #[error("`{first}` and `{second}` both become CloudFormation resource `{logical_id}`")]
    LogicalIdClash {
        /// The first name.
        first: String,
        /// The second name.
        second: String,
        /// The logical id both map to.
        logical_id: String,
    },
    /// A `${Name}` placeholder this crate does not know how to fill.
    #[error("workflow `{workflow}` at {pointer}: unknown placeholder `${{{key}}}`")]
    UnknownPlaceholder {
        /// The workflow.
        workflow: String,
        /// JSON pointer to the string holding the placeholder.
        pointer: String,
        /// The substitution key.
        key: String,
    },
    /// A placeholder names a function the deployment does not include.
    #[error(
        "workflow `{workflow}` at {pointer}: `${{{key}}}` names a function this deployment does not include (EVENT tasks deploy as native SQS, SNS and EventBridge integrations)"
    )]
    FunctionNotDeployed {
        /// The workflow.
        workflow: String,
        /// JSON pointer to the string holding the placeholder.
        pointer: String,
        /// The substitution key.
        key: String,
    },
    /// A child workflow started by a workflow is not among those being deployed.
    #[error(
        "workflow `{workflow}` at {pointer} starts `{child}`, which is not among the workflows being deployed"
    )]
    UnknownChild {
        /// The parent workflow.
        workflow: String,
        /// JSON pointer to the `StateMachineArn` argument.
        pointer: String,
        /// The sanitised child name from the placeholder.
        child: String,
    },
    /// A Task resource this crate cannot grant permissions for.
    #[error("workflow `{workflow}` at {pointer}: unsupported task resource `{resource}`")]
    UnsupportedResource {
        /// The workflow.
        workflow: String,
        /// JSON pointer to the Task state's `Resource`.
        pointer: String,
        /// The resource ARN.
        resource: String,
    },
    /// A Task's target (function, queue, machine, topic, bus) is not one placeholder, so no
    /// policy can name it.
    #[error(
        "workflow `{workflow}` at {pointer}: {field} must be one `${{...}}` placeholder, found {found}"
    )]
    DynamicTarget {
        /// The workflow.
        workflow: String,
        /// JSON pointer to the argument.
        pointer: String,
        /// The argument (`FunctionName`, `QueueUrl`, ...).
        field: &'static str,
        /// What was found instead, as JSON.
        found: String,
    },
    /// A placeholder of the wrong kind in a Task's target argument.
    #[error("workflow `{workflow}` at {pointer}: `${{{key}}}` cannot be a {field}")]
    MismatchedTarget {
        /// The workflow.
        workflow: String,
        /// JSON pointer to the argument.
        pointer: String,
        /// The argument (`FunctionName`, `QueueUrl`, ...).
        field: &'static str,
        /// The placeholder's key.
        key: String,
    },
    /// An Express workflow uses an integration pattern only Standard machines support.
    #[error(
        "workflow `{workflow}` is EXPRESS but {pointer} uses `{resource}`, which only STANDARD machines support"
    )]
    ExpressUnsupported {
        /// The workflow.
        workflow: String,
        /// JSON pointer to the Task state's `Resource`.
        pointer: String,
        /// The resource ARN.
        resource: String,
    },
    /// A workflow's `ocflow.json` could not be read or parsed.
    #[error("invalid workflow options in {path}: {message}")]
    Options {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Serialising the template or a machine failed.
    #[error("cannot serialise {what}: {message}")]
    Serialize {
        /// The template or the machine file name.
        what: String,
        /// The serialiser's message.
        message: String,
    },
    /// Writing the output failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// The workflow the error is about, when it is about one.
    pub fn workflow(&self) -> Option<&str> {
        match self {
            Error::DuplicateWorkflow { second, .. } => Some(second),
            Error::UnknownPlaceholder { workflow, .. }
            | Error::FunctionNotDeployed { workflow, .. }
            | Error::UnknownChild { workflow, .. }
            | Error::UnsupportedResource { workflow, .. }
            | Error::DynamicTarget { workflow, .. }
            | Error::MismatchedTarget { workflow, .. }
            | Error::ExpressUnsupported { workflow, .. } => Some(workflow),
            Error::NoWorkflows
            | Error::LogicalIdClash { .. }
            | Error::Options { .. }
            | Error::Serialize { .. }
            | Error::Write { .. } => None,
        }
    }
}
