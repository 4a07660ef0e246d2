//! Execution records: a workflow run (Conductor's `Workflow`) and its tasks (`Task`).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::{JsonMap, TaskDef, WorkflowDef, WorkflowTask};

/// Status of a workflow execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowStatus {
    /// Running.
    Running,
    /// Finished successfully.
    Completed,
    /// Failed.
    Failed,
    /// Exceeded its timeout.
    TimedOut,
    /// Terminated by a TERMINATE task or the API.
    Terminated,
    /// Paused.
    Paused,
}

/// Status of a task execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    /// Running.
    InProgress,
    /// Cancelled.
    Canceled,
    /// Failed; may be retried.
    Failed,
    /// Failed; never retried.
    FailedWithTerminalError,
    /// Finished successfully.
    Completed,
    /// Optional task that failed; the workflow went on.
    CompletedWithErrors,
    /// Queued.
    Scheduled,
    /// Exceeded a timeout.
    TimedOut,
    /// Skipped.
    Skipped,
}

/// A workflow execution record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowExecution {
    /// Execution id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// Execution status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<WorkflowStatus>,
    /// End time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Parent execution, for a sub-workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_workflow_id: Option<String>,
    /// The parent's SUB_WORKFLOW task id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_workflow_task_id: Option<String>,
    /// Tasks scheduled so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskExecution>>,
    /// Workflow input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<JsonMap>,
    /// Workflow output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<JsonMap>,
    /// Correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Execution this one re-runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub re_run_from_workflow_id: Option<String>,
    /// Why it failed or was terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Event that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Task-to-domain mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_to_domain: Option<IndexMap<String, String>>,
    /// References of failed tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_reference_task_names: Option<Vec<String>>,
    /// Names of failed tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_task_names: Option<Vec<String>>,
    /// The definition it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_definition: Option<WorkflowDef>,
    /// Where a large input is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_input_payload_storage_path: Option<String>,
    /// Where a large output is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_output_payload_storage_path: Option<String>,
    /// Priority 0-99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Workflow variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<JsonMap>,
    /// Last retry time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_retried_time: Option<i64>,
    /// Earlier runs of this execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<WorkflowExecution>>,
    /// Idempotency key of the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Rate-limit key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_key: Option<String>,
    /// Whether it is rate limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limited: Option<bool>,
    /// Start time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// Workflow name (older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_type: Option<String>,
    /// Workflow version (older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// DSL schema version (older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<i64>,
    /// Workflow name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_name: Option<String>,
    /// Workflow version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_version: Option<i64>,
    /// Owning application (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_app: Option<String>,
    /// Creation time, epoch milliseconds (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// Last update time, epoch milliseconds (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<i64>,
    /// Creator (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Last updater (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A task execution record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskExecution {
    /// Task id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Task type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    /// Task status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
    /// Resolved input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_data: Option<JsonMap>,
    /// Reference name in the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_task_name: Option<String>,
    /// Attempt number, from 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i64>,
    /// Sequence number in the execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// Correlation id of the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Times it was polled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_count: Option<i64>,
    /// Task definition name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_def_name: Option<String>,
    /// Schedule time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_time: Option<i64>,
    /// Start time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// End time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Last update time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<i64>,
    /// Delay before it was queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_delay_in_seconds: Option<i64>,
    /// The attempt that retried this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_task_id: Option<String>,
    /// Whether it was retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried: Option<bool>,
    /// Whether its outcome was processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed: Option<bool>,
    /// Whether a worker updated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_from_worker: Option<bool>,
    /// Response timeout in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_timeout_seconds: Option<i64>,
    /// Execution id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_instance_id: Option<String>,
    /// Workflow name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_type: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Delay before it is polled again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_after_seconds: Option<i64>,
    /// Worker that ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    /// Output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_data: Option<JsonMap>,
    /// The task of the definition it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_task: Option<WorkflowTask>,
    /// Task domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Rate limit in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_frequency: Option<i64>,
    /// Rate-limit window in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_frequency_in_seconds: Option<i64>,
    /// Where a large input is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_input_payload_storage_path: Option<String>,
    /// Where a large output is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_output_payload_storage_path: Option<String>,
    /// Priority of the workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_priority: Option<i64>,
    /// Execution namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_name_space: Option<String>,
    /// Isolation group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_group_id: Option<String>,
    /// DO_WHILE iteration, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration: Option<i64>,
    /// Child execution of a SUB_WORKFLOW task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_workflow_id: Option<String>,
    /// Whether the child changed since the last decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subworkflow_changed: Option<bool>,
    /// Start time of the first attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_start_time: Option<i64>,
    /// Task that spawned this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_task_id: Option<String>,
    /// Task definition in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<TaskDef>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}
