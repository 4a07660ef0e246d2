//! `StartWorkflowRequest`: the body of a start call, also the input of a START_WORKFLOW task.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::{JsonMap, WorkflowDef};

/// A request to start a workflow, by name or with an inline (ephemeral) definition.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartWorkflowRequest {
    /// Name of the workflow to start.
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Version (latest when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Correlation id of the new execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Workflow input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<JsonMap>,
    /// Task-to-domain mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_to_domain: Option<IndexMap<String, String>>,
    /// An inline definition, run without registering it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_def: Option<Box<WorkflowDef>>,
    /// Where a large input was stored externally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_input_payload_storage_path: Option<String>,
    /// Priority 0-99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Who starts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Idempotency key of the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// `RETURN_EXISTING` or `FAIL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_strategy: Option<String>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// The input of a START_WORKFLOW task: `{"startWorkflow": {...}}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartWorkflowInput {
    /// The request the task makes.
    pub start_workflow: StartWorkflowRequest,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}
