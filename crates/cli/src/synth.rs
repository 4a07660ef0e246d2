//! `ocflow synth`: the SAM/CloudFormation deployment of a folder of workflows.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use ocflow_compiler::CompiledWorkflow;
use ocflow_synth::{SynthOptions, SynthWorkflow, TEMPLATE_FILE, WorkflowOptions, synthesize};

use crate::compile::compile_file;

/// Exit code for an invalid workflow, options file or deployment.
const EXIT_INVALID: u8 = 2;

/// The definition file of each workflow folder.
const WORKFLOW_FILE: &str = "workflow.json";

/// Write the SAM template that deploys every workflow in DIR to AWS Step Functions.
///
/// Each DIR/<folder>/workflow.json is compiled (sub-workflows resolved from DIR, each child
/// machine deployed once); DIR/<folder>/ocflow.json may choose {"type": "EXPRESS"}. The result
/// is OUT/template.yaml and OUT/statemachines/<name>.asl.json; deploy it with
/// `sam build && sam deploy --guided` from OUT (see infra/README.md).
///
/// The template's functions are built from the workspace's functions/ folder, found above DIR
/// unless --functions names it; CodeUri is the relative path from OUT to it.
///
/// Errors go to stderr as `FILE: POINTER: message`; the exit status is 2 when a workflow,
/// its options or the deployment is invalid.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The folder holding one sub-folder per workflow (`workflows/`).
    dir: PathBuf,
    /// Where to write template.yaml and statemachines/.
    #[arg(short, long, value_name = "OUT")]
    out: PathBuf,
    /// The functions/ folder holding the Lambda function crates (default: the nearest
    /// functions/ folder in DIR or above it).
    #[arg(long, value_name = "DIR")]
    functions: Option<PathBuf>,
}

/// One workflow folder: its definition file and options.
struct Folder {
    file: PathBuf,
    options: WorkflowOptions,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    match synth(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid) => ExitCode::from(EXIT_INVALID),
        Err(Failure::Message(message)) => {
            eprintln!("{message}");
            ExitCode::from(EXIT_INVALID)
        }
        Err(Failure::Io(message)) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Why the command failed.
enum Failure {
    /// Diagnostics were already printed.
    Invalid,
    /// An invalid input, to print.
    Message(String),
    /// An I/O failure writing the output, to print.
    Io(String),
}

fn synth(args: &Args) -> Result<(), Failure> {
    let folders = workflow_folders(&args.dir)?;
    let mut failed = false;
    // Machine name → (workflow, the file it came from). Top-level workflows go first, so a
    // workflow that is also another's child keeps its own options.
    let mut workflows: BTreeMap<String, (SynthWorkflow, PathBuf)> = BTreeMap::new();
    let mut children: Vec<(CompiledWorkflow, PathBuf)> = Vec::new();
    for folder in folders {
        let Some(compiled) = compile_file(&folder.file, Some(&args.dir)) else {
            failed = true;
            continue;
        };
        let CompiledWorkflow {
            name,
            machine,
            children: compiled_children,
            ..
        } = compiled;
        children.extend(
            compiled_children
                .into_values()
                .map(|child| (child, folder.file.clone())),
        );
        let workflow = SynthWorkflow::new(name.clone(), machine).with_options(folder.options);
        workflows.insert(name, (workflow, folder.file));
    }
    if failed {
        return Err(Failure::Invalid);
    }
    for (child, parent_file) in children {
        workflows
            .entry(child.name.clone())
            .or_insert_with(|| (SynthWorkflow::new(child.name, child.machine), parent_file));
    }

    let functions = match &args.functions {
        Some(dir) => dir.clone(),
        None => find_functions(&args.dir)?,
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::Io(format!("{}: cannot create: {e}", args.out.display())))?;
    let options = SynthOptions {
        functions_dir: relative_path(&args.out, &functions)?,
        ..SynthOptions::default()
    };

    let files: BTreeMap<&str, &Path> = workflows
        .iter()
        .map(|(name, (_, file))| (name.as_str(), file.as_path()))
        .collect();
    let list: Vec<SynthWorkflow> = workflows.values().map(|(w, _)| w.clone()).collect();
    let output = synthesize(&list, &options).map_err(|e| {
        let file = e
            .workflow()
            .and_then(|w| files.get(w))
            .map(|f| format!("{}: ", f.display()))
            .unwrap_or_default();
        Failure::Message(format!("{file}{e}"))
    })?;
    output
        .write_to(&args.out)
        .map_err(|e| Failure::Io(e.to_string()))?;
    println!(
        "wrote {} and {} state machine(s) in {}",
        args.out.join(TEMPLATE_FILE).display(),
        output.machines.len(),
        args.out.join("statemachines").display()
    );
    Ok(())
}

/// Every `DIR/<folder>/workflow.json`, in name order, with its options.
fn workflow_folders(dir: &Path) -> Result<Vec<Folder>, Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::Message(format!("{}: cannot read: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path().join(WORKFLOW_FILE))
        .filter(|file| file.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Failure::Message(format!(
            "{}: no workflow found (expected <folder>/{WORKFLOW_FILE})",
            dir.display()
        )));
    }
    files
        .into_iter()
        .map(|file| {
            let folder = file.parent().unwrap_or(dir);
            let options =
                WorkflowOptions::read(folder).map_err(|e| Failure::Message(e.to_string()))?;
            Ok(Folder { file, options })
        })
        .collect()
}

/// The nearest `functions/` folder in `dir` or one of its ancestors.
fn find_functions(dir: &Path) -> Result<PathBuf, Failure> {
    let start = std::fs::canonicalize(dir)
        .map_err(|e| Failure::Message(format!("{}: {e}", dir.display())))?;
    start
        .ancestors()
        .map(|a| a.join("functions"))
        .find(|f| f.is_dir())
        .ok_or_else(|| {
            Failure::Message(format!(
                "{}: no functions/ folder in it or above it; name it with --functions",
                dir.display()
            ))
        })
}

/// The path from directory `from` to `to`, `/`-separated, both resolved on disk.
fn relative_path(from: &Path, to: &Path) -> Result<String, Failure> {
    let resolve = |path: &Path| {
        std::fs::canonicalize(path)
            .map_err(|e| Failure::Message(format!("{}: {e}", path.display())))
    };
    Ok(relative(&resolve(from)?, &resolve(to)?))
}

/// The path from absolute directory `from` to absolute path `to`, `/`-separated.
fn relative(from: &Path, to: &Path) -> String {
    let names = |path: &Path| -> Vec<String> {
        path.components()
            .filter_map(|c| match c {
                Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    };
    let (from, to) = (names(from), names(to));
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let parts: Vec<&str> = std::iter::repeat_n("..", from.len() - common)
        .chain(to[common..].iter().map(String::as_str))
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_to_the_common_ancestor() {
        let rel = |a: &str, b: &str| relative(Path::new(a), Path::new(b));
        assert_eq!(rel("/w/infra/build", "/w/functions"), "../../functions");
        assert_eq!(rel("/w/out", "/w/functions"), "../functions");
        assert_eq!(rel("/w", "/w/functions"), "functions");
        assert_eq!(rel("/tmp/x/y/z", "/w/functions"), "../../../../w/functions");
        assert_eq!(rel("/w/functions", "/w/functions"), ".");
    }
}
