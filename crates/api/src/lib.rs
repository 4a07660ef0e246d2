//! The Conductor-compatible REST API: one axum [`Router`] over a [`WorkflowService`], so that
//! Conductor clients and workers (conductor-python, the Java SDK, plain HTTP) work unchanged.
//! `ocflow serve` serves it over the embedded host; the endpoints are listed in the crate's
//! README.
//!
//! Pause and resume answer 409 with the reason (Step Functions executions cannot be paused);
//! retry (a redrive) and restart answer 204 like Conductor; errors come in Conductor's body
//! shape ([`ApiError`]).
//!
//! ```no_run
//! # #[cfg(feature = "local")]
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use ocflow_local::{LocalHost, LocalOptions};
//!
//! let host = LocalHost::open(LocalOptions { worker_queues: true, ..LocalOptions::default() })?;
//! let app = ocflow_api::router(Arc::new(host));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod error;
#[cfg(feature = "local")]
mod local;
pub mod model;
mod search;
mod service;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use ocflow_dsl::model::{TaskDef, WorkflowDef};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use error::ApiError;
use model::{StartWorkflowRequest, TaskUpdate, WorkflowStatus};
pub use search::WorkflowSearch;
pub use service::{ApiResult, WorkflowService};

/// The longest a batch poll may wait.
const MAX_POLL_WAIT: Duration = Duration::from_secs(20);

/// The router: every endpoint under `/api`, over `service`.
pub fn router<S: WorkflowService>(service: Arc<S>) -> Router {
    Router::new()
        .route("/api/workflow", post(start_request::<S>))
        .route("/api/workflow/search", get(search::<S>))
        .route(
            "/api/workflow/{id}",
            post(start_by_name::<S>)
                .get(workflow::<S>)
                .delete(terminate::<S>),
        )
        .route("/api/workflow/{id}/status", get(status::<S>))
        .route(
            "/api/workflow/{id}/correlated/{correlation_id}",
            get(correlated::<S>),
        )
        .route("/api/workflow/{id}/pause", put(pause))
        .route("/api/workflow/{id}/resume", put(resume))
        .route("/api/workflow/{id}/retry", post(retry::<S>))
        .route("/api/workflow/{id}/restart", post(restart::<S>))
        .route(
            "/api/metadata/workflow",
            get(workflow_defs::<S>)
                .post(register_workflow::<S>)
                .put(update_workflows::<S>),
        )
        .route("/api/metadata/workflow/{name}", get(workflow_def::<S>))
        .route(
            "/api/metadata/taskdefs",
            get(task_defs::<S>)
                .post(register_task_defs::<S>)
                .put(update_task_def::<S>),
        )
        .route(
            "/api/metadata/taskdefs/{name}",
            get(task_def::<S>).delete(remove_task_def::<S>),
        )
        .route("/api/tasks", post(update_task::<S>))
        .route("/api/tasks/update-v2", post(update_task_v2::<S>))
        .route(
            "/api/tasks/{workflow_id}/{task_ref}/{status}",
            post(update_by_reference::<S>),
        )
        .route(
            "/api/tasks/{workflow_id}/{task_ref}/{status}/sync",
            post(update_by_reference_sync::<S>),
        )
        .route("/api/tasks/poll/{task_type}", get(poll_one::<S>))
        .route("/api/tasks/poll/batch/{task_type}", get(poll_batch::<S>))
        .fallback(not_found)
        .with_state(service)
}

type Params = Query<HashMap<String, String>>;

fn flag(params: &HashMap<String, String>, name: &str, default: bool) -> bool {
    params
        .get(name)
        .map_or(default, |v| v.eq_ignore_ascii_case("true"))
}

fn number<T: std::str::FromStr>(
    params: &HashMap<String, String>,
    name: &str,
) -> ApiResult<Option<T>> {
    params
        .get(name)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError::bad_request(format!("query parameter {name} is not a number: {v}"))
            })
        })
        .transpose()
}

/// Reads a JSON body, treating explicit nulls of object members as absent (Conductor clients
/// send them).
fn body<T: DeserializeOwned>(text: &str) -> ApiResult<T> {
    let mut value: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    drop_nulls(&mut value);
    serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn text(body: String) -> Response {
    ([("content-type", "text/plain")], body).into_response()
}

async fn start_request<S: WorkflowService>(
    State(service): State<Arc<S>>,
    request: String,
) -> ApiResult<Response> {
    let request: StartWorkflowRequest = body(&request)?;
    Ok(text(service.start(request).await?))
}

async fn start_by_name<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(name): Path<String>,
    Query(params): Params,
    input: String,
) -> ApiResult<Response> {
    let input = if input.trim().is_empty() {
        serde_json::Map::new()
    } else {
        body(&input)?
    };
    let request = StartWorkflowRequest {
        name,
        version: number(&params, "version")?,
        correlation_id: params.get("correlationId").cloned(),
        idempotency_key: params.get("idempotencyKey").cloned(),
        idempotency_strategy: match params.get("idempotencyStrategy") {
            Some(s) => body(&format!("\"{s}\""))?,
            None => Default::default(),
        },
        priority: number(&params, "priority")?,
        input,
        workflow_def: None,
    };
    Ok(text(service.start(request).await?))
}

async fn workflow<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult<Response> {
    let include_tasks = flag(&params, "includeTasks", true);
    Ok(Json(service.workflow(&id, include_tasks).await?).into_response())
}

async fn status<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let workflow = service.workflow(&id, false).await?;
    Ok(Json(WorkflowStatus::from(&workflow)).into_response())
}

async fn terminate<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult<StatusCode> {
    let reason = params
        .get("reason")
        .map_or("terminated through the API", String::as_str);
    service.terminate(&id, reason).await?;
    Ok(StatusCode::OK)
}

async fn search<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Query(params): Params,
) -> ApiResult<Response> {
    let mut search = WorkflowSearch::parse(params.get("query").map_or("", String::as_str))?;
    if let Some(start) = number(&params, "start")? {
        search.start = start;
    }
    if let Some(size) = number(&params, "size")? {
        search.size = size;
    }
    Ok(Json(service.search(&search).await?).into_response())
}

async fn correlated<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path((name, correlation_id)): Path<(String, String)>,
    Query(params): Params,
) -> ApiResult<Response> {
    let include_closed = flag(&params, "includeClosed", false);
    let include_tasks = flag(&params, "includeTasks", false);
    let search = WorkflowSearch {
        workflow_type: Some(name),
        correlation_id: Some(correlation_id),
        status: (!include_closed).then(|| "RUNNING".to_owned()),
        size: 1000,
        ..WorkflowSearch::default()
    };
    let mut workflows = Vec::new();
    for summary in service.search(&search).await?.results {
        workflows.push(
            service
                .workflow(&summary.workflow_id, include_tasks)
                .await?,
        );
    }
    Ok(Json(workflows).into_response())
}

async fn pause(Path(id): Path<String>) -> ApiError {
    ApiError::conflict(format!(
        "workflow '{id}' cannot be paused: Step Functions executions have no pause; \
         terminate it and start it again instead"
    ))
}

async fn resume(Path(id): Path<String>) -> ApiError {
    ApiError::conflict(format!(
        "workflow '{id}' cannot be resumed: workflows are never paused (Step Functions \
         executions have no pause)"
    ))
}

async fn retry<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult<StatusCode> {
    let resume_subworkflow_tasks = flag(&params, "resumeSubworkflowTasks", false);
    service.retry(&id, resume_subworkflow_tasks).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn restart<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult<StatusCode> {
    let use_latest_definitions = flag(&params, "useLatestDefinitions", false);
    service.restart(&id, use_latest_definitions).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn register_workflow<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Query(params): Params,
    def: String,
) -> ApiResult<StatusCode> {
    let def: WorkflowDef = body(&def)?;
    service
        .register_workflow(def, flag(&params, "overwrite", false))
        .await?;
    Ok(StatusCode::OK)
}

async fn update_workflows<S: WorkflowService>(
    State(service): State<Arc<S>>,
    defs: String,
) -> ApiResult<Response> {
    let defs: Vec<WorkflowDef> = body(&defs)?;
    for def in defs {
        service.register_workflow(def, true).await?;
    }
    Ok(Json(json!({})).into_response())
}

async fn workflow_defs<S: WorkflowService>(State(service): State<Arc<S>>) -> ApiResult<Response> {
    Ok(Json(service.workflow_defs().await?).into_response())
}

async fn workflow_def<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(name): Path<String>,
    Query(params): Params,
) -> ApiResult<Response> {
    let version = number(&params, "version")?;
    Ok(Json(service.workflow_def(&name, version).await?).into_response())
}

async fn register_task_defs<S: WorkflowService>(
    State(service): State<Arc<S>>,
    defs: String,
) -> ApiResult<StatusCode> {
    let defs: Vec<TaskDef> = body(&defs)?;
    service.register_task_defs(defs).await?;
    Ok(StatusCode::OK)
}

async fn update_task_def<S: WorkflowService>(
    State(service): State<Arc<S>>,
    def: String,
) -> ApiResult<StatusCode> {
    let def: TaskDef = body(&def)?;
    service.register_task_defs(vec![def]).await?;
    Ok(StatusCode::OK)
}

async fn task_defs<S: WorkflowService>(State(service): State<Arc<S>>) -> ApiResult<Response> {
    Ok(Json(service.task_defs().await?).into_response())
}

async fn task_def<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(service.task_def(&name).await?).into_response())
}

async fn remove_task_def<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    service.remove_task_def(&name).await?;
    Ok(StatusCode::OK)
}

async fn poll_one<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(task_type): Path<String>,
    Query(params): Params,
) -> ApiResult<Response> {
    let worker_id = params.get("workerid").map(String::as_str);
    let mut tasks = service
        .poll(&task_type, worker_id, 1, Duration::ZERO)
        .await?;
    Ok(match tasks.pop() {
        Some(task) => Json(task).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

async fn poll_batch<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(task_type): Path<String>,
    Query(params): Params,
) -> ApiResult<Response> {
    let worker_id = params.get("workerid").map(String::as_str);
    let count = number::<usize>(&params, "count")?
        .unwrap_or(1)
        .clamp(1, 100);
    let timeout =
        Duration::from_millis(number::<u64>(&params, "timeout")?.unwrap_or(100)).min(MAX_POLL_WAIT);
    let tasks = service.poll(&task_type, worker_id, count, timeout).await?;
    Ok(Json(tasks).into_response())
}

async fn update_task<S: WorkflowService>(
    State(service): State<Arc<S>>,
    update: String,
) -> ApiResult<Response> {
    let update: TaskUpdate = body(&update)?;
    let task_id = update.task_id.clone();
    service.update_task(update).await?;
    Ok(text(task_id))
}

/// Conductor's `update-v2`: applies the result and answers with the worker's next task of the
/// same type, or 204 when none is waiting.
async fn update_task_v2<S: WorkflowService>(
    State(service): State<Arc<S>>,
    update: String,
) -> ApiResult<Response> {
    let update: TaskUpdate = body(&update)?;
    Ok(match service.update_task_and_poll(update).await? {
        Some(task) => Json(task).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// How long the `/sync` update by reference waits for the workflow to take the result in.
const SYNC_WAIT: Duration = Duration::from_secs(2);

/// Applies `status` and `output` to the pending task `task_ref` of `workflow_id` (Conductor's
/// update by reference name, as used for WAIT and HUMAN tasks); returns the task's id and its
/// place in the workflow's task list.
async fn update_pending<S: WorkflowService>(
    service: &S,
    (workflow_id, task_ref, status): (String, String, String),
    params: &HashMap<String, String>,
    output: &str,
) -> ApiResult<(String, usize)> {
    let output: Value = if output.trim().is_empty() {
        json!({})
    } else {
        body(output)?
    };
    let workflow = service.workflow(&workflow_id, true).await?;
    let (index, pending) = workflow
        .tasks
        .iter()
        .enumerate()
        .rev()
        .find(|(_, t)| {
            t.reference_task_name == task_ref
                && matches!(t.status.as_str(), "SCHEDULED" | "IN_PROGRESS")
        })
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "found no running task {task_ref} of workflow {workflow_id} to update"
            ))
        })?;
    let update: TaskUpdate = body(
        &json!({
            "taskId": pending.task_id,
            "workflowInstanceId": workflow_id,
            "workerId": params.get("workerid"),
            "status": status,
            "outputData": output,
        })
        .to_string(),
    )?;
    let task_id = update.task_id.clone();
    service.update_task(update).await?;
    Ok((task_id, index))
}

/// `POST /api/tasks/{workflowId}/{taskRefName}/{status}`: answers the task's id (text).
async fn update_by_reference<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(path): Path<(String, String, String)>,
    Query(params): Params,
    output: String,
) -> ApiResult<Response> {
    let (task_id, _) = update_pending(&*service, path, &params, &output).await?;
    Ok(text(task_id))
}

/// `POST /api/tasks/{workflowId}/{taskRefName}/{status}/sync`: answers the workflow once the
/// task shows the result (or after [`SYNC_WAIT`]).
async fn update_by_reference_sync<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(path): Path<(String, String, String)>,
    Query(params): Params,
    output: String,
) -> ApiResult<Response> {
    let workflow_id = path.0.clone();
    let (_, index) = update_pending(&*service, path, &params, &output).await?;
    let deadline = tokio::time::Instant::now() + SYNC_WAIT;
    loop {
        let workflow = service.workflow(&workflow_id, true).await?;
        let taken = workflow
            .tasks
            .get(index)
            .is_none_or(|t| !matches!(t.status.as_str(), "SCHEDULED" | "IN_PROGRESS"));
        if taken || tokio::time::Instant::now() >= deadline {
            return Ok(Json(workflow).into_response());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

#[cfg(all(test, feature = "local"))]
mod tests;
#[cfg(all(test, feature = "local"))]
mod tests_compat;
#[cfg(all(test, feature = "local"))]
mod tests_rerun;
