//! `ocflow validate`: parse and check definitions, one diagnostic per line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ocflow_dsl::{Diagnostic, DocumentKind, check_document};
use serde_json::json;

/// Exit code when any error was found (clap itself uses 2 for bad usage too).
const EXIT_INVALID: u8 = 2;

/// Check Conductor workflow definitions and report every problem.
///
/// Each FILE is read as JSON; each DIR is walked (recursively) for `*.json` files. A file may
/// hold one workflow definition or an array of them. Files holding other Conductor documents
/// are recognised by their shape and parsed with their own types: task definitions (single or
/// an array) are checked too; start requests with an inline `workflowDef` have that definition
/// checked; event handlers, execution records and single task snippets are only parsed.
/// JSON Schema files (a top-level "$schema" member) are skipped with a note, and so are files
/// found in a directory that do not look like Conductor documents (workflow inputs, service
/// registries): name such a file to check it anyway.
///
/// Errors and warnings go to stderr, one per line: `FILE: POINTER: message` (or
/// `FILE:LINE:COLUMN: message` for JSON syntax errors); warnings say `warning:` and never
/// fail the run. The exit status is 0 when no file has an error, 2 otherwise.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Files or directories to check.
    #[arg(required = true, value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,
    /// Print the result as JSON on stdout ({"files": [...], "diagnostics": [...]}) instead of
    /// lines on stderr.
    #[arg(long)]
    json: bool,
}

/// What was found in one file.
struct Checked {
    file: String,
    /// Set when the file was not checked, with the reason.
    skipped: Option<&'static str>,
    kind: Option<DocumentKind>,
    workflows: usize,
    diagnostics: Vec<Diagnostic>,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let mut files = Vec::new();
    let mut checked = Vec::new();
    for path in &args.paths {
        if let Err(e) = collect(path, &mut files) {
            let file = path.display().to_string();
            checked.push(Checked {
                diagnostics: vec![
                    Diagnostic::error("io", "", format!("cannot read: {e}")).in_file(&file),
                ],
                file,
                skipped: None,
                kind: None,
                workflows: 0,
            });
        }
    }
    checked.extend(files.iter().map(|(file, named)| check_file(file, *named)));

    let errors = checked
        .iter()
        .flat_map(|c| &c.diagnostics)
        .filter(|d| d.is_error())
        .count();
    let warnings = checked.iter().map(|c| c.diagnostics.len()).sum::<usize>() - errors;
    if args.json {
        let report = json!({
            "files": checked.iter().map(|c| json!({
                "file": c.file,
                "kind": c.kind.map(DocumentKind::name),
                "skipped": c.skipped,
                "workflows": c.workflows,
                "valid": !c.diagnostics.iter().any(Diagnostic::is_error),
            })).collect::<Vec<_>>(),
            "diagnostics": checked.iter().flat_map(|c| &c.diagnostics).collect::<Vec<_>>(),
            "errors": errors,
            "warnings": warnings,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        for d in checked.iter().flat_map(|c| &c.diagnostics) {
            eprintln!("{d}");
        }
        for c in &checked {
            if let Some(reason) = c.skipped {
                println!("skipped {}: {reason}", c.file);
            }
        }
        let workflows: usize = checked.iter().map(|c| c.workflows).sum();
        let skipped = checked.iter().filter(|c| c.skipped.is_some()).count();
        println!(
            "checked {} files ({workflows} workflow definitions, {skipped} skipped): {errors} errors, {warnings} warnings",
            checked.len() - skipped
        );
    }
    if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    }
}

/// Checks one file; `named` is false for files found by walking a directory, which are skipped
/// unless they look like Conductor documents.
fn check_file(path: &Path, named: bool) -> Checked {
    let file = path.display().to_string();
    let skip = |reason| Checked {
        file: file.clone(),
        skipped: Some(reason),
        kind: None,
        workflows: 0,
        diagnostics: Vec::new(),
    };
    match std::fs::read_to_string(path) {
        Ok(text) if is_json_schema(&text) => skip("a JSON Schema, not a Conductor document"),
        Ok(text) if !named && !looks_like_conductor(&text) => {
            skip("not a Conductor document (name the file to check it anyway)")
        }
        Ok(text) => {
            let (document, diagnostics) = check_document(&file, &text);
            Checked {
                skipped: None,
                kind: document.as_ref().map(|d| d.kind()),
                workflows: document.as_ref().map_or(0, |d| d.workflows().len()),
                file,
                diagnostics,
            }
        }
        Err(e) => Checked {
            diagnostics: vec![
                Diagnostic::error("io", "", format!("cannot read file: {e}")).in_file(&file),
            ],
            file,
            skipped: None,
            kind: None,
            workflows: 0,
        },
    }
}

/// Whether a file found in a directory walk is worth checking: valid JSON whose shape names a
/// Conductor document, or invalid JSON (which is reported). Workflow inputs, service
/// registries and other data files beside the definitions are left alone.
fn looks_like_conductor(text: &str) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return true;
    };
    let conductor_object = |v: &serde_json::Value| {
        v.as_object().is_some_and(|o| {
            [
                "tasks",
                "taskReferenceName",
                "schemaVersion",
                "workflowDef",
                "startWorkflow",
            ]
            .iter()
            .any(|k| o.contains_key(*k))
                || DocumentKind::of(v) != DocumentKind::Workflow
        })
    };
    match &value {
        serde_json::Value::Array(items) => items.iter().any(conductor_object),
        other => conductor_object(other),
    }
}

/// Whether the text is a JSON Schema document (an object with a top-level `$schema`).
fn is_json_schema(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|value| {
        value
            .get("$schema")
            .is_some_and(serde_json::Value::is_string)
    })
}

/// Adds `path` (a file, named: `true`) or the `*.json` files under it (a directory, found:
/// `false`), sorted.
fn collect(path: &Path, out: &mut Vec<(PathBuf, bool)>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        out.push((path.to_owned(), true));
        return Ok(());
    }
    let found = ocflow_local::defs::json_files(path)?;
    out.extend(found.into_iter().map(|f| (f, false)));
    Ok(())
}
