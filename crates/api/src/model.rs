//! Request and response bodies of the API, in Conductor's JSON shapes.

use ocflow_control::worker::TaskResult;
use ocflow_dsl::model::WorkflowDef;
use ocflow_engine::conductor::Workflow;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What to do when a start's idempotency key was used before (Conductor's
/// `IdempotencyStrategy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IdempotencyStrategy {
    /// Refuse the start (409).
    #[default]
    Fail,
    /// Answer with the workflow the key started.
    ReturnExisting,
}

/// A start (Conductor's `StartWorkflowRequest`; the body of `POST /api/workflow`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartWorkflowRequest {
    /// The workflow's name.
    pub name: String,
    /// The version to run; the latest when absent.
    #[serde(default)]
    pub version: Option<i64>,
    /// The correlation id to record.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// The workflow input.
    #[serde(default)]
    pub input: Map<String, Value>,
    /// Starts with the same key start one workflow.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// What a repeated key does.
    #[serde(default)]
    pub idempotency_strategy: IdempotencyStrategy,
    /// Conductor's priority (0-99); recorded nowhere locally.
    #[serde(default)]
    pub priority: Option<i64>,
    /// A definition to run instead of the registered one (Conductor's inline `workflowDef`, as
    /// the SDKs' `ConductorWorkflow` sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_def: Option<WorkflowDef>,
}

/// A workflow as search lists it (Conductor's `WorkflowSummary`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSummary {
    /// The workflow's name.
    pub workflow_type: String,
    /// Its version.
    pub version: u32,
    /// The execution id.
    pub workflow_id: String,
    /// The correlation id given at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Start, in epoch milliseconds.
    pub start_time: i64,
    /// End, in epoch milliseconds (0 while running).
    pub end_time: i64,
    /// `RUNNING`, `COMPLETED`, `FAILED`, `TIMED_OUT` or `TERMINATED`.
    pub status: String,
    /// The input, as JSON text.
    pub input: String,
    /// The output, as JSON text.
    pub output: String,
    /// Why it did not complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// End minus start, in milliseconds (0 while running).
    pub execution_time: i64,
}

impl From<&Workflow> for WorkflowSummary {
    fn from(w: &Workflow) -> Self {
        WorkflowSummary {
            workflow_type: w.workflow_name.clone(),
            version: w.workflow_version,
            workflow_id: w.workflow_id.clone(),
            correlation_id: w.correlation_id.clone(),
            start_time: w.start_time,
            end_time: w.end_time,
            status: w.status.clone(),
            input: w.input.to_string(),
            output: w.output.to_string(),
            reason_for_incompletion: w.reason_for_incompletion.clone(),
            execution_time: if w.end_time > 0 {
                (w.end_time - w.start_time).max(0)
            } else {
                0
            },
        }
    }
}

/// A page of search results (Conductor's `SearchResult`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult<T> {
    /// How many results match, across pages.
    pub total_hits: u64,
    /// This page.
    pub results: Vec<T>,
}

/// A workflow's status (Conductor's `WorkflowStatus`, `GET /api/workflow/{id}/status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStatus {
    /// The execution id.
    pub workflow_id: String,
    /// The correlation id given at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The output so far.
    pub output: Value,
    /// The status.
    pub status: String,
}

impl From<&Workflow> for WorkflowStatus {
    fn from(w: &Workflow) -> Self {
        WorkflowStatus {
            workflow_id: w.workflow_id.clone(),
            correlation_id: w.correlation_id.clone(),
            output: w.output.clone(),
            status: w.status.clone(),
        }
    }
}

/// A worker's result for one task (Conductor's `TaskResult`, the body of `POST /api/tasks`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskUpdate {
    /// The task.
    pub task_id: String,
    /// The workflow it belongs to.
    #[serde(default)]
    pub workflow_instance_id: String,
    /// The worker that ran it.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// The outcome.
    #[serde(flatten)]
    pub result: TaskResult,
    /// Log lines the worker sends with its result; kept as `POST /api/tasks/{taskId}/log`
    /// keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<TaskExecLog>,
}

/// One log line of a task (Conductor's `TaskExecLog`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskExecLog {
    /// The line.
    pub log: String,
    /// The task it is about.
    #[serde(default)]
    pub task_id: String,
    /// When it was written, in epoch milliseconds.
    #[serde(default)]
    pub created_time: i64,
}

/// A rerun (Conductor's `RerunWorkflowRequest`, the body of `POST /api/workflow/{id}/rerun`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RerunWorkflowRequest {
    /// The workflow to run again (the path's id wins).
    #[serde(default)]
    pub re_run_from_workflow_id: Option<String>,
    /// New workflow input; the original input when absent.
    #[serde(default)]
    pub workflow_input: Option<Map<String, Value>>,
    /// The task to run again from; from the beginning when absent.
    #[serde(default)]
    pub re_run_from_task_id: Option<String>,
    /// New input for that task.
    #[serde(default)]
    pub task_input: Option<Map<String, Value>>,
    /// A new correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}
