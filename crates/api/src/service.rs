//! The port the router serves: what a Conductor-compatible backend must do.

use std::future::Future;
use std::time::Duration;

use ocflow_dsl::model::{TaskDef, WorkflowDef};
use ocflow_engine::conductor::Workflow;
use serde_json::Value;

use crate::error::ApiError;
use crate::model::{SearchResult, StartWorkflowRequest, TaskUpdate, WorkflowSummary};
use crate::search::WorkflowSearch;

/// A result of the API.
pub type ApiResult<T> = Result<T, ApiError>;

/// Workflows, their definitions and worker tasks, as the REST API reaches them. Implemented
/// for the embedded host (`ocflow_local::LocalHost`, feature `local`).
pub trait WorkflowService: Send + Sync + 'static {
    /// Starts a workflow; returns its id. A repeated idempotency key follows the request's
    /// strategy.
    fn start(
        &self,
        request: StartWorkflowRequest,
    ) -> impl Future<Output = ApiResult<String>> + Send;

    /// One workflow, with its tasks or without.
    fn workflow(
        &self,
        workflow_id: &str,
        include_tasks: bool,
    ) -> impl Future<Output = ApiResult<Workflow>> + Send;

    /// Terminates a running workflow.
    fn terminate(
        &self,
        workflow_id: &str,
        reason: &str,
    ) -> impl Future<Output = ApiResult<()>> + Send;

    /// Workflows matching a search, newest first.
    fn search(
        &self,
        search: &WorkflowSearch,
    ) -> impl Future<Output = ApiResult<SearchResult<WorkflowSummary>>> + Send;

    /// Registers (compiles and deploys) a workflow definition; `overwrite` allows replacing
    /// the same name and version.
    fn register_workflow(
        &self,
        def: WorkflowDef,
        overwrite: bool,
    ) -> impl Future<Output = ApiResult<()>> + Send;

    /// A registered workflow definition (the latest version when `version` is absent).
    fn workflow_def(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> impl Future<Output = ApiResult<WorkflowDef>> + Send;

    /// Every registered workflow definition.
    fn workflow_defs(&self) -> impl Future<Output = ApiResult<Vec<WorkflowDef>>> + Send;

    /// Registers (or replaces) task definitions.
    fn register_task_defs(&self, defs: Vec<TaskDef>) -> impl Future<Output = ApiResult<()>> + Send;

    /// A registered task definition.
    fn task_def(&self, name: &str) -> impl Future<Output = ApiResult<TaskDef>> + Send;

    /// Every registered task definition.
    fn task_defs(&self) -> impl Future<Output = ApiResult<Vec<TaskDef>>> + Send;

    /// Removes a task definition.
    fn remove_task_def(&self, name: &str) -> impl Future<Output = ApiResult<()>> + Send;

    /// Hands out up to `count` tasks of `task_type` (Conductor `Task` JSON), waiting up to
    /// `timeout` for one.
    fn poll(
        &self,
        task_type: &str,
        worker_id: Option<&str>,
        count: usize,
        timeout: Duration,
    ) -> impl Future<Output = ApiResult<Vec<Value>>> + Send;

    /// Applies a worker's result.
    fn update_task(&self, update: TaskUpdate) -> impl Future<Output = ApiResult<()>> + Send;

    /// Applies a worker's result, then hands the same worker the next task of that task's type
    /// if one is waiting (Conductor's `update-v2`). By default it hands out none, which
    /// Conductor's workers accept: they poll again.
    fn update_task_and_poll(
        &self,
        update: TaskUpdate,
    ) -> impl Future<Output = ApiResult<Option<Value>>> + Send {
        async move { self.update_task(update).await.map(|()| None) }
    }
}
