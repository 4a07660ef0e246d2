//! What the router tests share: the router over an embedded host with worker queues, driven by
//! requests as a Conductor client sends them.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode};
use ocflow_local::{LocalHost, LocalOptions};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::router;

/// The router over a fresh in-memory host with worker queues. Test modules add helpers of
/// their own in `impl Api` blocks.
pub(crate) struct Api(axum::Router);

/// `media` at `version`: one SIMPLE task, `encode` (reference `enc`), whose `size` is the output.
pub(crate) fn media(version: i64) -> Value {
    json!({
        "name": "media", "version": version, "schemaVersion": 2,
        "tasks": [{"name": "encode", "taskReferenceName": "enc", "type": "SIMPLE",
                   "inputParameters": {"file": "${workflow.input.file}"}}],
        "outputParameters": {"size": "${enc.output.size}"}
    })
}

impl Api {
    pub(crate) fn new() -> Api {
        let host = LocalHost::open(LocalOptions {
            worker_queues: true,
            ..LocalOptions::default()
        })
        .unwrap();
        Api(router(Arc::new(host)))
    }

    /// A host with `definition` registered.
    pub(crate) async fn with_workflow(definition: Value) -> Api {
        let api = Api::new();
        let (status, text) = api
            .call(Method::POST, "/api/metadata/workflow", Some(definition))
            .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        api
    }

    /// A host with `media` version 1 registered.
    pub(crate) async fn with_media() -> Api {
        Api::with_workflow(media(1)).await
    }

    /// One request with a raw body; the status and the body as text.
    pub(crate) async fn send(&self, method: Method, uri: &str, body: Body) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body)
            .unwrap();
        let response = self.0.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// One request with an optional JSON body.
    pub(crate) async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, String) {
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.send(method, uri, body).await
    }

    /// One request that must answer 200 with JSON.
    pub(crate) async fn json(&self, method: Method, uri: &str, body: Option<Value>) -> Value {
        let (status, text) = self.call(method, uri, body).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Polls one `encode` task (the oldest queued).
    pub(crate) async fn poll(&self) -> Value {
        let tasks = self
            .json(
                Method::GET,
                "/api/tasks/poll/batch/encode?count=1&timeout=5000",
                None,
            )
            .await;
        tasks[0].clone()
    }

    /// The workflow once it has left RUNNING (runs that need no real time to pass).
    pub(crate) async fn finished(&self, id: &str) -> Value {
        for _ in 0..500 {
            let workflow = self
                .json(Method::GET, &format!("/api/workflow/{id}"), None)
                .await;
            if workflow["status"] != "RUNNING" {
                return workflow;
            }
            tokio::task::yield_now().await;
        }
        panic!("workflow {id} is still RUNNING");
    }
}
