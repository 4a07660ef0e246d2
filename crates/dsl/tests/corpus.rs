//! Every file of the Conductor corpus (`../shared/conductor-corpus`, read in place) parses with
//! its own type, validates without errors, and survives parse → serialise → parse.
//!
//! Round-trip contract: serialising a parsed document gives back the document exactly, except
//! that object members whose value is an explicit `null` are dropped where the model types the
//! field (Conductor reads such a null as absent). The test compares the re-serialised JSON with
//! the original after removing null members from both, and also compares model to model.

use std::path::{Path, PathBuf};

use ocflow_dsl::DocumentKind;
use ocflow_dsl::model::{
    EventHandler, StartWorkflowInput, StartWorkflowRequest, TaskDef, WorkflowDef,
    WorkflowExecution, WorkflowTask,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conductor-corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} absent", dir.display());
        None
    }
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus directory is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// Parses `value` as `T`, checks the round trip, and returns the model.
fn round_trip<T>(name: &str, value: &Value) -> T
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let model: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{name}: does not parse: {e}"));
    let written = serde_json::to_value(&model).expect("model serialises");
    assert_eq!(
        strip_nulls(&written),
        strip_nulls(value),
        "{name}: JSON round trip changed the document"
    );
    let again: T = serde_json::from_value(written).expect("re-serialised model parses");
    assert_eq!(again, model, "{name}: model round trip changed the model");
    model
}

#[test]
fn corpus_round_trips() {
    let Some(dir) = corpus_dir() else { return };
    let mut workflows = 0;
    for path in corpus_files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("corpus file is readable");
        let value: Value = serde_json::from_str(&text).expect("corpus file is JSON");
        if name.ends_with(".WorkflowExecution.json") {
            round_trip::<WorkflowExecution>(&name, &value);
        } else if name.ends_with(".EventHandler.json") {
            round_trip::<EventHandler>(&name, &value);
        } else if name.ends_with(".TaskConfigSnippet.json") {
            round_trip::<WorkflowTask>(&name, &value);
        } else if name.ends_with(".TaskDef.json") {
            round_trip::<TaskDef>(&name, &value);
        } else if name.ends_with(".TaskDefs.json") {
            round_trip::<Vec<TaskDef>>(&name, &value);
        } else if name.ends_with(".StartWorkflowRequest.json") {
            round_trip::<StartWorkflowInput>(&name, &value);
        } else if name.ends_with(".ARRAY.json") {
            workflows += round_trip::<Vec<WorkflowDef>>(&name, &value).len();
        } else if value.get("workflowDef").is_some() {
            let request = round_trip::<StartWorkflowRequest>(&name, &value);
            assert!(request.workflow_def.is_some());
            workflows += 1;
        } else {
            round_trip::<WorkflowDef>(&name, &value);
            workflows += 1;
        }
    }
    assert_eq!(
        workflows, 91,
        "78 single-workflow files plus 13 in ARRAY files"
    );
}

#[test]
fn corpus_validates_without_errors() {
    let Some(dir) = corpus_dir() else { return };
    let mut workflows = 0;
    let mut errors = Vec::new();
    let mut warnings = 0;
    for path in corpus_files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("corpus file is readable");
        let (document, diagnostics) = ocflow_dsl::check_document(&name, &text);
        let document = document.unwrap_or_else(|| panic!("{name}: {diagnostics:?}"));
        let expected_kind = match name.rsplit('.').nth(1) {
            Some("WorkflowExecution") => DocumentKind::WorkflowExecution,
            Some("EventHandler") => DocumentKind::EventHandler,
            Some("TaskConfigSnippet") => DocumentKind::WorkflowTask,
            Some("TaskDef") => DocumentKind::TaskDef,
            Some("TaskDefs") => DocumentKind::TaskDefs,
            Some("StartWorkflowRequest") => DocumentKind::StartWorkflowInput,
            Some("ARRAY") => DocumentKind::Workflows,
            _ if text.contains("\"workflowDef\"") => DocumentKind::StartWorkflowRequest,
            _ => DocumentKind::Workflow,
        };
        assert_eq!(document.kind(), expected_kind, "{name}: recognised kind");
        if !name.starts_with("aux-") {
            workflows += document.workflows().len();
        }
        for d in diagnostics {
            if d.is_error() {
                errors.push(d.to_string());
            } else {
                warnings += 1;
                println!("{d}");
            }
        }
    }
    println!("{workflows} definitions, {warnings} warnings");
    assert!(errors.is_empty(), "errors:\n{}", errors.join("\n"));
    assert_eq!(workflows, 91);
}
