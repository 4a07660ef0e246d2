//! The Conductor-compatible REST API: one axum [`Router`] over a [`WorkflowService`], so that
//! Conductor clients and workers (conductor-python, the Java SDK, plain HTTP) work unchanged.
//! `ocflow serve` serves it over the embedded host; the endpoints are listed in the crate's
//! README.
//!
//! Pause, resume and skip-task answer 409 with the reason (Step Functions executions cannot be
//! paused, nor told to pass a state by); rerun runs from the beginning only; retry (a redrive)
//! and restart answer 204 like Conductor; decide is a no-op (the engine decides continuously);
//! errors come in Conductor's body shape ([`ApiError`]). A task is found by either of its ids
//! ([`task`]).
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
pub mod task;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use ocflow_dsl::model::{TaskDef, WorkflowDef};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use error::ApiError;
use model::{RerunWorkflowRequest, StartWorkflowRequest, TaskExecLog, TaskUpdate, WorkflowStatus};
use ocflow_engine::conductor::Workflow;
pub use search::WorkflowSearch;
pub use service::{ApiResult, WorkflowService};

/// The longest a batch poll may wait.
const MAX_POLL_WAIT: Duration = Duration::from_secs(20);

/// The router: every endpoint under `/api` (and `/health`), over `service`.
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
        .route("/api/workflow/{id}/remove", delete(remove::<S>))
        .route("/api/workflow/{id}/correlated", post(correlated_batch::<S>))
        .route("/api/workflow/running/{name}", get(running::<S>))
        .route("/api/workflow/decide/{id}", put(decide::<S>))
        .route("/api/workflow/{id}/rerun", post(rerun::<S>))
        .route(
            "/api/workflow/{id}/skiptask/{task_ref}",
            put(skip_task::<S>),
        )
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
            "/api/metadata/workflow/{name}/{version}",
            delete(remove_workflow_def::<S>),
        )
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
        .route("/api/tasks/{workflow_id}", get(task::<S>))
        .route(
            "/api/tasks/{workflow_id}/log",
            get(task_logs::<S>).post(add_task_log::<S>),
        )
        .route("/api/tasks/queue/sizes", get(queue_sizes::<S>))
        .route("/api/tasks/queue/size", get(queue_size::<S>))
        .route("/api/tasks/queue/all", get(queue_all::<S>))
        .route("/health", get(health::<S>))
        .route("/api/health", get(health::<S>))
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
    let workflows = correlated_workflows(
        &*service,
        &name,
        &correlation_id,
        include_closed,
        include_tasks,
    )
    .await?;
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
    let mut update: TaskUpdate = body(&update)?;
    let task_id = update.task_id.clone();
    let logs = std::mem::take(&mut update.logs);
    service.update_task(update).await?;
    keep_logs(&*service, &task_id, logs).await?;
    Ok(text(task_id))
}

/// The id a task's logs are kept under: the one its workflow lists, so that lines written with
/// the id a poll handed out show beside the task (a task no workflow lists keeps the id given).
async fn log_key<S: WorkflowService>(service: &S, task_id: &str) -> String {
    match task::TaskId::parse(task_id) {
        Some(task::TaskId::Polled { .. }) => service
            .task(task_id)
            .await
            .map_or_else(|_| task_id.to_owned(), |t| t.task_id),
        _ => task_id.to_owned(),
    }
}

/// Keeps the log lines a worker sent with its result.
async fn keep_logs<S: WorkflowService>(
    service: &S,
    task_id: &str,
    logs: Vec<TaskExecLog>,
) -> ApiResult<()> {
    if logs.is_empty() {
        return Ok(());
    }
    let key = log_key(service, task_id).await;
    let logs = logs.into_iter().map(|l| log_line(&key, l)).collect();
    service.add_task_logs(&key, logs).await
}

/// Conductor's `update-v2`: applies the result and answers with the worker's next task of the
/// same type, or 204 when none is waiting.
async fn update_task_v2<S: WorkflowService>(
    State(service): State<Arc<S>>,
    update: String,
) -> ApiResult<Response> {
    let mut update: TaskUpdate = body(&update)?;
    let task_id = update.task_id.clone();
    let logs = std::mem::take(&mut update.logs);
    let next = service.update_task_and_poll(update).await?;
    keep_logs(&*service, &task_id, logs).await?;
    Ok(match next {
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

/// `GET /api/tasks/{taskId}`: the task as its workflow lists it.
async fn task<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(task_id): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(service.task(&task_id).await?).into_response())
}

/// The longest log line kept; longer ones are cut (at a character boundary).
pub const MAX_LOG_LINE_BYTES: usize = 8 * 1024;

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A log line as kept: about `task_id`, stamped now unless the client did, at most
/// [`MAX_LOG_LINE_BYTES`].
fn log_line(task_id: &str, mut log: TaskExecLog) -> TaskExecLog {
    if log.log.len() > MAX_LOG_LINE_BYTES {
        let mut end = MAX_LOG_LINE_BYTES;
        while !log.log.is_char_boundary(end) {
            end -= 1;
        }
        log.log.truncate(end);
    }
    log.task_id = task_id.to_owned();
    if log.created_time <= 0 {
        log.created_time = now_millis();
    }
    log
}

/// `POST /api/tasks/{taskId}/log`: the body is the line, as a JSON string (what Conductor's
/// clients send) or as plain text.
async fn add_task_log<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(task_id): Path<String>,
    line: String,
) -> ApiResult<StatusCode> {
    let line = match serde_json::from_str::<Value>(&line) {
        Ok(Value::String(text)) => text,
        _ => line,
    };
    let key = log_key(&*service, &task_id).await;
    let log = log_line(
        &key,
        TaskExecLog {
            log: line,
            task_id: String::new(),
            created_time: 0,
        },
    );
    service.add_task_logs(&key, vec![log]).await?;
    Ok(StatusCode::OK)
}

/// `GET /api/tasks/{taskId}/log`: the lines kept, oldest first.
async fn task_logs<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(task_id): Path<String>,
) -> ApiResult<Response> {
    let key = log_key(&*service, &task_id).await;
    Ok(Json(service.task_logs(&key).await?).into_response())
}

/// The `taskType` query parameters, repeated (`?taskType=a&taskType=b`) or comma-separated.
fn task_types(query: Option<&str>) -> Vec<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(name, _)| name == "taskType")
        .flat_map(|(_, value)| {
            value
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `GET /api/tasks/queue/sizes?taskType=a&taskType=b`: `{"a": n, "b": m}`, the tasks waiting
/// for a worker.
async fn queue_sizes<S: WorkflowService>(
    State(service): State<Arc<S>>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let types = task_types(query.as_deref());
    Ok(Json(service.queue_sizes(&types).await?).into_response())
}

/// `GET /api/tasks/queue/size?taskType=a`: the number alone.
async fn queue_size<S: WorkflowService>(
    State(service): State<Arc<S>>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let types = task_types(query.as_deref());
    let [task_type] = types.as_slice() else {
        return Err(ApiError::bad_request(
            "GET /api/tasks/queue/size needs one taskType query parameter",
        ));
    };
    let sizes = service.queue_sizes(std::slice::from_ref(task_type)).await?;
    Ok(Json(sizes.get(task_type).copied().unwrap_or(0)).into_response())
}

/// `GET /api/tasks/queue/all`: every queue's waiting tasks.
async fn queue_all<S: WorkflowService>(State(service): State<Arc<S>>) -> ApiResult<Response> {
    Ok(Json(service.queue_all().await?).into_response())
}

/// `GET /health`, `GET /api/health`: Conductor's health check body (and the `status` of a
/// Spring health endpoint); 503 when the backend's store does not answer.
async fn health<S: WorkflowService>(State(service): State<Arc<S>>) -> Response {
    match service.health().await {
        Ok(()) => Json(json!({
            "healthy": true,
            "status": "UP",
            "healthResults": [],
            "suppressedHealthResults": [],
        }))
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "healthy": false,
                "status": "DOWN",
                "healthResults": [{"healthy": false, "details": {"error": e.message}}],
                "suppressedHealthResults": [],
            })),
        )
            .into_response(),
    }
}

/// `GET /api/workflow/running/{name}?version=&startTime=&endTime=`: ids of the workflow's
/// RUNNING executions of `version` (1 when absent, as Conductor's default), started within
/// `[startTime, endTime]` when those are given; newest first.
async fn running<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(name): Path<String>,
    Query(params): Params,
) -> ApiResult<Response> {
    let version: u32 = number(&params, "version")?.unwrap_or(1);
    let search = WorkflowSearch {
        workflow_type: Some(name),
        status: Some("RUNNING".to_owned()),
        started_after: number::<i64>(&params, "startTime")?.map(|t| t.saturating_sub(1)),
        started_before: number::<i64>(&params, "endTime")?.map(|t| t.saturating_add(1)),
        size: RUNNING_LIMIT,
        ..WorkflowSearch::default()
    };
    let ids: Vec<String> = service
        .search(&search)
        .await?
        .results
        .into_iter()
        .filter(|w| w.version == version)
        .map(|w| w.workflow_id)
        .collect();
    Ok(Json(ids).into_response())
}

/// The most workflows `running` and the correlated searches list.
const RUNNING_LIMIT: usize = 10_000;

/// The workflows of `name` with `correlation_id` (only RUNNING ones unless `include_closed`).
async fn correlated_workflows<S: WorkflowService>(
    service: &S,
    name: &str,
    correlation_id: &str,
    include_closed: bool,
    include_tasks: bool,
) -> ApiResult<Vec<Workflow>> {
    let search = WorkflowSearch {
        workflow_type: Some(name.to_owned()),
        correlation_id: Some(correlation_id.to_owned()),
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
    Ok(workflows)
}

/// `POST /api/workflow/{name}/correlated?includeClosed=&includeTasks=`, body = correlation
/// ids: correlation id → its workflows.
async fn correlated_batch<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(name): Path<String>,
    Query(params): Params,
    ids: String,
) -> ApiResult<Response> {
    let ids: Vec<String> = body(&ids)?;
    let include_closed = flag(&params, "includeClosed", false);
    let include_tasks = flag(&params, "includeTasks", false);
    let mut found = serde_json::Map::new();
    for id in ids {
        let workflows =
            correlated_workflows(&*service, &name, &id, include_closed, include_tasks).await?;
        found.insert(id, serde_json::to_value(workflows).unwrap_or_default());
    }
    Ok(Json(found).into_response())
}

/// `DELETE /api/workflow/{id}/remove?archiveWorkflow=`.
async fn remove<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(id): Path<String>,
    Query(params): Params,
) -> ApiResult<StatusCode> {
    let archive = flag(&params, "archiveWorkflow", true);
    service.remove(&id, archive).await?;
    Ok(StatusCode::OK)
}

/// `PUT /api/workflow/decide/{id}`: nothing to do, the engine (or Step Functions) decides as
/// soon as anything happens; 200 for a known workflow, as Conductor answers.
async fn decide<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    service.workflow(&id, false).await?;
    Ok(StatusCode::OK)
}

/// `POST /api/workflow/{id}/rerun`: from the beginning only (a restart); answers the id.
async fn rerun<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path(id): Path<String>,
    request: String,
) -> ApiResult<Response> {
    let request: RerunWorkflowRequest = if request.trim().is_empty() {
        RerunWorkflowRequest::default()
    } else {
        body(&request)?
    };
    let from_task = request
        .re_run_from_task_id
        .as_deref()
        .filter(|t| !t.is_empty());
    if from_task.is_some() || request.task_input.is_some() {
        service.workflow(&id, false).await?;
        return Err(ApiError::conflict(format!(
            "workflow '{id}' cannot be rerun from task '{}': a Step Functions execution cannot \
             be entered at a chosen state with the history before it kept; retry it (runs \
             again what did not complete) or rerun it from the beginning (no reRunFromTaskId)",
            from_task.unwrap_or_default()
        )));
    }
    Ok(text(service.rerun(&id, request).await?))
}

/// `PUT /api/workflow/{id}/skiptask/{taskReferenceName}`: refused (409) with the reason.
async fn skip_task<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path((id, task_ref)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    service.workflow(&id, false).await?;
    Err(ApiError::conflict(format!(
        "task '{task_ref}' of workflow '{id}' cannot be skipped: a Step Functions execution \
         runs every state on its path and cannot be told to pass one by; complete a pending \
         task instead (POST /api/tasks/{id}/{task_ref}/COMPLETED)"
    )))
}

/// `DELETE /api/metadata/workflow/{name}/{version}`.
async fn remove_workflow_def<S: WorkflowService>(
    State(service): State<Arc<S>>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let version: i64 = version
        .parse()
        .map_err(|_| ApiError::bad_request(format!("the version is not a number: {version}")))?;
    service.remove_workflow_def(&name, version).await?;
    Ok(StatusCode::OK)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

#[cfg(all(test, feature = "local"))]
mod test_support;
#[cfg(all(test, feature = "local"))]
mod tests;
#[cfg(all(test, feature = "local"))]
mod tests_compat;
#[cfg(all(test, feature = "local"))]
mod tests_endpoints;
#[cfg(all(test, feature = "local"))]
mod tests_rerun;
