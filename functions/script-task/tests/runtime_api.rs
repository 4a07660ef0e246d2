//! The built `script-task` binary under a real Lambda Runtime API.

#[path = "../../http-task/tests/support/runtime_api.rs"]
mod runtime_api;

use runtime_api::{Harness, Outcome};
use serde_json::json;

#[tokio::test]
async fn evaluates_scripts_and_reports_script_errors_by_name() {
    let mut lambda = Harness::start(env!("CARGO_BIN_EXE_ocflow-fn-script-task"), &[]).await;

    let javascript = json!({"kind": "javascript", "expression": "(function () { return $.a + $.b; })()", "input": {"a": 1, "b": 2}});
    match lambda.invoke(javascript).await {
        Outcome::Response { body, .. } => assert_eq!(body, json!({"result": 3})),
        other => panic!("expected a response, got {other:?}"),
    }
    let jq = json!({"kind": "jq", "expression": ".xs[]", "input": {"xs": [1, 2]}});
    match lambda.invoke(jq).await {
        Outcome::Response { body, .. } => {
            assert_eq!(body, json!({"result": 1, "resultList": [1, 2]}))
        }
        other => panic!("expected a response, got {other:?}"),
    }
    let throws =
        json!({"kind": "condition", "expression": "throw new Error('no way')", "input": {}});
    match lambda.invoke(throws).await {
        Outcome::Error {
            body,
            error_type_header,
            ..
        } => {
            assert_eq!(error_type_header.as_deref(), Some("unhandled"));
            assert_eq!(body["errorType"], "Script.Error");
            assert!(
                body["errorMessage"]
                    .as_str()
                    .unwrap()
                    .contains("Error: no way")
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
    match lambda
        .invoke(json!({"kind": "python", "expression": "1"}))
        .await
    {
        Outcome::Error { body, .. } => assert_eq!(body["errorType"], "Ocf.BadInput"),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A runaway script ends with Script.Timeout and the sandbox serves the next invocation.
#[tokio::test]
async fn runaway_scripts_time_out_and_the_function_survives() {
    let mut lambda = Harness::start(env!("CARGO_BIN_EXE_ocflow-fn-script-task"), &[]).await;
    let started = std::time::Instant::now();
    match lambda
        .invoke(json!({"kind": "javascript", "expression": "while (true) {}", "input": {}}))
        .await
    {
        Outcome::Error { body, .. } => assert_eq!(body["errorType"], "Script.Timeout"),
        other => panic!("expected an error, got {other:?}"),
    }
    let elapsed = started.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(8), "{elapsed:?}");
    match lambda
        .invoke(json!({"kind": "javascript", "expression": "'alive'", "input": {}}))
        .await
    {
        Outcome::Response { body, .. } => assert_eq!(body, json!({"result": "alive"})),
        other => panic!("expected a response, got {other:?}"),
    }
}
