//! `ocflow`: compile Conductor workflows to Step Functions and run them locally.
//!
//! Each subcommand lives in its own module with an `Args` struct (clap derive) and a `run`
//! function returning the process exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod compile;
mod graph;
mod run;
mod serve;
mod synth;
mod validate;

/// Compile Conductor workflows to AWS Step Functions and run them locally.
#[derive(Debug, Parser)]
#[command(name = "ocflow", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands; each one's help is the doc comment of its `Args`.
#[derive(Debug, Subcommand)]
enum Command {
    #[allow(missing_docs)]
    Validate(validate::Args),
    #[allow(missing_docs)]
    Compile(compile::Args),
    #[allow(missing_docs)]
    Graph(graph::Args),
    #[allow(missing_docs)]
    Run(run::Args),
    #[allow(missing_docs)]
    Serve(serve::Args),
    #[allow(missing_docs)]
    Synth(synth::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Compile(args) => compile::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Synth(args) => synth::run(&args),
    }
}
