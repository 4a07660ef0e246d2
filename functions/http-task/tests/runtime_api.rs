//! The built `http-task` binary under a real Lambda Runtime API.

mod support;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use support::runtime_api::{Harness, Outcome};

#[tokio::test]
async fn serves_responses_and_reports_errors_by_name() {
    let service = Router::new()
        .route(
            "/ok",
            get(|| async { axum::Json(json!({"hello": "lambda"})) }),
        )
        .route(
            "/down",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "try later") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, service).await });

    let registry = json!({"services": {"echo": {"baseUrl": format!("http://127.0.0.1:{port}")}}});
    let mut lambda = Harness::start(
        env!("CARGO_BIN_EXE_ocflow-fn-http-task"),
        &[
            ("OCFLOW_REGISTRY", registry.to_string()),
            ("OCFLOW_HOST_POLICY", "strict".to_owned()),
        ],
    )
    .await;

    match lambda.invoke(json!({"uri": "ocf://echo/ok"})).await {
        Outcome::Response { body, .. } => {
            assert_eq!(body["response"]["statusCode"], 200);
            assert_eq!(body["response"]["body"], json!({"hello": "lambda"}));
        }
        other => panic!("expected a response, got {other:?}"),
    }
    match lambda
        .invoke(json!({"http_request": {"uri": "ocf://echo/down"}}))
        .await
    {
        Outcome::Error {
            body,
            error_type_header,
            ..
        } => {
            assert_eq!(body["errorType"], "Ocf.Http5xx");
            let cause: Value =
                serde_json::from_str(body["errorMessage"].as_str().unwrap()).unwrap();
            assert_eq!(
                cause,
                json!({"statusCode": 503, "reasonPhrase": "Service Unavailable", "body": "try later"})
            );
            // The runtime marks handler errors as unhandled; the name travels in the body.
            assert_eq!(error_type_header.as_deref(), Some("unhandled"));
        }
        other => panic!("expected an error, got {other:?}"),
    }
    match lambda
        .invoke(json!({"uri": "http://169.254.169.254/latest/meta-data/"}))
        .await
    {
        Outcome::Error { body, .. } => assert_eq!(body["errorType"], "Ocf.HostRefused"),
        other => panic!("expected an error, got {other:?}"),
    }
    match lambda.invoke(json!({"method": "GET"})).await {
        Outcome::Error { body, .. } => assert_eq!(body["errorType"], "Ocf.BadInput"),
        other => panic!("expected an error, got {other:?}"),
    }
}
