//! The port the router serves: what a Conductor-compatible backend must do.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use ocflow_dsl::model::{TaskDef, WorkflowDef};
use ocflow_engine::conductor::{Task, Workflow};
use serde_json::Value;

use crate::error::ApiError;
use crate::model::{
    RerunWorkflowRequest, SearchResult, StartWorkflowRequest, TaskExecLog, TaskUpdate,
    WorkflowSummary,
};
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

    /// Conductor's retry (`POST /api/workflow/{id}/retry`), which is Step Functions'
    /// `RedriveExecution`: a `FAILED`, `TIMED_OUT` or `TERMINATED` workflow runs again under the
    /// same id from the task(s) that did not complete. Tasks that completed keep their outputs
    /// and do not run again; each retried task shows as a new attempt (the failed one stays
    /// `FAILED`, the new one has `retryCount` one higher); retry counters of the state start
    /// again. Inside a fork or dynamic fork only the failed or unfinished branches run again.
    ///
    /// `resume_subworkflow_tasks` is Conductor's `resumeSubworkflowTasks`; a backend that cannot
    /// retry inside a sub-workflow retries the SUB_WORKFLOW task itself (a new child run).
    ///
    /// Errors, as Conductor answers them: 404 for an unknown workflow; 409 for one still
    /// running (`Workflow is still running.  status=RUNNING`) or `COMPLETED` (nothing to
    /// retry). The default answers 409: the backend cannot retry.
    fn retry(
        &self,
        workflow_id: &str,
        resume_subworkflow_tasks: bool,
    ) -> impl Future<Output = ApiResult<()>> + Send {
        let _ = resume_subworkflow_tasks;
        let message = format!("workflow '{workflow_id}' cannot be retried by this service");
        async move { Err(ApiError::conflict(message)) }
    }

    /// Conductor's restart (`POST /api/workflow/{id}/restart`): a workflow that has ended, in
    /// any terminal status, runs again from the beginning with its original input under the
    /// same id; its earlier tasks are no longer listed. With `use_latest_definitions` it runs
    /// the latest registered version of its definition, else the one it ran with.
    ///
    /// Errors: 404 for an unknown workflow; 409 for one still running (`Workflow is still
    /// running.  status=RUNNING`). The default answers 409: the backend cannot restart.
    fn restart(
        &self,
        workflow_id: &str,
        use_latest_definitions: bool,
    ) -> impl Future<Output = ApiResult<()>> + Send {
        let _ = use_latest_definitions;
        let message = format!("workflow '{workflow_id}' cannot be restarted by this service");
        async move { Err(ApiError::conflict(message)) }
    }

    /// One task as its workflow lists it, named by the id the workflow lists
    /// (`<workflowId>-<seq>`) or by the id a poll handed out (`<workflowId>/<state>`, see
    /// [`crate::task`]). 404 when no workflow lists it.
    fn task(&self, task_id: &str) -> impl Future<Output = ApiResult<Task>> + Send;

    /// Removes an ended workflow from the store (Conductor's `DELETE
    /// /api/workflow/{id}/remove`); 404 for an unknown workflow, 409 while it runs.
    /// `archive` is Conductor's `archiveWorkflow`: there is no archive apart from the store,
    /// so a removed workflow is gone either way.
    fn remove(
        &self,
        workflow_id: &str,
        archive: bool,
    ) -> impl Future<Output = ApiResult<()>> + Send;

    /// Unregisters one version of a workflow definition; 404 when it is not registered.
    /// Running workflows keep running. When it was the latest version, the one now latest is
    /// what starts run.
    fn remove_workflow_def(
        &self,
        name: &str,
        version: i64,
    ) -> impl Future<Output = ApiResult<()>> + Send;

    /// How many worker tasks of each type wait for a worker (handed out ones are not
    /// counted); a type without a queue has 0.
    fn queue_sizes(
        &self,
        task_types: &[String],
    ) -> impl Future<Output = ApiResult<BTreeMap<String, u64>>> + Send;

    /// [`WorkflowService::queue_sizes`] of every task type that has a queue. The default
    /// answers 409: the backend cannot list its queues.
    fn queue_all(&self) -> impl Future<Output = ApiResult<BTreeMap<String, u64>>> + Send {
        async {
            Err(ApiError::conflict(
                "GET /api/tasks/queue/all is not served here: this backend cannot list its \
                 worker queues; ask GET /api/tasks/queue/sizes?taskType=... instead",
            ))
        }
    }

    /// Whether the backend answers (its store is reachable). The default says it does.
    fn health(&self) -> impl Future<Output = ApiResult<()>> + Send {
        async { Ok(()) }
    }

    /// Keeps log lines of a task (`POST /api/tasks/{taskId}/log`, or a result's `logs`); a
    /// task keeps its latest lines only (see the backends).
    fn add_task_logs(
        &self,
        task_id: &str,
        logs: Vec<TaskExecLog>,
    ) -> impl Future<Output = ApiResult<()>> + Send;

    /// The log lines kept for a task, oldest first (empty for a task without any).
    fn task_logs(&self, task_id: &str) -> impl Future<Output = ApiResult<Vec<TaskExecLog>>> + Send;

    /// Conductor's rerun (`POST /api/workflow/{id}/rerun`) from the beginning: a restart,
    /// which may change the input or correlation id; returns the workflow's id. The router
    /// refuses a rerun from a task (`reRunFromTaskId`, `taskInput`) before asking: a Step
    /// Functions execution cannot be entered at a chosen state with the history before it
    /// kept. The default answers 409.
    fn rerun(
        &self,
        workflow_id: &str,
        request: RerunWorkflowRequest,
    ) -> impl Future<Output = ApiResult<String>> + Send {
        let _ = request;
        let message = format!("workflow '{workflow_id}' cannot be rerun by this service");
        async move { Err(ApiError::conflict(message)) }
    }

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
