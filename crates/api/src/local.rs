//! [`WorkflowService`] for the embedded host.

use std::collections::BTreeMap;
use std::time::Duration;

use ocflow_control::starter::{NameSource, execution_name};
use ocflow_control::worker::conductor_task;
use ocflow_dsl::model::{TaskDef, WorkflowDef};
use ocflow_engine::conductor::{Task, Workflow};
use ocflow_engine::store::{ExecutionStatus, StoreError};
use ocflow_engine::{Error as EngineError, StartOptions};
use ocflow_local::{Error, LocalHost, LogLine};
use ocflow_store::ExecutionQuery;
use serde_json::Value;

use crate::error::ApiError;
use crate::model::{
    IdempotencyStrategy, RerunWorkflowRequest, SearchResult, StartWorkflowRequest, TaskExecLog,
    TaskUpdate, WorkflowSummary,
};
use crate::search::WorkflowSearch;
use crate::service::{ApiResult, WorkflowService};
use crate::task::{TaskId, find_task};

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::Engine(engine) => match engine {
                EngineError::UnknownMachine(_)
                | EngineError::UnknownExecution(_)
                | EngineError::UnknownToken => ApiError::not_found(message),
                EngineError::AlreadyEnded(_) | EngineError::Store(StoreError::AlreadyExists(_)) => {
                    ApiError::conflict(message)
                }
                EngineError::InputTooLarge { .. }
                | EngineError::Definition { .. }
                | EngineError::JsonPath { .. } => ApiError::bad_request(message),
                _ => ApiError::internal(message),
            },
            Error::Compile { .. }
            | Error::Invalid { .. }
            | Error::Machine(_)
            | Error::Result(_) => ApiError::bad_request(message),
            Error::UnknownTask(_) => ApiError::not_found(message),
            _ => ApiError::internal(message),
        }
    }
}

/// Conductor's answer to a retry or restart of a workflow that has not ended.
fn rerun_error(e: Error) -> ApiError {
    match e {
        Error::Engine(EngineError::StillRunning(_)) => {
            ApiError::conflict("Workflow is still running.  status=RUNNING")
        }
        Error::NotRestartable(_) => ApiError::conflict(e.to_string()),
        other => other.into(),
    }
}

fn table(e: ocflow_local::TableError) -> ApiError {
    ApiError::internal(e.to_string())
}

/// Conductor's status names as the engine's.
fn execution_status(status: &str) -> ApiResult<ExecutionStatus> {
    Ok(match status {
        "RUNNING" => ExecutionStatus::Running,
        "COMPLETED" => ExecutionStatus::Succeeded,
        "FAILED" => ExecutionStatus::Failed,
        "TIMED_OUT" => ExecutionStatus::TimedOut,
        "TERMINATED" => ExecutionStatus::Aborted,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown workflow status '{other}'"
            )));
        }
    })
}

/// Makes a start's inline definition the one that runs. Conductor runs it without registering
/// it; here workflows run by name, so it is registered (and kept, as `POST
/// /api/metadata/workflow` keeps it) unless the same definition is registered already. Another
/// definition registered under the same name and version is a conflict.
fn register_inline(host: &LocalHost, name: &str, def: &WorkflowDef) -> ApiResult<()> {
    if def.name != name {
        return Err(ApiError::bad_request(format!(
            "the inline workflowDef is named '{}', the start names '{name}'",
            def.name
        )));
    }
    match host
        .catalog()
        .workflow(name, Some(def.version()))
        .map_err(table)?
    {
        Some(registered) if registered == *def => Ok(()),
        Some(_) => Err(ApiError::conflict(format!(
            "workflow '{name}' version {} is registered with another definition than the \
             inline workflowDef; register the new one first (PUT /api/metadata/workflow)",
            def.version()
        ))),
        None => {
            host.register_definition(def)?;
            Ok(())
        }
    }
}

/// A task waiting in a worker queue.
struct Queued {
    /// The id its poll hands out.
    task_id: String,
    /// Its queue.
    task_type: String,
}

/// The queued task a worker's result is for. Its `taskId` is the one the poll handed out, or
/// the one the workflow lists (`GET /api/workflow/{id}`), which names the same task through its
/// task token.
fn queued_task(host: &LocalHost, update: &TaskUpdate) -> ApiResult<Option<Queued>> {
    let Some(queues) = host.worker_queues() else {
        return Ok(None);
    };
    if let Some(message) = queues.find(&update.task_id).map_err(table)? {
        return Ok(Some(Queued {
            task_id: message.task_id,
            task_type: message.task_type,
        }));
    }
    // A listed task's id is `<workflowId>-<seq>`.
    let workflow_id = match update.workflow_instance_id.as_str() {
        "" => match update.task_id.rsplit_once('-') {
            Some((workflow_id, _)) => workflow_id,
            None => return Ok(None),
        },
        id => id,
    };
    let Ok(workflow) = LocalHost::workflow(host, workflow_id) else {
        return Ok(None);
    };
    let token = workflow
        .tasks
        .iter()
        .find(|t| t.task_id == update.task_id)
        .and_then(|t| t.callback_token.as_deref());
    match token {
        Some(token) => Ok(queues
            .find_by_token(token)
            .map_err(table)?
            .map(|message| Queued {
                task_id: message.task_id,
                task_type: message.task_type,
            })),
        None => Ok(None),
    }
}

impl WorkflowService for LocalHost {
    async fn start(&self, request: StartWorkflowRequest) -> ApiResult<String> {
        if let Some(def) = &request.workflow_def {
            register_inline(self, &request.name, def)?;
        }
        if let Some(version) = request.version {
            let latest = self
                .catalog()
                .workflow(&request.name, None)
                .map_err(table)?;
            if latest.as_ref().is_some_and(|d| d.version() != version) {
                return Err(ApiError::bad_request(format!(
                    "workflow '{}' version {version}: only the latest registered version runs \
                     locally",
                    request.name
                )));
            }
        }
        let name = request
            .idempotency_key
            .as_deref()
            .map(|key| execution_name(&request.name, NameSource::IdempotencyKey(key)));
        let options = StartOptions {
            name: name.clone(),
            correlation_id: request.correlation_id,
            parent: None,
        };
        let started = self
            .launch(&request.name, Value::Object(request.input), options)
            .await;
        match started {
            Ok(id) => Ok(id),
            Err(Error::Engine(EngineError::Store(StoreError::AlreadyExists(id)))) => {
                match request.idempotency_strategy {
                    IdempotencyStrategy::ReturnExisting => Ok(name.unwrap_or(id)),
                    IdempotencyStrategy::Fail => Err(ApiError::conflict(format!(
                        "a workflow with idempotency key '{}' exists already: {id}",
                        request.idempotency_key.unwrap_or_default()
                    ))),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn workflow(&self, workflow_id: &str, include_tasks: bool) -> ApiResult<Workflow> {
        let mut workflow = LocalHost::workflow(self, workflow_id)?;
        if !include_tasks {
            workflow.tasks.clear();
        }
        Ok(workflow)
    }

    async fn terminate(&self, workflow_id: &str, reason: &str) -> ApiResult<()> {
        self.engine()
            .stop(workflow_id, reason)
            .await
            .map_err(Error::from)?;
        Ok(())
    }

    async fn search(&self, search: &WorkflowSearch) -> ApiResult<SearchResult<WorkflowSummary>> {
        let query = ExecutionQuery {
            machine: search.workflow_type.clone(),
            status: search.status.as_deref().map(execution_status).transpose()?,
            started_from: search.started_after.map(|t| t.saturating_add(1)),
            started_before: search.started_before,
            correlation_id: search.correlation_id.clone(),
            parent_id: None,
            limit: search.size,
            offset: search.start,
        };
        let store_error = |e: ocflow_store::Error| ApiError::internal(e.to_string());
        let found = self
            .store()
            .search_executions(&query)
            .map_err(store_error)?;
        let total = self
            .store()
            .search_executions(&ExecutionQuery {
                limit: usize::MAX >> 1,
                offset: 0,
                ..query
            })
            .map_err(store_error)?
            .len();
        let mut results = Vec::with_capacity(found.len());
        for summary in found {
            let workflow = LocalHost::workflow(self, &summary.id)?;
            results.push(WorkflowSummary::from(&workflow));
        }
        Ok(SearchResult {
            total_hits: u64::try_from(total).unwrap_or(u64::MAX),
            results,
        })
    }

    async fn register_workflow(&self, def: WorkflowDef, overwrite: bool) -> ApiResult<()> {
        let exists = self
            .catalog()
            .workflow(&def.name, Some(def.version()))
            .map_err(table)?
            .is_some();
        if exists && !overwrite {
            return Err(ApiError::conflict(format!(
                "workflow '{}' version {} is registered already; use overwrite=true or PUT",
                def.name,
                def.version()
            )));
        }
        self.register_definition(&def)?;
        Ok(())
    }

    async fn workflow_def(&self, name: &str, version: Option<i64>) -> ApiResult<WorkflowDef> {
        self.catalog()
            .workflow(name, version)
            .map_err(table)?
            .ok_or_else(|| ApiError::not_found(format!("no workflow definition '{name}'")))
    }

    async fn workflow_defs(&self) -> ApiResult<Vec<WorkflowDef>> {
        self.catalog().workflows().map_err(table)
    }

    async fn register_task_defs(&self, defs: Vec<TaskDef>) -> ApiResult<()> {
        if let Some(unnamed) = defs.iter().position(|d| d.name.is_empty()) {
            return Err(ApiError::bad_request(format!(
                "task definition {unnamed} has no name"
            )));
        }
        for def in &defs {
            self.catalog().put_task_def(def).map_err(table)?;
        }
        Ok(())
    }

    async fn task_def(&self, name: &str) -> ApiResult<TaskDef> {
        self.catalog()
            .task_def(name)
            .map_err(table)?
            .ok_or_else(|| ApiError::not_found(format!("no task definition '{name}'")))
    }

    async fn task_defs(&self) -> ApiResult<Vec<TaskDef>> {
        self.catalog().task_defs().map_err(table)
    }

    async fn remove_task_def(&self, name: &str) -> ApiResult<()> {
        if self.catalog().remove_task_def(name).map_err(table)? {
            Ok(())
        } else {
            Err(ApiError::not_found(format!("no task definition '{name}'")))
        }
    }

    async fn poll(
        &self,
        task_type: &str,
        worker_id: Option<&str>,
        count: usize,
        timeout: Duration,
    ) -> ApiResult<Vec<Value>> {
        let polled = self
            .poll_tasks(task_type, count, worker_id, timeout)
            .await?;
        Ok(polled
            .iter()
            .map(|p| conductor_task(&p.message, &p.delivery))
            .collect())
    }

    async fn update_task(&self, update: TaskUpdate) -> ApiResult<()> {
        let task_id = match queued_task(self, &update)? {
            Some(queued) => queued.task_id,
            None => update.task_id,
        };
        LocalHost::answer_task(self, &task_id, &update.result).await?;
        Ok(())
    }

    async fn retry(&self, workflow_id: &str, _resume_subworkflow_tasks: bool) -> ApiResult<()> {
        match LocalHost::retry(self, workflow_id) {
            Err(Error::Engine(EngineError::NotRedrivable { .. })) => Err(ApiError::conflict(
                "There are no retriable tasks! Use restart if you want to attempt entire \
                 workflow execution again.",
            )),
            other => other.map(drop).map_err(rerun_error),
        }
    }

    async fn restart(&self, workflow_id: &str, use_latest_definitions: bool) -> ApiResult<()> {
        LocalHost::restart(self, workflow_id, use_latest_definitions).map_err(rerun_error)
    }

    async fn task(&self, task_id: &str) -> ApiResult<Task> {
        let unknown = || ApiError::not_found(format!("no task '{task_id}'"));
        let id = TaskId::parse(task_id).ok_or_else(unknown)?;
        let workflow = match LocalHost::workflow(self, id.workflow_id()) {
            Err(Error::Engine(EngineError::UnknownExecution(_))) => return Err(unknown()),
            other => other?,
        };
        let reference = match id {
            TaskId::Polled { state, .. } => {
                let record = self
                    .engine()
                    .describe(id.workflow_id())
                    .map_err(Error::from)?;
                record.definition["taskMap"]["states"][state]["referenceTaskName"]
                    .as_str()
                    .map(str::to_owned)
            }
            TaskId::Listed { .. } => None,
        };
        find_task(&workflow, task_id, reference.as_deref()).ok_or_else(unknown)
    }

    async fn remove(&self, workflow_id: &str, _archive: bool) -> ApiResult<()> {
        let workflow = LocalHost::workflow(self, workflow_id)?;
        if workflow.status == "RUNNING" {
            return Err(ApiError::conflict(format!(
                "workflow '{workflow_id}' is running: terminate it first"
            )));
        }
        let store_error = |e: ocflow_store::Error| ApiError::internal(e.to_string());
        self.store()
            .remove_execution(workflow_id)
            .map_err(store_error)?;
        if let Some(queues) = self.worker_queues() {
            queues.remove_execution(workflow_id).map_err(table)?;
        }
        self.task_logs()
            .remove_workflow(workflow_id)
            .map_err(table)?;
        Ok(())
    }

    async fn remove_workflow_def(&self, name: &str, version: i64) -> ApiResult<()> {
        if self.unregister_definition(name, version)? {
            Ok(())
        } else {
            Err(ApiError::not_found(format!(
                "no workflow definition '{name}' version {version}"
            )))
        }
    }

    async fn queue_sizes(&self, task_types: &[String]) -> ApiResult<BTreeMap<String, u64>> {
        let mut sizes: BTreeMap<String, u64> = task_types.iter().map(|t| (t.clone(), 0)).collect();
        if let Some(queues) = self.worker_queues() {
            sizes.extend(queues.waiting(Some(task_types)).map_err(table)?);
        }
        Ok(sizes)
    }

    async fn queue_all(&self) -> ApiResult<BTreeMap<String, u64>> {
        match self.worker_queues() {
            Some(queues) => Ok(queues.waiting(None).map_err(table)?.into_iter().collect()),
            None => Ok(BTreeMap::new()),
        }
    }

    async fn health(&self) -> ApiResult<()> {
        let probe = ExecutionQuery {
            limit: 1,
            ..ExecutionQuery::default()
        };
        self.store()
            .search_executions(&probe)
            .map(drop)
            .map_err(|e| ApiError::internal(format!("the execution store does not answer: {e}")))
    }

    async fn add_task_logs(&self, task_id: &str, logs: Vec<TaskExecLog>) -> ApiResult<()> {
        let workflow_id = TaskId::parse(task_id).map_or("", |id| id.workflow_id());
        let lines: Vec<LogLine> = logs
            .into_iter()
            .map(|l| LogLine {
                log: l.log,
                created_time: l.created_time,
            })
            .collect();
        self.task_logs()
            .add(task_id, workflow_id, &lines)
            .map_err(table)
    }

    async fn task_logs(&self, task_id: &str) -> ApiResult<Vec<TaskExecLog>> {
        Ok(self
            .task_logs()
            .lines(task_id)
            .map_err(table)?
            .into_iter()
            .map(|l| TaskExecLog {
                log: l.log,
                task_id: task_id.to_owned(),
                created_time: l.created_time,
            })
            .collect())
    }

    async fn rerun(&self, workflow_id: &str, request: RerunWorkflowRequest) -> ApiResult<String> {
        let workflow = LocalHost::workflow(self, workflow_id)?;
        if let Some(input) = &request.workflow_input
            && Value::Object(input.clone()) != workflow.input
        {
            return Err(ApiError::conflict(format!(
                "workflow '{workflow_id}' can only be rerun with its original input: a rerun \
                 is a restart under the same id; start '{}' again for another input",
                workflow.workflow_name
            )));
        }
        if let Some(correlation_id) = &request.correlation_id
            && workflow.correlation_id.as_ref() != Some(correlation_id)
        {
            return Err(ApiError::conflict(format!(
                "workflow '{workflow_id}' keeps its correlation id on a rerun; start '{}' \
                 again for another one",
                workflow.workflow_name
            )));
        }
        LocalHost::restart(self, workflow_id, false).map_err(rerun_error)?;
        Ok(workflow_id.to_owned())
    }

    async fn update_task_and_poll(&self, update: TaskUpdate) -> ApiResult<Option<Value>> {
        let queued = queued_task(self, &update)?;
        let worker_id = update.worker_id.clone();
        WorkflowService::update_task(self, update).await?;
        let Some(queued) = queued else {
            return Ok(None);
        };
        let mut next = WorkflowService::poll(
            self,
            &queued.task_type,
            worker_id.as_deref(),
            1,
            Duration::ZERO,
        )
        .await?;
        Ok(next.pop())
    }
}
