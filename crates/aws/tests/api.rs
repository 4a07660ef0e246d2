//! The Conductor REST API on AWS: `ocflow_api::router` over [`AwsWorkflowService`] on moto,
//! driven through HTTP requests as a Conductor client sends them (register, start twice with
//! one idempotency key, a worker's poll and answer, get, status, search, correlated search,
//! terminate).

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use ocflow_aws::service::{ApiSettings, AwsWorkflowService, Registration};
use ocflow_aws::table;
use ocflow_control::directory::Directory;
use ocflow_control::execution::Retention;
use serde_json::{Value, json};
use support::{sdk_config, unique};
use tower::ServiceExt;

const ACCOUNT_PREFIX: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:";

/// A deployment on moto: its table and worker queue, and the router over it.
async fn deployment() -> Router {
    let config = sdk_config().await;
    let stack = unique("api");
    let table_name = format!("{stack}-executions");
    table::create_table(&aws_sdk_dynamodb::Client::new(&config), &table_name)
        .await
        .expect("table created");
    let worker_queue_prefix = format!("{stack}-worker-");
    aws_sdk_sqs::Client::new(&config)
        .create_queue()
        .queue_name(format!("{worker_queue_prefix}encode"))
        .send()
        .await
        .expect("worker queue created");
    let arn_prefix = format!("{ACCOUNT_PREFIX}{stack}");
    let settings = ApiSettings {
        executions_table: table_name,
        retention: Retention::DEFAULT,
        directory: Directory::new().with_prefix(&arn_prefix),
        state_machine_arn_prefix: Some(arn_prefix),
        worker_queue_prefix: Some(worker_queue_prefix),
        registration: Some(Registration {
            role_arn: "arn:aws:iam::123456789012:role/ocflow-machines".into(),
            ..Registration::default()
        }),
    };
    ocflow_api::router(Arc::new(AwsWorkflowService::new(&config, settings)))
}

/// Sends one request; the status and the body as text.
async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn get_json(app: &Router, uri: &str) -> Value {
    let (status, body) = call(app, Method::GET, uri, None).await;
    assert_eq!(status, StatusCode::OK, "GET {uri}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {uri}: {e}: {body}"))
}

/// Polls until `GET /api/workflow/{id}` leaves RUNNING (up to 30 s).
async fn ended(app: &Router, id: &str) -> Value {
    for _ in 0..300 {
        let workflow = get_json(app, &format!("/api/workflow/{id}")).await;
        if workflow["status"] != "RUNNING" {
            return workflow;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("workflow {id} still running after 30 s");
}

/// Polls the worker endpoint until a task of `task_type` arrives (up to 40 one-second polls).
async fn poll_task(app: &Router, task_type: &str) -> Value {
    for _ in 0..40 {
        let tasks = get_json(
            app,
            &format!("/api/tasks/poll/batch/{task_type}?workerid=w-1&count=1&timeout=1000"),
        )
        .await;
        if let Some(task) = tasks.as_array().and_then(|t| t.first()) {
            return task.clone();
        }
    }
    panic!("no {task_type} task arrived");
}

/// Registers a workflow definition; it must be accepted.
async fn register(app: &Router, definition: Value) {
    let (status, body) = call(
        app,
        Method::POST,
        "/api/metadata/workflow",
        Some(definition),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn media_workflow() -> Value {
    json!({
        "name": "media", "version": 1, "schemaVersion": 2,
        "tasks": [{"name": "encode", "taskReferenceName": "encode_ref", "type": "SIMPLE",
                   "inputParameters": {"file": "${workflow.input.file}"}}],
        "outputParameters": {"size": "${encode_ref.output.size}"}
    })
}

#[tokio::test]
async fn a_registered_workflow_runs_through_the_api_with_a_worker() {
    let app = deployment().await;
    register(&app, media_workflow()).await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/metadata/workflow",
        Some(media_workflow()),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "the same version twice");
    let def = get_json(&app, "/api/metadata/workflow/media").await;
    assert_eq!(def["tasks"][0]["taskReferenceName"], "encode_ref");

    let start = "/api/workflow/media?idempotencyKey=order-7&correlationId=c-7&idempotencyStrategy=RETURN_EXISTING";
    let (status, id) = call(&app, Method::POST, start, Some(json!({"file": "a.mp4"}))).await;
    assert_eq!(status, StatusCode::OK, "{id}");
    let (status, again) = call(&app, Method::POST, start, Some(json!({"file": "b.mp4"}))).await;
    assert_eq!((status, again.as_str()), (StatusCode::OK, id.as_str()));
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/workflow",
        Some(json!({"name": "media", "idempotencyKey": "order-7", "input": {}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "strategy FAIL: {body}");

    let running = get_json(&app, &format!("/api/workflow/{id}/status")).await;
    assert_eq!(running["status"], "RUNNING");
    assert_eq!(running["correlationId"], "c-7");

    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/api/workflow/{id}/retry"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("still running"), "{body}");
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/api/workflow/{id}/restart"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let task = poll_task(&app, "encode").await;
    assert_eq!(task["workflowInstanceId"], json!(id));
    assert_eq!(task["referenceTaskName"], "encode_ref");
    assert_eq!(
        task["inputData"],
        json!({"file": "a.mp4"}),
        "one execution, the first start's input"
    );
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/tasks",
        Some(json!({
            "taskId": task["taskId"], "workflowInstanceId": id, "workerId": "w-1",
            "status": "COMPLETED", "outputData": {"size": 3}
        })),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, task["taskId"].as_str().unwrap())
    );
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/tasks",
        Some(json!({"taskId": task["taskId"], "status": "COMPLETED"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a task is answered once");

    let workflow = ended(&app, &id).await;
    assert_eq!(workflow["status"], "COMPLETED", "{workflow}");
    assert_eq!(workflow["output"], json!({"size": 3}));
    assert_eq!(workflow["input"], json!({"file": "a.mp4"}));
    assert_eq!(workflow["workflowName"], "media");
    assert_eq!(workflow["workflowVersion"], 1);
    assert_eq!(workflow["correlationId"], "c-7");
    let tasks = workflow["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{workflow}");
    assert_eq!(tasks[0]["referenceTaskName"], "encode_ref");
    assert_eq!(tasks[0]["taskType"], "encode");
    assert_eq!(tasks[0]["status"], "COMPLETED");
    assert_eq!(tasks[0]["inputData"], json!({"file": "a.mp4"}));
    assert_eq!(tasks[0]["outputData"], json!({"size": 3}));
    let status = get_json(&app, &format!("/api/workflow/{id}/status")).await;
    assert_eq!(status["status"], "COMPLETED");
    assert_eq!(status["output"], json!({"size": 3}));

    let found = get_json(
        &app,
        "/api/workflow/search?query=workflowType%20IN%20(media)%20AND%20status%20IN%20(COMPLETED)",
    )
    .await;
    assert_eq!(found["totalHits"], 1, "{found}");
    assert_eq!(found["results"][0]["workflowId"], json!(id));
    assert_eq!(found["results"][0]["status"], "COMPLETED");
    let none = get_json(
        &app,
        "/api/workflow/search?query=workflowType%20%3D%20media%20AND%20status%20%3D%20RUNNING",
    )
    .await;
    assert_eq!(none["totalHits"], 0, "{none}");
    let correlated = get_json(
        &app,
        "/api/workflow/media/correlated/c-7?includeClosed=true&includeTasks=false",
    )
    .await;
    assert_eq!(correlated.as_array().map(Vec::len), Some(1), "{correlated}");
    assert_eq!(correlated[0]["workflowId"], json!(id));
    let open_only = get_json(&app, "/api/workflow/media/correlated/c-7").await;
    assert_eq!(open_only, json!([]));
}

#[tokio::test]
async fn a_waiting_workflow_is_terminated_once() {
    let app = deployment().await;
    // A timed WAIT: moto ends a stopped execution's Wait state at once (not a task-token wait).
    let pause = json!({
        "name": "pause", "version": 1, "schemaVersion": 2,
        "tasks": [{"name": "hold", "taskReferenceName": "hold", "type": "WAIT",
                   "inputParameters": {"duration": "10 minutes"}}]
    });
    register(&app, pause).await;
    let (status, id) = call(
        &app,
        Method::POST,
        "/api/workflow/pause",
        Some(json!({"file": "c.mp4"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{id}");
    let found = get_json(&app, "/api/workflow/search?query=status%3DRUNNING").await;
    assert!(
        found["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["workflowId"] == json!(id)),
        "{found}"
    );

    let (status, body) = call(
        &app,
        Method::DELETE,
        &format!("/api/workflow/{id}?reason=no%20longer%20needed"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // moto stops the execution's thread asynchronously; Step Functions answers ABORTED at once.
    let workflow = ended(&app, &id).await;
    assert_eq!(workflow["status"], "TERMINATED", "{workflow}");
    // moto 5.2.5 drops StopExecution's cause, so `reasonForIncompletion` is not checked here.
    let (status, _) = call(&app, Method::DELETE, &format!("/api/workflow/{id}"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "it has ended");

    let (status, _) = call(&app, Method::GET, "/api/workflow/no-such-id", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/workflow/workflowDef%23media%231",
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "definition rows are not workflows"
    );
}

#[tokio::test]
async fn tasks_logs_queues_lists_removal_and_definitions_by_version() {
    let app = deployment().await;
    let health = get_json(&app, "/api/health").await;
    assert_eq!(health["healthy"], true, "{health}");
    register(&app, media_workflow()).await;
    let (status, id) = call(
        &app,
        Method::POST,
        "/api/workflow/media?correlationId=c-9",
        Some(json!({"file": "a.mp4"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{id}");

    let mut sizes = Value::Null;
    for _ in 0..100 {
        sizes = get_json(
            &app,
            "/api/tasks/queue/sizes?taskType=encode&taskType=resize",
        )
        .await;
        if sizes["encode"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        sizes,
        json!({"encode": 1, "resize": 0}),
        "resize has no queue"
    );
    let (status, body) = call(&app, Method::GET, "/api/tasks/queue/all", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        get_json(&app, "/api/workflow/running/media").await,
        json!([id])
    );
    let correlated = call(
        &app,
        Method::POST,
        "/api/workflow/media/correlated",
        Some(json!(["c-9", "c-0"])),
    )
    .await;
    let correlated: Value = serde_json::from_str(&correlated.1).unwrap();
    assert_eq!(
        correlated["c-9"][0]["workflowId"],
        json!(id),
        "{correlated}"
    );
    assert_eq!(correlated["c-0"], json!([]));
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/workflow/{id}/remove"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "it runs");

    let task = poll_task(&app, "encode").await;
    let polled_id = task["taskId"].as_str().unwrap().replace('/', "%2F");
    let by_poll_id = get_json(&app, &format!("/api/tasks/{polled_id}")).await;
    assert_eq!(
        by_poll_id["referenceTaskName"], "encode_ref",
        "{by_poll_id}"
    );
    let listed_id = by_poll_id["taskId"].as_str().unwrap().to_owned();
    assert_eq!(listed_id, format!("{id}-1"));
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/tasks/{polled_id}/log"),
        Some(json!("encoding")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/tasks",
        Some(json!({
            "taskId": task["taskId"], "workflowInstanceId": id, "status": "COMPLETED",
            "outputData": {"size": 3}, "logs": [{"log": "encoded", "createdTime": 5}]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ended(&app, &id).await["status"], "COMPLETED");
    let done = get_json(&app, &format!("/api/tasks/{listed_id}")).await;
    assert_eq!(done["status"], "COMPLETED");
    let logs = get_json(&app, &format!("/api/tasks/{listed_id}/log")).await;
    assert_eq!(logs[0]["log"], "encoding", "{logs}");
    assert_eq!(
        logs[1],
        json!({"log": "encoded", "taskId": listed_id, "createdTime": 5})
    );
    let (status, _) = call(&app, Method::GET, &format!("/api/tasks/{id}-7"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/api/workflow/{id}/rerun"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("/api/workflow/decide/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &app,
        Method::DELETE,
        &format!("/api/workflow/{id}/remove"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = call(&app, Method::GET, &format!("/api/workflow/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "removed");

    let mut second = media_workflow();
    second["version"] = json!(2);
    register(&app, second).await;
    assert_eq!(
        get_json(&app, "/api/metadata/workflow/media").await["version"],
        2
    );
    assert_eq!(
        get_json(&app, "/api/metadata/workflow/media?version=1").await["version"],
        1
    );
    let (status, body) = call(&app, Method::DELETE, "/api/metadata/workflow/media/2", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        get_json(&app, "/api/metadata/workflow/media").await["version"],
        1
    );
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/metadata/workflow/media?version=2",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, Method::DELETE, "/api/metadata/workflow/media/2", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
