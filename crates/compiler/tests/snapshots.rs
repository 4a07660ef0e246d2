//! Golden files: the compiled ASL and task map of every example workflow and fixture.

use std::path::{Path, PathBuf};

use ocflow_compiler::{CompileEnv, CompiledWorkflow, compile, stats};
use ocflow_dsl::model::{TaskDef, WorkflowDef};
use serde_json::{Value, json};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_def(path: &Path) -> WorkflowDef {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every example workflow, so sub-workflows resolve by name.
fn example_env() -> CompileEnv {
    let mut env = CompileEnv::new();
    for name in ["resize", "encode"] {
        env.add_task_def(TaskDef::named(name));
    }
    let pattern = workspace().join("workflows");
    for entry in std::fs::read_dir(pattern).unwrap().flatten() {
        let path = entry.path().join("workflow.json");
        if path.exists() {
            env.add_workflow(read_def(&path));
        }
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for entry in std::fs::read_dir(fixtures).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            env.add_workflow(read_def(&path));
        }
    }
    env
}

/// The golden document: machine, task map and children, each machine structurally checked.
fn golden(compiled: &CompiledWorkflow) -> Value {
    let mut children = serde_json::Map::new();
    for (name, child) in &compiled.children {
        assert_eq!(child.machine.check(), vec![], "child {name}");
        children.insert(
            name.clone(),
            json!({"machine": child.machine, "taskMap": child.task_map}),
        );
    }
    assert_eq!(compiled.machine.check(), vec![], "{}", compiled.name);
    let stats = stats(compiled);
    json!({
        "machine": compiled.machine,
        "taskMap": compiled.task_map,
        "children": children,
        "stats": {
            "states": stats.states,
            "paths": stats.paths.iter().map(|p| json!([p.transitions, p.lambda_invocations, p.tasks])).collect::<Vec<_>>(),
        },
    })
}

#[test]
fn example_workflows() {
    let env = example_env();
    let mut ratios = Vec::new();
    insta::glob!("../../../workflows", "*/workflow.json", |path| {
        let def = read_def(path);
        let compiled = compile(&def, &env).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let ratio = stats(&compiled).mean_transitions_per_task();
        println!("{}: {ratio:.3} transitions per task", def.name);
        ratios.push(ratio);
        insta::assert_snapshot!(serde_json::to_string_pretty(&golden(&compiled)).unwrap());
    });
    // Each workflow weighs the same: the mean over its enumerated paths (see `stats`), then the
    // mean over the workflows.
    let mean = ratios.iter().sum::<f64>() / ratios.len().max(1) as f64;
    println!("mean transitions per executed Conductor task: {mean:.3}");
    assert!(
        mean <= 1.2,
        "mean transitions per Conductor task {mean:.3} is above the 1.2 goal"
    );
}

#[test]
fn fixtures() {
    let env = example_env();
    insta::glob!("fixtures/*.json", |path| {
        let def = read_def(path);
        let compiled = compile(&def, &env).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        insta::assert_snapshot!(serde_json::to_string_pretty(&golden(&compiled)).unwrap());
    });
}
