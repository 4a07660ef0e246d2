//! `ocflow compile` and `ocflow graph` as a user runs them.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ocflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ocflow"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("ocflow runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn compile_writes_every_machine_and_its_task_map() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let run = ocflow(&[
        "compile",
        "workflows/checkout/workflow.json",
        "--defs",
        "workflows",
        "-o",
        dir,
        "--stats",
    ]);
    assert!(run.status.success(), "{run:?}");
    for name in ["checkout", "payment"] {
        let asl: Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join(format!("{name}.asl.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(asl["QueryLanguage"], "JSONata", "{name}");
        let map: Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join(format!("{name}.taskmap.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(map["workflowName"], name);
    }
    let stdout = text(&run.stdout);
    assert!(stdout.contains("checkout: "), "{stdout}");
    assert!(
        stdout.contains("mean transitions per Conductor task"),
        "{stdout}"
    );
}

#[test]
fn compile_prints_the_machine_without_an_output_directory() {
    let run = ocflow(&["compile", "workflows/payment/workflow.json"]);
    assert!(run.status.success(), "{run:?}");
    let asl: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(asl["StartAt"], "charge");
}

#[test]
fn unsupported_features_fail_with_the_feature_and_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kafka.json");
    std::fs::write(
        &file,
        r#"{"name": "k", "tasks": [{"name": "p", "taskReferenceName": "p", "type": "KAFKA_PUBLISH",
            "inputParameters": {"kafka_request": {"topic": "t", "value": "v"}}}]}"#,
    )
    .unwrap();
    let run = ocflow(&["compile", file.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    let stderr = text(&run.stderr);
    assert!(stderr.contains("unsupported"), "{stderr}");
    assert!(stderr.contains("KAFKA_PUBLISH"), "{stderr}");
    assert!(stderr.contains("/tasks/0"), "{stderr}");
}

#[test]
fn invalid_definitions_are_refused_before_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(&file, "{\"name\": \"b\", \"tasks\": [\n  {\"name\": }]}").unwrap();
    let run = ocflow(&["compile", file.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    assert!(
        text(&run.stderr).contains("bad.json:2:"),
        "{:?}",
        text(&run.stderr)
    );
}

#[test]
fn graph_draws_the_workflow_and_the_machine() {
    let run = ocflow(&["graph", "workflows/shipment-tracking/workflow.json"]);
    assert!(run.status.success(), "{run:?}");
    let mermaid = text(&run.stdout);
    assert!(mermaid.starts_with("flowchart TD"), "{mermaid}");
    assert!(mermaid.contains(r#"-->|"repeat"|"#), "{mermaid}");

    let run = ocflow(&[
        "graph",
        "workflows/order-fulfillment/workflow.json",
        "--format",
        "dot",
        "--asl",
    ]);
    assert!(run.status.success(), "{run:?}");
    let dot = text(&run.stdout);
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("validate"), "{dot}");
}
