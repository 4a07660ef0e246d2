//! `ocflow compile`: a Conductor workflow to Step Functions ASL, with its cost figures.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ocflow_compiler::{CompiledWorkflow, compile, stats};

use ocflow_local::defs::{load_env, load_workflow, print_diagnostics};

/// Exit code for an invalid or uncompilable definition.
const EXIT_INVALID: u8 = 2;

/// Compile a Conductor workflow to an AWS Step Functions state machine (ASL, JSONata mode).
///
/// Without -o the machine is printed on stdout. With -o OUT, every machine (the workflow and the
/// sub-workflows it starts) is written to OUT/<name>.asl.json, with its task map (which state
/// runs which Conductor task) in OUT/<name>.taskmap.json.
///
/// --stats prints, for each machine, the number of states and, for each path from start to
/// end, the state transitions, Lambda invocations and Conductor tasks executed, and the
/// transitions per Conductor task (Standard workflows are billed per transition).
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The workflow definition (JSON).
    file: PathBuf,
    /// A directory of workflow and task definitions that SUB_WORKFLOW and tasks refer to.
    #[arg(long, value_name = "DIR")]
    defs: Option<PathBuf>,
    /// Write the machines to this directory instead of printing the main one.
    #[arg(short, long, value_name = "OUT")]
    out: Option<PathBuf>,
    /// Print states, transitions and Lambda invocations per path (to stderr when printing the
    /// machine on stdout).
    #[arg(long)]
    stats: bool,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let Some(compiled) = compile_file(&args.file, args.defs.as_deref()) else {
        return ExitCode::from(EXIT_INVALID);
    };
    match &args.out {
        Some(out) => {
            if let Err(e) = write_all(&compiled, out) {
                eprintln!("{}: cannot write: {e}", out.display());
                return ExitCode::FAILURE;
            }
        }
        None => println!("{}", to_pretty(&compiled.machine)),
    }
    if args.stats {
        let report = stats_report(&compiled);
        if args.out.is_some() {
            print!("{report}");
        } else {
            eprint!("{report}");
        }
    }
    ExitCode::SUCCESS
}

/// Loads, validates and compiles `file`, printing every diagnostic; `None` when it fails.
pub fn compile_file(file: &Path, defs: Option<&Path>) -> Option<CompiledWorkflow> {
    let (def, warnings) = match load_workflow(file) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            return None;
        }
    };
    print_diagnostics(&warnings);
    let env = load_env(defs);
    match compile(&def, &env) {
        Ok(compiled) => Some(compiled),
        Err(errors) => {
            for error in errors {
                let hint = error
                    .hint
                    .as_deref()
                    .map(|h| format!(" (hint: {h})"))
                    .unwrap_or_default();
                eprintln!("{}: {}: {error}{hint}", file.display(), error.pointer);
            }
            None
        }
    }
}

fn to_pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The main machine and its children, each as (name, machine, task map).
fn machines(compiled: &CompiledWorkflow) -> impl Iterator<Item = &CompiledWorkflow> {
    std::iter::once(compiled).chain(compiled.children.values())
}

fn write_all(compiled: &CompiledWorkflow, out: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    for machine in machines(compiled) {
        let asl = out.join(format!("{}.asl.json", machine.name));
        std::fs::write(&asl, to_pretty(&machine.machine) + "\n")?;
        let map = out.join(format!("{}.taskmap.json", machine.name));
        std::fs::write(&map, to_pretty(&machine.task_map) + "\n")?;
        println!("wrote {} and {}", asl.display(), map.display());
    }
    Ok(())
}

/// The `--stats` table of every machine.
fn stats_report(compiled: &CompiledWorkflow) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for machine in machines(compiled) {
        let stats = stats(machine);
        let _ = writeln!(
            out,
            "{}: {} states, {} path(s)",
            machine.name,
            stats.states,
            stats.paths.len()
        );
        let _ = writeln!(
            out,
            "  {:>4}  {:>11}  {:>7}  {:>14}  {:>16}",
            "path", "transitions", "lambdas", "conductor tasks", "transitions/task"
        );
        for (i, path) in stats.paths.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {:>4}  {:>11}  {:>7}  {:>14}  {:>16.2}",
                i + 1,
                path.transitions,
                path.lambda_invocations,
                path.tasks,
                path.transitions_per_task()
            );
        }
        let _ = writeln!(
            out,
            "  mean transitions per Conductor task: {:.2}",
            stats.mean_transitions_per_task()
        );
    }
    out
}
