//! What Conductor's SDK workers and clients rely on (found running conductor-python against
//! `ocflow serve`, see `tests/compat/conductor-python`), one behaviour per test.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::test_support::Api;

impl Api {
    async fn start(&self, file: &str) -> String {
        let (status, id) = self
            .call(
                Method::POST,
                "/api/workflow/media",
                Some(json!({ "file": file })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{id}");
        id
    }
}

fn completed(task: &Value, size: u64) -> Value {
    json!({"taskId": task["taskId"], "workflowInstanceId": task["workflowInstanceId"],
           "workerId": "w-2", "status": "COMPLETED", "outputData": {"size": size},
           "extendLease": false})
}

#[tokio::test]
async fn update_v2_answers_with_the_next_task_of_the_same_type() {
    let api = Api::with_media().await;
    let first = api.start("a.mp4").await;
    let second = api.start("b.mp4").await;
    let polled = api
        .json(
            Method::GET,
            "/api/tasks/poll/batch/encode?workerid=w-1&count=1&timeout=5000",
            None,
        )
        .await;
    assert_eq!(polled[0]["workflowInstanceId"], first.as_str());

    let next = api
        .json(
            Method::POST,
            "/api/tasks/update-v2",
            Some(completed(&polled[0], 1)),
        )
        .await;
    assert_eq!(next["workflowInstanceId"], second.as_str());
    assert_eq!(next["taskType"], "encode");
    assert_eq!(next["inputData"]["file"], "b.mp4");
    assert_eq!(next["workerId"], "w-2", "handed to the worker that updated");
    let (status, _) = api.call(Method::GET, "/api/tasks/poll/encode", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "the next task is hidden");

    let (status, text) = api
        .call(
            Method::POST,
            "/api/tasks/update-v2",
            Some(completed(&next, 2)),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "no task waits: {text}");
    assert!(text.is_empty());

    assert_eq!(api.finished(&first).await["output"], json!({"size": 1}));
    assert_eq!(api.finished(&second).await["output"], json!({"size": 2}));
}

#[tokio::test]
async fn update_v2_of_an_unknown_task_is_not_found() {
    let api = Api::with_media().await;
    let (status, text) = api
        .call(
            Method::POST,
            "/api/tasks/update-v2",
            Some(json!({"taskId": "nope/enc", "workflowInstanceId": "nope",
                        "status": "COMPLETED", "outputData": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    assert!(text.contains("nope/enc"), "{text}");
}

#[tokio::test]
async fn a_simple_task_shows_its_name_as_type_and_the_input_the_worker_got() {
    let api = Api::with_media().await;
    let id = api.start("a.mp4").await;
    let polled = api.poll().await;
    let running = api
        .json(Method::GET, &format!("/api/workflow/{id}"), None)
        .await;
    let task = &running["tasks"][0];
    assert_eq!(
        task["taskType"], "encode",
        "Conductor's type of a SIMPLE task"
    );
    assert_eq!(task["taskDefName"], "encode");
    assert_eq!(task["inputData"], json!({"file": "a.mp4"}));
    assert_eq!(task["inputData"], polled["inputData"]);

    let (status, text) = api
        .call(Method::POST, "/api/tasks", Some(completed(&polled, 7)))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text, polled["taskId"].as_str().unwrap());
    let workflow = api.finished(&id).await;
    let task = &workflow["tasks"][0];
    assert_eq!(workflow["status"], "COMPLETED");
    assert_eq!(task["status"], "COMPLETED");
    assert_eq!(task["taskType"], "encode");
    assert_eq!(task["inputData"], json!({"file": "a.mp4"}));
    assert_eq!(task["outputData"], json!({"size": 7}));
}

/// The SDKs' `ConductorWorkflow.start_workflow_with_input` sends the definition inline.
#[tokio::test]
async fn a_start_with_an_inline_definition_runs_it() {
    let api = Api::with_media().await;
    let clip = json!({
        "name": "clip", "version": 1, "schemaVersion": 2,
        "tasks": [{"name": "cut", "taskReferenceName": "cut", "type": "SIMPLE",
                   "inputParameters": {"at": "${workflow.input.at}"}}],
        "outputParameters": {"parts": "${cut.output.parts}"}
    });
    let start = |def: &Value| {
        json!({"name": "clip", "version": 1, "input": {"at": 5},
                                     "workflowDef": def, "priority": null})
    };
    let (status, id) = api
        .call(Method::POST, "/api/workflow", Some(start(&clip)))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an unregistered inline definition runs: {id}"
    );
    let registered = api
        .json(Method::GET, "/api/metadata/workflow/clip", None)
        .await;
    assert_eq!(registered["tasks"][0]["name"], "cut", "and is kept");
    let polled = api
        .json(
            Method::GET,
            "/api/tasks/poll/batch/cut?count=1&timeout=5000",
            None,
        )
        .await;
    assert_eq!(polled[0]["workflowInstanceId"], id.as_str());
    assert_eq!(polled[0]["inputData"], json!({"at": 5}));
    let (status, text) = api
        .call(
            Method::POST,
            "/api/tasks",
            Some(json!({"taskId": polled[0]["taskId"], "status": "COMPLETED",
                        "outputData": {"parts": 2}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(api.finished(&id).await["output"], json!({"parts": 2}));

    let (status, again) = api
        .call(Method::POST, "/api/workflow", Some(start(&clip)))
        .await;
    assert_eq!(status, StatusCode::OK, "the same definition again: {again}");
    assert_ne!(again, id);

    let mut changed = clip.clone();
    changed["outputParameters"] = json!({"parts": "${cut.output.count}"});
    let (status, text) = api
        .call(Method::POST, "/api/workflow", Some(start(&changed)))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{text}");
    assert!(text.contains("another definition"), "{text}");

    let mut renamed = clip.clone();
    renamed["name"] = json!("other");
    let (status, text) = api
        .call(Method::POST, "/api/workflow", Some(start(&renamed)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
}

/// Clients that complete a task they found in the workflow (not through a poll) send the id
/// the workflow lists.
#[tokio::test]
async fn a_result_may_name_the_task_by_the_id_the_workflow_lists() {
    let api = Api::with_media().await;
    let id = api.start("a.mp4").await;
    let polled = api.poll().await;
    assert_eq!(polled["workflowInstanceId"], id.as_str());
    let running = api
        .json(Method::GET, &format!("/api/workflow/{id}"), None)
        .await;
    let listed = running["tasks"][0]["taskId"].as_str().unwrap().to_owned();

    let (status, text) = api
        .call(
            Method::POST,
            "/api/tasks",
            Some(json!({"taskId": listed, "status": "COMPLETED", "outputData": {"size": 4}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text, listed);
    assert_eq!(api.finished(&id).await["output"], json!({"size": 4}));

    let (status, text) = api
        .call(
            Method::POST,
            "/api/tasks",
            Some(json!({"taskId": listed, "status": "COMPLETED", "outputData": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "answered once: {text}");
}

/// WAIT and HUMAN tasks are completed by reference name, as Conductor's clients do.
#[tokio::test]
async fn a_pending_task_is_updated_by_its_reference_name() {
    let api = Api::with_media().await;
    let review = json!({
        "name": "review", "version": 1, "schemaVersion": 2,
        "tasks": [{"name": "approve", "taskReferenceName": "approve", "type": "HUMAN"},
                  {"name": "publish", "taskReferenceName": "publish", "type": "HUMAN"}],
        "outputParameters": {"ok": "${approve.output.ok}", "at": "${publish.output.at}"}
    });
    let (status, text) = api
        .call(Method::POST, "/api/metadata/workflow", Some(review))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, id) = api
        .call(Method::POST, "/api/workflow/review", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{id}");

    let pending = |reference: &'static str| {
        let (api, id) = (&api, id.clone());
        async move {
            for _ in 0..500 {
                let workflow = api
                    .json(Method::GET, &format!("/api/workflow/{id}"), None)
                    .await;
                let listed = workflow["tasks"].as_array().and_then(|tasks| {
                    tasks
                        .iter()
                        .find(|t| t["referenceTaskName"] == reference)
                        .cloned()
                });
                if let Some(task) = listed {
                    return task;
                }
                tokio::task::yield_now().await;
            }
            panic!("{reference} never became pending");
        }
    };

    let approve = pending("approve").await;
    let workflow = api
        .json(
            Method::POST,
            &format!("/api/tasks/{id}/approve/COMPLETED/sync?workerid=ops"),
            Some(json!({"ok": true})),
        )
        .await;
    assert_eq!(workflow["workflowId"], id.as_str());
    assert_eq!(workflow["tasks"][0]["status"], "COMPLETED", "{workflow}");
    assert_eq!(workflow["tasks"][0]["outputData"], json!({"ok": true}));

    let (status, text) = api
        .call(
            Method::POST,
            &format!("/api/tasks/{id}/approve/COMPLETED"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "approve is done: {text}");

    let publish = pending("publish").await;
    let (status, text) = api
        .call(Method::POST, &format!("/api/tasks/{id}/publish/DONE"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let (status, task_id) = api
        .call(
            Method::POST,
            &format!("/api/tasks/{id}/publish/COMPLETED"),
            Some(json!({"at": 9})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{task_id}");
    assert_eq!(task_id, publish["taskId"].as_str().unwrap());
    assert_ne!(task_id, approve["taskId"].as_str().unwrap());
    let workflow = api.finished(&id).await;
    assert_eq!(workflow["status"], "COMPLETED");
    assert_eq!(workflow["output"], json!({"ok": true, "at": 9}));

    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/tasks/{id}/publish/COMPLETED"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing is pending any more");
    let (status, _) = api
        .call(Method::POST, "/api/tasks/nope/publish/COMPLETED", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
