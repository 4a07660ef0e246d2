//! Retry (a redrive) and restart through the router, over the embedded host.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_support::Api;

impl Api {
    async fn workflow(&self, id: &str) -> Value {
        let (status, text) = self
            .call(Method::GET, &format!("/api/workflow/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// The workflow once it is no longer RUNNING.
    async fn ended(&self, id: &str) -> Value {
        for _ in 0..500 {
            let workflow = self.workflow(id).await;
            if workflow["status"] != "RUNNING" {
                return workflow;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("workflow {id} did not end");
    }

    /// Polls one `encode` task and answers it with `status`.
    async fn answer(&self, status: &str, output: Value) {
        let mut task = Value::Null;
        for _ in 0..500 {
            let (code, text) = self.call(Method::GET, "/api/tasks/poll/encode", None).await;
            if code == StatusCode::OK {
                task = serde_json::from_str(&text).unwrap();
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!task.is_null(), "no encode task was queued");
        let (code, text) = self
            .call(
                Method::POST,
                "/api/tasks",
                Some(json!({"taskId": task["taskId"], "workflowInstanceId": task["workflowInstanceId"],
                            "status": status, "outputData": output,
                            "reasonForIncompletion": "encoder crashed"})),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{text}");
    }
}

async fn api_with_media() -> Api {
    let media = json!({
        "name": "media", "version": 1, "schemaVersion": 2,
        "tasks": [
            {"name": "prepare", "taskReferenceName": "prep", "type": "INLINE",
             "inputParameters": {"evaluatorType": "javascript", "expression": "1 + 1"}},
            {"name": "encode", "taskReferenceName": "enc", "type": "SIMPLE",
             "inputParameters": {"file": "${workflow.input.file}"}}
        ],
        "outputParameters": {"size": "${enc.output.size}"}
    });
    Api::with_workflow(media).await
}

async fn start(api: &Api) -> String {
    let (status, id) = api
        .call(
            Method::POST,
            "/api/workflow/media",
            Some(json!({"file": "a.mp4"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{id}");
    id
}

fn error_message(body: &str) -> String {
    let error: Value = serde_json::from_str(body).unwrap();
    error["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn retry_runs_a_failed_workflow_again_from_its_failed_task() {
    let api = api_with_media().await;
    let id = start(&api).await;
    let (status, body) = api
        .call(Method::POST, &format!("/api/workflow/{id}/retry"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a running workflow: {body}");
    assert_eq!(
        error_message(&body),
        "Workflow is still running.  status=RUNNING"
    );

    api.answer("FAILED_WITH_TERMINAL_ERROR", json!({})).await;
    assert_eq!(api.ended(&id).await["status"], "FAILED");

    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/workflow/{id}/retry?resumeSubworkflowTasks=true"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(body.is_empty());
    assert_eq!(api.workflow(&id).await["status"], "RUNNING");
    api.answer("COMPLETED", json!({"size": 9})).await;
    let done = api.ended(&id).await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["output"], json!({"size": 9}));
    let tasks: Vec<(String, String, u64)> = done["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["referenceTaskName"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
                t["retryCount"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        tasks,
        [
            ("prep".to_owned(), "COMPLETED".to_owned(), 0),
            ("enc".to_owned(), "FAILED".to_owned(), 0),
            ("enc".to_owned(), "COMPLETED".to_owned(), 1),
        ],
        "the completed task is kept, the failed one stays and a new attempt completes"
    );

    let (status, body) = api
        .call(Method::POST, &format!("/api/workflow/{id}/retry"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a completed workflow: {body}");
    assert!(error_message(&body).contains("no retriable tasks"));

    let (status, body) = api
        .call(Method::POST, "/api/workflow/nope/retry", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn restart_runs_an_ended_workflow_from_the_beginning() {
    let api = api_with_media().await;
    let id = start(&api).await;
    let (status, body) = api
        .call(Method::POST, &format!("/api/workflow/{id}/restart"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(error_message(&body).contains("still running"));

    let (status, _) = api
        .call(Method::DELETE, &format!("/api/workflow/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.ended(&id).await["status"], "TERMINATED");

    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/workflow/{id}/restart?useLatestDefinitions=true"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    api.answer("COMPLETED", json!({"size": 4})).await;
    let done = api.ended(&id).await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["output"], json!({"size": 4}));
    assert_eq!(done["input"], json!({"file": "a.mp4"}));
    let statuses: Vec<&str> = done["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["COMPLETED", "COMPLETED"],
        "only the new run's tasks"
    );

    // A completed workflow can be restarted too (retried, it cannot).
    let (status, body) = api
        .call(Method::POST, &format!("/api/workflow/{id}/restart"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(api.workflow(&id).await["status"], "RUNNING");

    let (status, _) = api
        .call(Method::POST, "/api/workflow/nope/restart", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_completed_workflow_that_is_not_restartable_is_refused() {
    let mut def = crate::test_support::media(1);
    def["restartable"] = json!(false);
    let api = Api::with_workflow(def).await;
    let id = start(&api).await;
    api.answer("COMPLETED", json!({"size": 1})).await;
    assert_eq!(api.ended(&id).await["status"], "COMPLETED");
    let (status, body) = api
        .call(Method::POST, &format!("/api/workflow/{id}/restart"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        error_message(&body),
        format!("Workflow: {id} is non-restartable")
    );
    assert_eq!(api.workflow(&id).await["status"], "COMPLETED");

    // The flag is about completed workflows: a terminated one restarts.
    let other = start(&api).await;
    let (status, _) = api
        .call(Method::DELETE, &format!("/api/workflow/{other}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.ended(&other).await["status"], "TERMINATED");
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/workflow/{other}/restart"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}
