//! `EventHandler`: actions Conductor takes when an event arrives on a queue.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::JsonMap;

/// An event handler: on `event`, if `condition` holds, run `actions`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventHandler {
    /// Handler name.
    #[serde(default)]
    pub name: String,
    /// Event source, `type:name` (`sqs:queue`, `conductor:workflow:event`).
    #[serde(default)]
    pub event: String,
    /// Condition over the event payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// How `condition` is evaluated (`javascript`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluator_type: Option<String>,
    /// What to do.
    #[serde(default)]
    pub actions: Vec<EventAction>,
    /// Whether the handler is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// The kind of an [`EventAction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventActionKind {
    /// Start a workflow.
    StartWorkflow,
    /// Complete a waiting task.
    CompleteTask,
    /// Fail a waiting task.
    FailTask,
    /// Terminate a workflow.
    TerminateWorkflow,
    /// Update a workflow's variables.
    UpdateWorkflowVariables,
}

/// One action of an [`EventHandler`]; the field matching `action` holds its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventAction {
    /// Which action.
    pub action: EventActionKind,
    /// Parameters of `start_workflow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_workflow: Option<StartWorkflowAction>,
    /// Parameters of `complete_task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_task: Option<TaskAction>,
    /// Parameters of `fail_task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_task: Option<TaskAction>,
    /// Parameters of `terminate_workflow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminate_workflow: Option<JsonMap>,
    /// Parameters of `update_workflow_variables`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_workflow_variables: Option<JsonMap>,
    /// Whether JSON strings in the payload are expanded before use.
    #[serde(
        rename = "expandInlineJSON",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expand_inline_json: Option<bool>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `start_workflow` parameters; values may hold `${...}` paths into the event payload.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartWorkflowAction {
    /// Workflow name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Workflow version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Workflow input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<JsonMap>,
    /// Task-to-domain mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_to_domain: Option<IndexMap<String, String>>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `complete_task` / `fail_task` parameters: which task, and its output.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskAction {
    /// Workflow id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// Reference name of the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_ref_name: Option<String>,
    /// Task id, instead of workflow id and reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Output given to the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<JsonMap>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}
