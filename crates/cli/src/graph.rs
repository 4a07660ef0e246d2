//! `ocflow graph`: draw a workflow, or its compiled state machine.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::compile::compile_file;
use ocflow_local::defs::{load_workflow, print_diagnostics};

/// The drawing formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    /// A Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
    /// A Graphviz digraph (`dot -Tsvg`).
    Dot,
}

/// Draw a Conductor workflow (tasks, cases, branches, loops), or with --asl its compiled
/// Step Functions state machine, as Mermaid or Graphviz DOT on stdout.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The workflow definition (JSON).
    file: PathBuf,
    /// The output format.
    #[arg(long, value_enum, default_value = "mermaid")]
    format: Format,
    /// Draw the compiled state machine instead of the Conductor workflow.
    #[arg(long)]
    asl: bool,
    /// A directory of workflow and task definitions (with --asl, for SUB_WORKFLOW).
    #[arg(long, value_name = "DIR")]
    defs: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let drawing = if args.asl {
        let Some(compiled) = compile_file(&args.file, args.defs.as_deref()) else {
            return ExitCode::from(2);
        };
        match args.format {
            Format::Mermaid => ocflow_asl::to_mermaid(&compiled.machine),
            Format::Dot => ocflow_asl::to_dot(&compiled.machine),
        }
    } else {
        let def = match load_workflow(&args.file) {
            Ok((def, _warnings)) => def,
            Err(diagnostics) => {
                print_diagnostics(&diagnostics);
                return ExitCode::from(2);
            }
        };
        match args.format {
            Format::Mermaid => ocflow_dsl::graph::to_mermaid(&def),
            Format::Dot => ocflow_dsl::graph::to_dot(&def),
        }
    };
    print!("{drawing}");
    ExitCode::SUCCESS
}
