//! Serde model of Conductor's data: workflow and task definitions, start requests, event
//! handlers and execution records.
//!
//! Fields hold exactly what a document says (`None` when absent, explicit `null` read as absent,
//! as Conductor does), and fields the model does not know are kept in `extra`, so that
//! parse → serialise gives back the document. Methods such as [`TaskDef::retry_count`] apply
//! Conductor's defaults.

mod event;
mod execution;
mod start;
mod task_def;
mod task_type;
mod walk;
mod workflow;

pub use event::{EventAction, EventActionKind, EventHandler, StartWorkflowAction, TaskAction};
pub use execution::{TaskExecution, TaskStatus, WorkflowExecution, WorkflowStatus};
pub use start::{StartWorkflowInput, StartWorkflowRequest};
pub use task_def::{RetryLogic, SchemaDef, SchemaType, TaskDef, TimeoutPolicy};
pub use task_type::TaskType;
pub(crate) use walk::walk_list;
pub use walk::{TaskAt, TaskDefs};
pub use workflow::{
    CacheConfig, InlineWorkflow, RateLimitConfig, StateChangeEvent, SubWorkflowParams, WorkflowDef,
    WorkflowTask, WorkflowTimeoutPolicy,
};

/// A JSON object, in document order.
pub type JsonMap = serde_json::Map<String, serde_json::Value>;

/// Reads `null` as the type's default (Conductor treats an explicit null as absent).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    use serde::Deserialize as _;
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
