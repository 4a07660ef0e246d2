//! `ocflow validate` as a user runs it: exit codes, the stderr line format and `--json`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn ocflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ocflow"))
        .args(args)
        .output()
        .expect("ocflow runs")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp file is writable");
    path.display().to_string()
}

const VALID: &str =
    r#"{"name":"ok","tasks":[{"name":"a","taskReferenceName":"a","type":"SIMPLE"}]}"#;
const DUPLICATE: &str = r#"{"name":"dup","tasks":[
  {"name":"a","taskReferenceName":"x"},
  {"name":"b","taskReferenceName":"x"}]}"#;
const MISSPELT: &str =
    r#"{"name":"warn","tasks":[{"name":"h","taskReferenceName":"h","type":"HTTPS"}]}"#;

#[test]
fn valid_file_exits_zero_and_prints_no_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ok.json", VALID);
    let out = ocflow(&["validate", &file]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 errors"));
}

#[test]
fn errors_exit_two_one_line_each_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "dup.json", DUPLICATE);
    let out = ocflow(&["validate", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{file}: /tasks/1/taskReferenceName: duplicate reference 'x' (first at /tasks/0)\n"
        )
    );
}

#[test]
fn syntax_errors_give_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.json",
        "{\n  \"name\": \"w\",\n  \"tasks\": [,]\n}",
    );
    let out = ocflow(&["validate", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("{file}:3:13: invalid JSON: expected value\n")
    );
}

#[test]
fn warnings_do_not_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "warn.json", MISSPELT);
    let out = ocflow(&["validate", &file]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{file}: /tasks/0/type: warning: unknown task type 'HTTPS' is treated as a worker task type (hint: did you mean 'HTTP'?)\n"
        )
    );
}

#[test]
fn directories_are_walked_and_one_bad_file_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.json", VALID);
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    let bad = write(&dir.path().join("nested"), "b.json", DUPLICATE);
    write(dir.path(), "notes.txt", "not json, not checked");
    let out = ocflow(&["validate", &dir.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!("{bad}: ")), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("checked 2 files"));
}

#[test]
fn json_output_is_machine_readable() {
    let dir = tempfile::tempdir().unwrap();
    let ok = write(dir.path(), "ok.json", VALID);
    let dup = write(dir.path(), "dup.json", DUPLICATE);
    let out = ocflow(&["validate", "--json", &ok, &dup]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(report["errors"], 1);
    assert_eq!(report["warnings"], 0);
    assert_eq!(report["files"][0]["file"], ok.as_str());
    assert_eq!(report["files"][0]["valid"], true);
    assert_eq!(report["files"][1]["valid"], false);
    assert_eq!(report["files"][1]["kind"], "workflow definition");
    let d = &report["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "duplicate-reference");
    assert_eq!(d["file"], dup.as_str());
    assert_eq!(d["pointer"], "/tasks/1/taskReferenceName");
    assert_eq!(d["message"], "duplicate reference 'x' (first at /tasks/0)");
}

#[test]
fn other_conductor_documents_are_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let taskdef = write(
        dir.path(),
        "task.json",
        r#"{"name":"t","retryCount":2,"timeoutSeconds":10,"responseTimeoutSeconds":20}"#,
    );
    let handler = write(
        dir.path(),
        "handler.json",
        r#"{"name":"h","event":"sqs:q","actions":[{"action":"complete_task","complete_task":{"taskRefName":"w"}}]}"#,
    );
    let out = ocflow(&["validate", "--json", &taskdef, &handler]);
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(report["files"][0]["kind"], "task definition");
    assert_eq!(report["files"][1]["kind"], "event handler");
    assert_eq!(report["files"][1]["valid"], true);
    assert_eq!(report["diagnostics"][0]["code"], "response-timeout");
}

#[test]
fn missing_file_and_no_arguments_fail() {
    let out = ocflow(&["validate", "/nonexistent/ocflow-test.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("/nonexistent/ocflow-test.json: cannot read")
    );
    let out = ocflow(&["validate"]);
    assert_eq!(out.status.code(), Some(2), "clap usage error");
}

#[test]
fn the_corpus_is_valid() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conductor-corpus");
    if !corpus.is_dir() {
        println!("skipped: {} absent", corpus.display());
        return;
    }
    let out = ocflow(&["validate", &corpus.display().to_string()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("(91 workflow definitions, 4 skipped): 0 errors")
    );
}

#[test]
fn every_subcommand_has_help() {
    for args in [&["--help"][..], &["validate", "--help"][..]] {
        let out = ocflow(args);
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: ocflow"));
    }
}

#[test]
fn a_directory_walk_skips_files_that_are_not_conductor_documents() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("input.json"), r#"{"orderId": "o-1"}"#).unwrap();
    std::fs::write(
        dir.path().join("wf.json"),
        r#"{"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a", "type": "NOOP"}]}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ocflow"))
        .arg("validate")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("input.json: not a Conductor document"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(1 workflow definitions, 1 skipped)"),
        "{stdout}"
    );

    // Named explicitly, the same file is checked as a workflow and fails.
    let out = Command::new(env!("CARGO_BIN_EXE_ocflow"))
        .arg("validate")
        .arg(dir.path().join("input.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
