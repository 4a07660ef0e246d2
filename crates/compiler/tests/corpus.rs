//! Every definition of the Conductor corpus either compiles to a machine that `asl-validator`
//! accepts, or fails with an "unsupported" diagnostic.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ocflow_compiler::{CompileEnv, CompileError, ErrorCode, compile, stats};
use ocflow_dsl::model::WorkflowDef;
use ocflow_dsl::parse_document;

const CORPUS: &str = "../shared/conductor-corpus";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `(label, definition)` for every workflow in the corpus: `*.ARRAY.json` unpacked, and the
/// inline `workflowDef` of start requests (the ephemeral kitchen-sink files).
fn definitions(dir: &Path) -> Vec<(String, WorkflowDef)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.starts_with("aux-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let document = parse_document(&name, &text)
            .unwrap_or_else(|e| panic!("{name}: not a Conductor document: {e:?}"));
        for (pointer, def) in document.workflows() {
            let label = if pointer.is_empty() {
                name.clone()
            } else {
                format!("{name}#{pointer}")
            };
            out.push((label, def.clone()));
        }
    }
    out
}

/// The asl-validator binary: on PATH or under target/tools.
fn validator() -> PathBuf {
    let local = workspace().join("target/tools/node_modules/.bin/asl-validator");
    if local.exists() {
        return local;
    }
    let on_path = Command::new("asl-validator").arg("--version").output();
    if on_path.is_ok_and(|o| o.status.success()) {
        return PathBuf::from("asl-validator");
    }
    panic!(
        "asl-validator is not installed: run `npm install --prefix target/tools asl-validator@4` in the workspace root"
    );
}

fn is_unsupported(errors: &[CompileError]) -> bool {
    errors.iter().all(|e| e.code == ErrorCode::Unsupported)
}

#[test]
fn corpus_compiles_and_validates() {
    let dir = workspace().join(CORPUS);
    if !dir.exists() {
        println!("skipped: {} absent", dir.display());
        return;
    }
    let defs = definitions(&dir);
    assert_eq!(defs.len(), 91, "the corpus holds 91 definitions");
    let mut env = CompileEnv::new();
    for (_, def) in &defs {
        env.add_workflow(def.clone());
    }
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut unsupported = Vec::new();
    let mut failures = Vec::new();
    let mut ratios = Vec::new();
    for (label, def) in &defs {
        match compile(def, &env) {
            Ok(compiled) => {
                ratios.push(stats(&compiled).mean_transitions_per_task());
                let machines = std::iter::once(&compiled).chain(compiled.children.values());
                for (k, machine) in machines.enumerate() {
                    let file = out.path().join(format!("{}-{k}.json", files.len()));
                    std::fs::write(&file, serde_json::to_vec(&machine.machine).unwrap()).unwrap();
                    files.push((format!("{label} ({})", machine.name), file));
                }
            }
            Err(errors) if is_unsupported(&errors) => {
                unsupported.push(format!("{label}: {}", errors[0]));
            }
            Err(errors) => failures.push(format!("{label}: {errors:?}")),
        }
    }
    // One validator run for every machine; its report names each rejected file.
    let mut command = Command::new(validator());
    for (_, file) in &files {
        command.arg("--json-path").arg(file);
    }
    let result = command.output().expect("run asl-validator");
    let report = String::from_utf8_lossy(&result.stdout).into_owned()
        + &String::from_utf8_lossy(&result.stderr);
    let rejected = rejections(&report);
    for (label, file) in &files {
        if let Some(reason) = rejected.get(file.to_string_lossy().as_ref()) {
            failures.push(format!("{label}: asl-validator: {reason}"));
        }
    }
    if !result.status.success() && rejected.is_empty() {
        failures.push(format!("asl-validator failed:\n{report}"));
    }
    println!(
        "corpus: {} definitions, {} compiled ({} machines validated), {} unsupported",
        defs.len(),
        defs.len() - unsupported.len() - failures.len(),
        files.len(),
        unsupported.len()
    );
    for line in &unsupported {
        println!("  unsupported: {line}");
    }
    let mean = ratios.iter().sum::<f64>() / ratios.len().max(1) as f64;
    println!("  mean transitions per executed Conductor task: {mean:.3}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The files asl-validator's report calls invalid, with the lines explaining why.
///
/// The report reads `✕ State machine definition "FILE" is invalid:` followed by indented
/// reasons, or `✓ ... "FILE" is valid`.
fn rejections(report: &str) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    let mut current: Option<String> = None;
    for line in report.lines() {
        if line.contains("State machine definition") {
            current = line
                .contains("is invalid")
                .then(|| line.split('"').nth(1).map(str::to_owned))
                .flatten();
            if let Some(file) = &current {
                out.entry(file.clone()).or_default();
            }
        } else if let Some(file) = &current {
            let reason = out.entry(file.clone()).or_default();
            reason.push_str(line.trim());
            reason.push(' ');
        }
    }
    out
}
