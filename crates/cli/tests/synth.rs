//! `ocflow synth` as a user runs it.

use std::path::{Path, PathBuf};
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

fn read_template(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("template.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// The `name` of every `workflows/*/workflow.json`.
fn example_workflow_names() -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root().join("workflows")).unwrap() {
        let file = entry.unwrap().path().join("workflow.json");
        if let Ok(text) = std::fs::read_to_string(&file) {
            let def: Value = serde_json::from_str(&text).unwrap();
            names.push(def["name"].as_str().unwrap().to_owned());
        }
    }
    names
}

#[test]
fn synth_deploys_every_workflow_with_functions_found_from_the_output() {
    // Two levels below a temporary folder: CodeUri must climb out of it to the workspace.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("deploy/build");
    let run = ocflow(&["synth", "workflows", "-o", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run.stderr));

    let template = read_template(&out);
    let resources = template["Resources"].as_object().unwrap();
    let mut deployed: Vec<String> = Vec::new();
    for (id, resource) in resources {
        let properties = &resource["Properties"];
        match resource["Type"].as_str() {
            Some("AWS::Serverless::StateMachine") => {
                let uri = properties["DefinitionUri"].as_str().unwrap();
                let asl: Value =
                    serde_json::from_str(&std::fs::read_to_string(out.join(uri)).unwrap()).unwrap();
                assert_eq!(asl["QueryLanguage"], "JSONata", "{id}");
                deployed.push(uri.to_owned());
            }
            Some("AWS::Serverless::Function") => {
                let code = properties["CodeUri"].as_str().unwrap();
                assert!(
                    out.join(code).join("Cargo.toml").is_file(),
                    "{id}: CodeUri {code} is not a crate seen from {}",
                    out.display()
                );
            }
            _ => {}
        }
    }
    // Every example workflow is deployed once, and so is every child they start.
    for name in example_workflow_names() {
        let file = format!("statemachines/{name}.asl.json");
        assert_eq!(
            deployed.iter().filter(|d| **d == file).count(),
            1,
            "{file} in {deployed:?}"
        );
    }
    let files = std::fs::read_dir(out.join("statemachines"))
        .unwrap()
        .count();
    assert_eq!(files, deployed.len());
    assert!(text(&run.stdout).contains("template.yaml"));
}

#[test]
fn an_express_workflow_that_waits_is_refused_with_its_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("workflows");
    for name in ["checkout", "payment"] {
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::copy(
            root().join(format!("workflows/{name}/workflow.json")),
            folder.join("workflow.json"),
        )
        .unwrap();
    }
    // checkout runs payment as a sub-workflow and waits for it: Express cannot.
    std::fs::write(dir.join("checkout/ocflow.json"), r#"{"type": "EXPRESS"}"#).unwrap();
    let out = tmp.path().join("out");
    let functions = root().join("functions");
    let run = ocflow(&[
        "synth",
        dir.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--functions",
        functions.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = text(&run.stderr);
    let file = dir.join("checkout/workflow.json");
    assert!(
        stderr.starts_with(&format!(
            "{}: workflow `checkout` is EXPRESS",
            file.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("/States/"), "no pointer in {stderr}");
    assert!(!out.join("template.yaml").exists());
}

#[test]
fn invalid_inputs_exit_2_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out = out.to_str().unwrap();

    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let run = ocflow(&["synth", empty.to_str().unwrap(), "-o", out]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("no workflow found"), "{run:?}");

    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(broken.join("w")).unwrap();
    std::fs::write(
        broken.join("w/workflow.json"),
        r#"{"name": "w", "tasks": [{"name": "t", "type": "HTTP"}]}"#,
    )
    .unwrap();
    let run = ocflow(&["synth", broken.to_str().unwrap(), "-o", out]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains(&broken.join("w/workflow.json").display().to_string()),
        "{run:?}"
    );

    std::fs::copy(
        root().join("workflows/payment/workflow.json"),
        broken.join("w/workflow.json"),
    )
    .unwrap();
    std::fs::write(broken.join("w/ocflow.json"), r#"{"kind": "EXPRESS"}"#).unwrap();
    let functions = root().join("functions");
    let run = ocflow(&[
        "synth",
        broken.to_str().unwrap(),
        "-o",
        out,
        "--functions",
        functions.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("ocflow.json") && stderr.contains("unknown field `kind`"),
        "{stderr}"
    );
}
