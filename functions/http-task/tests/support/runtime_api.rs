//! A Lambda Runtime API on loopback, speaking the real protocol, for running a function binary
//! as Lambda would: `GET /2018-06-01/runtime/invocation/next` hands out queued events with the
//! request id, deadline and function ARN headers; `POST .../{id}/response` and
//! `POST .../{id}/error` report the outcome. Shared by the function crates' tests.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

/// What the function reported for one invocation.
#[derive(Debug)]
pub enum Outcome {
    /// `POST .../response` with this body.
    Response { request_id: String, body: Value },
    /// `POST .../error` with this body and `Lambda-Runtime-Function-Error-Type` header.
    Error {
        request_id: String,
        error_type_header: Option<String>,
        body: Value,
    },
}

struct Api {
    events: Mutex<VecDeque<(String, Value)>>,
    queued: Notify,
    outcomes: mpsc::UnboundedSender<Outcome>,
}

async fn next(State(api): State<Arc<Api>>) -> Response {
    loop {
        let event = api.events.lock().unwrap().pop_front();
        if let Some((request_id, event)) = event {
            let deadline =
                SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
            let headers = [
                ("lambda-runtime-aws-request-id", request_id),
                (
                    "lambda-runtime-deadline-ms",
                    deadline.as_millis().to_string(),
                ),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:test".to_owned(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
                ),
            ];
            return (headers, event.to_string()).into_response();
        }
        api.queued.notified().await;
    }
}

async fn response(
    State(api): State<Arc<Api>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = api.outcomes.send(Outcome::Response { request_id, body });
    StatusCode::ACCEPTED
}

async fn error(
    State(api): State<Arc<Api>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let error_type_header = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = api.outcomes.send(Outcome::Error {
        request_id,
        error_type_header,
        body,
    });
    StatusCode::ACCEPTED
}

/// A running Runtime API and the function process attached to it.
pub struct Harness {
    api: Arc<Api>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    child: tokio::process::Child,
    next_id: u32,
}

impl Harness {
    /// Starts the API on 127.0.0.1 and spawns `binary` against it with the environment Lambda
    /// sets, plus `extra_env`.
    pub async fn start(binary: &str, extra_env: &[(&str, String)]) -> Self {
        let (sender, outcomes) = mpsc::unbounded_channel();
        let api = Arc::new(Api {
            events: Mutex::new(VecDeque::new()),
            queued: Notify::new(),
            outcomes: sender,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .with_state(Arc::clone(&api));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut command = tokio::process::Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "stream")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let child = command.spawn().unwrap();
        Self {
            api,
            outcomes,
            child,
            next_id: 0,
        }
    }

    /// Queues `event` and waits (at most 20 s) for the function's outcome.
    pub async fn invoke(&mut self, event: Value) -> Outcome {
        self.next_id += 1;
        let id = format!("req-{}", self.next_id);
        self.api
            .events
            .lock()
            .unwrap()
            .push_back((id.clone(), event));
        self.api.queued.notify_waiters();
        self.api.queued.notify_one();
        let outcome = tokio::time::timeout(Duration::from_secs(20), self.outcomes.recv())
            .await
            .expect("the function answered within 20 s")
            .expect("the API is running");
        let answered = match &outcome {
            Outcome::Response { request_id, .. } | Outcome::Error { request_id, .. } => request_id,
        };
        assert_eq!(answered, &id, "the outcome belongs to the invocation");
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the function is still running"
        );
        outcome
    }
}
