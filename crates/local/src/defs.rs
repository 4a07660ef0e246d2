//! Loading workflow and task definitions from files, for the hosts and commands that compile
//! them.

use std::path::{Path, PathBuf};

use ocflow_compiler::CompileEnv;
use ocflow_dsl::model::WorkflowDef;
use ocflow_dsl::{Diagnostic, Document, check_document};

/// Reads and validates the one workflow definition in `path`. On failure, the diagnostics
/// (errors only are fatal; warnings are returned too) are returned for printing.
pub fn load_workflow(path: &Path) -> Result<(WorkflowDef, Vec<Diagnostic>), Vec<Diagnostic>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::error("io", "", format!("cannot read file: {e}")).in_file(&file)]
    })?;
    let (document, diagnostics) = check_document(&file, &text);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    let mut workflows = document
        .as_ref()
        .map(Document::workflows)
        .unwrap_or_default();
    match workflows.len() {
        1 => Ok((workflows.remove(0).1.clone(), diagnostics)),
        n => Err(vec![
            Diagnostic::error(
                "not-one-workflow",
                "",
                format!("expected one workflow definition, found {n}"),
            )
            .in_file(&file),
        ]),
    }
}

/// A compile environment holding every workflow and task definition found under `dir`
/// (recursively, `*.json`); files that are not valid Conductor documents are left out with a
/// warning on stderr.
pub fn load_env(dir: Option<&Path>) -> CompileEnv {
    let mut env = CompileEnv::new();
    let Some(dir) = dir else {
        return env;
    };
    let files = json_files(dir).unwrap_or_else(|e| {
        eprintln!("{}: warning: cannot read --defs: {e}", dir.display());
        Vec::new()
    });
    for file in files {
        let name = file.display().to_string();
        let Ok(text) = std::fs::read_to_string(&file) else {
            eprintln!("{name}: warning: cannot read, left out of --defs");
            continue;
        };
        let (document, diagnostics) = check_document(&name, &text);
        match document {
            Some(document) if !diagnostics.iter().any(Diagnostic::is_error) => {
                if matches!(document, Document::Workflow(_) | Document::Workflows(_)) {
                    for (_, workflow) in document.workflows() {
                        env.add_workflow(workflow.clone());
                    }
                }
                match document {
                    Document::TaskDef(def) => env.add_task_def(*def),
                    Document::TaskDefs(defs) => defs.into_iter().for_each(|d| env.add_task_def(d)),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    env
}

/// Every `*.json` file under `dir` (recursively), sorted; fails on a directory it cannot read.
pub fn json_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Prints diagnostics to stderr, one per line.
pub fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}
