//! The endpoints Conductor clients and UIs call beside starting and working: one task, task
//! logs, queue sizes, running and correlated lists, removal, unregistering, health, decide,
//! rerun and skip, over the embedded host.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use axum::body::Body;

use crate::test_support::{Api, media};

/// `/` in a path segment, as clients send a polled task id.
fn segment(id: &str) -> String {
    id.replace('/', "%2F")
}

impl Api {
    async fn start_correlated(&self, file: &str, correlation_id: &str) -> String {
        let (status, id) = self
            .call(
                Method::POST,
                &format!("/api/workflow/media?correlationId={correlation_id}"),
                Some(json!({ "file": file })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{id}");
        id
    }

    async fn complete(&self, task: &Value, extra: Value) {
        let mut result = json!({"taskId": task["taskId"],
                                "workflowInstanceId": task["workflowInstanceId"],
                                "status": "COMPLETED", "outputData": {"size": 3}});
        result
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        let (status, text) = self.call(Method::POST, "/api/tasks", Some(result)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }
}

#[tokio::test]
async fn a_task_by_either_id_its_logs_and_the_queue_sizes() {
    let api = Api::with_media().await;
    let first = api.start_correlated("a.mp4", "c-1").await;
    api.start_correlated("b.mp4", "c-2").await;
    let sizes_uri = "/api/tasks/queue/sizes?taskType=encode&taskType=resize";
    let mut sizes = Value::Null;
    for _ in 0..500 {
        // The engine queues the tasks as it runs the workflows, after the starts answered.
        sizes = api.json(Method::GET, sizes_uri, None).await;
        if sizes["encode"] == 2 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(sizes, json!({"encode": 2, "resize": 0}));

    let polled = api.poll().await;
    assert_eq!(polled["workflowInstanceId"], first.as_str());
    let polled_id = polled["taskId"].as_str().unwrap();
    let (status, size) = api
        .call(Method::GET, "/api/tasks/queue/size?taskType=encode", None)
        .await;
    assert_eq!(
        (status, size.as_str()),
        (StatusCode::OK, "1"),
        "one handed out"
    );
    assert_eq!(
        api.json(Method::GET, "/api/tasks/queue/all", None).await,
        json!({"encode": 1})
    );

    let by_poll_id = api
        .json(
            Method::GET,
            &format!("/api/tasks/{}", segment(polled_id)),
            None,
        )
        .await;
    assert_eq!(by_poll_id["referenceTaskName"], "enc");
    assert_eq!(by_poll_id["workflowInstanceId"], first.as_str());
    assert_eq!(by_poll_id["inputData"]["file"], "a.mp4");
    let listed_id = by_poll_id["taskId"].as_str().unwrap().to_owned();
    assert_eq!(listed_id, format!("{first}-1"), "the id the workflow lists");
    let by_listed_id = api
        .json(Method::GET, &format!("/api/tasks/{listed_id}"), None)
        .await;
    assert_eq!(by_listed_id, by_poll_id);

    let log_uri = format!("/api/tasks/{}/log", segment(polled_id));
    let (status, text) = api
        .send(Method::POST, &log_uri, Body::from("\"encoding started\""))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, _) = api
        .send(Method::POST, &log_uri, Body::from("50% done"))
        .await;
    assert_eq!(status, StatusCode::OK);
    api.complete(
        &polled,
        json!({"logs": [{"log": "encoded", "createdTime": 1_700_000_000_000_i64}]}),
    )
    .await;
    let workflow = api.finished(&first).await;
    assert_eq!(workflow["status"], "COMPLETED");
    let done = api
        .json(Method::GET, &format!("/api/tasks/{listed_id}"), None)
        .await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["outputData"]["size"], 3);

    let logs = api
        .json(Method::GET, &format!("/api/tasks/{listed_id}/log"), None)
        .await;
    let lines: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["log"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["encoding started", "50% done", "encoded"]);
    assert!(
        logs.as_array()
            .unwrap()
            .iter()
            .all(|l| l["taskId"] == listed_id.as_str())
    );
    assert_eq!(logs[2]["createdTime"], 1_700_000_000_000_i64);
    assert!(logs[0]["createdTime"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(
        api.json(Method::GET, &log_uri, None).await,
        logs,
        "the poll's id reads the same lines"
    );

    for unknown in [format!("{first}-9"), "nope-1".to_owned(), "nope".to_owned()] {
        let (status, body) = api
            .call(Method::GET, &format!("/api/tasks/{unknown}"), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}: {body}");
    }
    assert_eq!(
        api.json(Method::GET, "/api/tasks/nope-1/log", None).await,
        json!([])
    );
    let (status, _) = api.call(Method::GET, "/api/tasks/queue/size", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn running_and_correlated_lists_removal_and_decide() {
    let api = Api::with_media().await;
    let done = api.start_correlated("a.mp4", "c-1").await;
    let task = api.poll().await;
    api.complete(&task, json!({})).await;
    api.finished(&done).await;
    let one = api.start_correlated("b.mp4", "c-1").await;
    let two = api.start_correlated("c.mp4", "c-2").await;

    let running = api
        .json(Method::GET, "/api/workflow/running/media", None)
        .await;
    assert_eq!(running, json!([two, one]), "RUNNING ones, newest first");
    assert_eq!(
        api.json(Method::GET, "/api/workflow/running/media?version=2", None)
            .await,
        json!([])
    );
    assert_eq!(
        api.json(
            Method::GET,
            "/api/workflow/running/media?startTime=0&endTime=1000",
            None
        )
        .await,
        json!([]),
        "none started in 1970"
    );
    assert_eq!(
        api.json(
            Method::GET,
            "/api/workflow/running/media?startTime=0&endTime=99999999999999",
            None
        )
        .await
        .as_array()
        .map(Vec::len),
        Some(2)
    );

    let correlated = api
        .json(
            Method::POST,
            "/api/workflow/media/correlated",
            Some(json!(["c-1", "c-2", "c-3"])),
        )
        .await;
    assert_eq!(correlated["c-1"].as_array().map(Vec::len), Some(1));
    assert_eq!(correlated["c-1"][0]["workflowId"], one.as_str());
    assert_eq!(
        correlated["c-1"][0]["tasks"],
        json!([]),
        "no tasks unless asked"
    );
    assert_eq!(correlated["c-2"][0]["workflowId"], two.as_str());
    assert_eq!(correlated["c-3"], json!([]));
    let closed = api
        .json(
            Method::POST,
            "/api/workflow/media/correlated?includeClosed=true&includeTasks=true",
            Some(json!(["c-1"])),
        )
        .await;
    assert_eq!(closed["c-1"].as_array().map(Vec::len), Some(2));
    assert_eq!(closed["c-1"][1]["workflowId"], done.as_str());
    assert_eq!(closed["c-1"][1]["tasks"][0]["status"], "COMPLETED");

    let (status, body) = api
        .call(Method::DELETE, &format!("/api/workflow/{one}/remove"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = api
        .call(Method::DELETE, &format!("/api/workflow/{one}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .call(
            Method::DELETE,
            &format!("/api/workflow/{one}/remove?archiveWorkflow=false"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = api
        .call(Method::GET, &format!("/api/workflow/{one}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "removed");
    let (status, _) = api
        .call(Method::DELETE, &format!("/api/workflow/{one}/remove"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let found = api
        .json(
            Method::GET,
            "/api/workflow/search?query=correlationId%3Dc-1",
            None,
        )
        .await;
    assert_eq!(found["totalHits"], 1, "search no longer finds it: {found}");

    let (status, body) = api
        .call(Method::PUT, &format!("/api/workflow/decide/{two}"), None)
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    let (status, _) = api
        .call(Method::PUT, "/api/workflow/decide/nope", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn definitions_by_version_and_unregistering() {
    let api = Api::with_media().await;
    let mut second = media(2);
    second["outputParameters"] = json!({"bytes": "${enc.output.size}"});
    let (status, text) = api
        .call(Method::POST, "/api/metadata/workflow", Some(second))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let def = |version: &str| {
        let uri = format!("/api/metadata/workflow/media{version}");
        let api = &api;
        async move { api.call(Method::GET, &uri, None).await }
    };
    let (_, latest) = def("").await;
    assert_eq!(
        serde_json::from_str::<Value>(&latest).unwrap()["version"],
        2
    );
    let (_, first) = def("?version=1").await;
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["version"], 1);
    assert_eq!(
        first["outputParameters"],
        json!({"size": "${enc.output.size}"})
    );
    let (status, _) = def("?version=3").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, text) = api
        .call(Method::DELETE, "/api/metadata/workflow/media/2", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, _) = api
        .call(Method::DELETE, "/api/metadata/workflow/media/2", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "once");
    let (_, latest) = def("").await;
    assert_eq!(
        serde_json::from_str::<Value>(&latest).unwrap()["version"],
        1
    );
    let id = api.start_correlated("a.mp4", "c-1").await;
    let task = api.poll().await;
    api.complete(&task, json!({})).await;
    let workflow = api.finished(&id).await;
    assert_eq!(workflow["workflowVersion"], 1);
    assert_eq!(
        workflow["output"],
        json!({"size": 3}),
        "version 1 runs again"
    );

    let (status, _) = api
        .call(Method::DELETE, "/api/metadata/workflow/media/1", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .call(Method::POST, "/api/workflow/media", Some(json!({})))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "nothing left to start: {body}"
    );
    assert_eq!(
        api.json(Method::GET, &format!("/api/workflow/{id}/status"), None)
            .await["status"],
        "COMPLETED",
        "past runs stay"
    );
    let (status, _) = api
        .call(Method::DELETE, "/api/metadata/workflow/media/one", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, text) = api
        .call(Method::POST, "/api/metadata/workflow", Some(media(1)))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    api.start_correlated("b.mp4", "c-2").await;
}

#[tokio::test]
async fn health_rerun_and_skip() {
    let api = Api::with_media().await;
    for uri in ["/health", "/api/health"] {
        let health = api.json(Method::GET, uri, None).await;
        assert_eq!(health["healthy"], true, "{uri}");
    }

    let id = api.start_correlated("a.mp4", "c-1").await;
    let (status, body) = api
        .call(
            Method::PUT,
            &format!("/api/workflow/{id}/skiptask/enc"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("cannot be skipped"), "{body}");
    let (status, _) = api
        .call(Method::PUT, "/api/workflow/nope/skiptask/enc", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/workflow/{id}/rerun"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("still running"), "{body}");

    let task = api.poll().await;
    api.complete(&task, json!({})).await;
    assert_eq!(api.finished(&id).await["status"], "COMPLETED");
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/workflow/{id}/rerun"),
            Some(json!({"reRunFromWorkflowId": id, "reRunFromTaskId": format!("{id}-1")})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("cannot be rerun from task"), "{body}");
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/workflow/{id}/rerun"),
            Some(json!({"workflowInput": {"file": "other.mp4"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("original input"), "{body}");

    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/workflow/{id}/rerun"),
            Some(
                json!({"reRunFromWorkflowId": id, "workflowInput": {"file": "a.mp4"},
                        "correlationId": "c-1"}),
            ),
        )
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, id.as_str()));
    let again = api.poll().await;
    assert_eq!(again["workflowInstanceId"], id.as_str());
    assert_eq!(again["inputData"]["file"], "a.mp4");
    api.complete(&again, json!({"outputData": {"size": 4}}))
        .await;
    let workflow = api.finished(&id).await;
    assert_eq!(workflow["status"], "COMPLETED");
    assert_eq!(
        workflow["output"]["size"], 4,
        "ran again from the beginning"
    );
}
