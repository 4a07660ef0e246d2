//! Router tests over the embedded host, one request at a time.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_support::{Api, media};

#[tokio::test]
async fn start_poll_complete_get_search() {
    let api = Api::new();
    let (status, _) = api
        .call(Method::POST, "/api/metadata/workflow", Some(media(1)))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, text) = api
        .call(Method::POST, "/api/metadata/workflow", Some(media(1)))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{text}");
    assert_eq!(
        api.json(Method::GET, "/api/metadata/workflow/media", None)
            .await["version"],
        1
    );

    let (status, id) = api
        .call(
            Method::POST,
            "/api/workflow/media?correlationId=c-1",
            Some(json!({"file": "a.mp4"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{id}");

    let tasks = api
        .json(
            Method::GET,
            "/api/tasks/poll/batch/encode?count=2&timeout=5000&workerid=w-1",
            None,
        )
        .await;
    let task = &tasks[0];
    assert_eq!(task["workflowInstanceId"], id.as_str());
    assert_eq!(task["inputData"]["file"], "a.mp4");
    assert_eq!(task["pollCount"], 1);
    let (status, _) = api.call(Method::GET, "/api/tasks/poll/encode", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "the polled task is hidden");

    let running = api
        .json(
            Method::GET,
            "/api/workflow/search?query=workflowType%3Dmedia%20AND%20status%3DRUNNING",
            None,
        )
        .await;
    assert_eq!(running["totalHits"], 1);
    assert_eq!(running["results"][0]["workflowId"], id.as_str());
    let correlated = api
        .json(Method::GET, "/api/workflow/media/correlated/c-1", None)
        .await;
    assert_eq!(correlated[0]["workflowId"], id.as_str());

    let (status, text) = api
        .call(
            Method::POST,
            "/api/tasks",
            Some(json!({"taskId": task["taskId"], "workflowInstanceId": id,
                        "status": "COMPLETED", "outputData": {"size": 3}, "logs": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");

    let mut workflow = Value::Null;
    for _ in 0..200 {
        workflow = api
            .json(
                Method::GET,
                &format!("/api/workflow/{id}?includeTasks=true"),
                None,
            )
            .await;
        if workflow["status"] != "RUNNING" {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(workflow["status"], "COMPLETED");
    assert_eq!(workflow["output"]["size"], 3);
    assert_eq!(workflow["tasks"][0]["status"], "COMPLETED");
    let status = api
        .json(Method::GET, &format!("/api/workflow/{id}/status"), None)
        .await;
    assert_eq!(status["status"], "COMPLETED");
}

#[tokio::test]
async fn idempotency_terminate_and_errors() {
    let api = Api::new();
    api.call(Method::POST, "/api/metadata/workflow", Some(media(1)))
        .await;
    let request = json!({"name": "media", "input": {"file": "b"}, "idempotencyKey": "k-1",
                         "idempotencyStrategy": "RETURN_EXISTING"});
    let (_, first) = api
        .call(Method::POST, "/api/workflow", Some(request.clone()))
        .await;
    let (status, again) = api.call(Method::POST, "/api/workflow", Some(request)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first, again);
    let (status, body) = api
        .call(
            Method::POST,
            "/api/workflow",
            Some(json!({"name": "media", "idempotencyKey": "k-1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("/api/workflow/{first}?reason=stop"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let workflow = api
        .json(Method::GET, &format!("/api/workflow/{first}"), None)
        .await;
    assert_eq!(workflow["status"], "TERMINATED");
    let (status, _) = api.call(Method::GET, "/api/tasks/poll/encode", None).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "a terminated workflow's task is dropped"
    );
    let (status, _) = api
        .call(Method::DELETE, &format!("/api/workflow/{first}"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, body) = api.call(Method::GET, "/api/workflow/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["status"], 404);
    assert_eq!(error["retryable"], false);
    assert!(error["message"].as_str().unwrap().contains("nope"));

    let (status, body) = api
        .call(Method::PUT, &format!("/api/workflow/{first}/pause"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("no pause"));
    let (status, _) = api
        .call(Method::POST, "/api/workflow/unknown", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api
        .call(
            Method::POST,
            "/api/metadata/workflow",
            Some(json!({"name": "bad", "tasks": [{"type": "SIMPLE"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn task_definitions_round_trip() {
    let api = Api::new();
    let (status, _) = api
        .call(
            Method::POST,
            "/api/metadata/taskdefs",
            Some(json!([{"name": "encode", "retryCount": 2, "responseTimeoutSeconds": 30}])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let def = api
        .json(Method::GET, "/api/metadata/taskdefs/encode", None)
        .await;
    assert_eq!(def["retryCount"], 2);
    assert_eq!(
        api.json(Method::GET, "/api/metadata/taskdefs", None)
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let (status, _) = api
        .call(Method::DELETE, "/api/metadata/taskdefs/encode", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .call(Method::GET, "/api/metadata/taskdefs/encode", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
