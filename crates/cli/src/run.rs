//! `ocflow run`: compile a workflow and execute it on the embedded engine.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ocflow_engine::StartOptions;
use ocflow_engine::conductor::{Task, Workflow};
use ocflow_local::{LocalHost, LocalOptions};
use ocflow_tasks::registry::Registry;
use serde_json::Value;

use crate::compile::compile_file;

/// Exit code for an invalid definition or bad usage.
const EXIT_INVALID: u8 = 2;
/// Exit code for an execution that ended in any status but COMPLETED.
const EXIT_NOT_COMPLETED: u8 = 1;

/// Run a Conductor workflow end to end on the embedded engine.
///
/// The definition is compiled to the same state machine Step Functions would run, then
/// executed in-process: HTTP/ocf:// calls, JavaScript and jq run in the very handlers the
/// Lambda functions use, sub-workflows run as child executions, and every step is recorded in
/// SQLite (--db, in memory by default).
///
/// Without --json, tasks are shown as they finish, with durations, then the output. With
/// --json, stdout is exactly one JSON object: the execution in Conductor's shape (workflowId,
/// status, input, output, reasonForIncompletion, tasks[], ...).
///
/// Exit status: 0 when the workflow COMPLETED, 1 for any other end (FAILED, TERMINATED,
/// TIMED_OUT), 2 for an invalid definition or usage.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The workflow definition (JSON).
    file: PathBuf,
    /// The workflow input, as JSON text.
    #[arg(long, value_name = "JSON", conflicts_with = "input_file")]
    input: Option<String>,
    /// A file holding the workflow input.
    #[arg(long, value_name = "F")]
    input_file: Option<PathBuf>,
    /// A directory of workflow and task definitions that SUB_WORKFLOW and tasks refer to.
    #[arg(long, value_name = "DIR")]
    defs: Option<PathBuf>,
    /// The OCF service registry `ocf://` URIs resolve through (default: $OCFLOW_REGISTRY_FILE).
    #[arg(long, value_name = "FILE")]
    services: Option<PathBuf>,
    /// The SQLite file executions are recorded in (default: in memory).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Refuse hosts outside the registry and its allowlist, and link-local addresses, as the
    /// Lambda function does.
    #[arg(long)]
    strict_hosts: bool,
    /// The correlation id to record with the execution.
    #[arg(long, value_name = "ID")]
    correlation_id: Option<String>,
    /// Print only the execution, as one JSON object in Conductor's shape.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let input = match read_input(args) {
        Ok(input) => input,
        Err(message) => {
            eprintln!("ocflow run: {message}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let registry = match load_registry(args.services.as_ref()) {
        Ok(registry) => registry,
        Err(message) => {
            eprintln!("ocflow run: {message}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let Some(compiled) = compile_file(&args.file, args.defs.as_deref()) else {
        return ExitCode::from(EXIT_INVALID);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ocflow run: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = LocalOptions {
        db: args.db.clone(),
        registry,
        strict_hosts: args.strict_hosts,
        ..LocalOptions::default()
    };
    let result = runtime.block_on(async {
        let host = LocalHost::open(options)?;
        host.register(&compiled)?;
        let start = StartOptions {
            correlation_id: args.correlation_id.clone(),
            ..StartOptions::default()
        };
        let id = host.start(&compiled.name, input, start)?;
        if args.json {
            host.engine().wait(&id).await?;
        } else {
            follow(&host, &id).await?;
        }
        host.workflow(&id)
    });
    let workflow = match result {
        Ok(workflow) => workflow,
        Err(e) => {
            eprintln!("ocflow run: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&workflow).unwrap_or_default()
        );
    } else {
        print_summary(&workflow);
    }
    if workflow.status == "COMPLETED" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOT_COMPLETED)
    }
}

fn read_input(args: &Args) -> Result<Value, String> {
    let (text, origin) = match (&args.input, &args.input_file) {
        (Some(text), _) => (text.clone(), "--input".to_owned()),
        (None, Some(file)) => (
            std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?,
            file.display().to_string(),
        ),
        (None, None) => return Ok(Value::Object(Default::default())),
    };
    serde_json::from_str(&text).map_err(|e| format!("{origin} is not valid JSON: {e}"))
}

/// The registry from `--services`, or from the environment.
pub(crate) fn load_registry(file: Option<&PathBuf>) -> Result<Registry, String> {
    match file {
        Some(file) => Registry::load(file).map_err(|e| e.to_string()),
        None => Registry::from_env(&ocflow_tasks::registry::ProcessEnv).map_err(|e| e.to_string()),
    }
}

/// Prints each task once it has finished, until the execution ends.
async fn follow(host: &LocalHost, id: &str) -> Result<(), ocflow_local::Error> {
    let mut printed = HashSet::new();
    let wait = host.engine().wait(id);
    tokio::pin!(wait);
    loop {
        tokio::select! {
            ended = &mut wait => {
                ended?;
                print_new_tasks(&host.workflow(id)?, &mut printed);
                return Ok(());
            }
            () = tokio::time::sleep(Duration::from_millis(50)) => {
                print_new_tasks(&host.workflow(id)?, &mut printed);
            }
        }
    }
}

fn print_new_tasks(workflow: &Workflow, printed: &mut HashSet<String>) {
    for task in &workflow.tasks {
        if is_terminal(&task.status) && printed.insert(task.task_id.clone()) {
            println!("{}", task_line(task));
        }
    }
}

fn is_terminal(status: &str) -> bool {
    !matches!(status, "SCHEDULED" | "IN_PROGRESS")
}

fn task_line(task: &Task) -> String {
    let mark = match task.status.as_str() {
        "COMPLETED" => "✓",
        "COMPLETED_WITH_ERRORS" | "SKIPPED" => "!",
        "CANCELED" => "-",
        _ => "✗",
    };
    let duration = (task.end_time - task.start_time).max(0);
    let retries = match task.retry_count {
        0 => String::new(),
        1 => ", after 1 retry".to_owned(),
        n => format!(", after {n} retries"),
    };
    let reason = task
        .reason_for_incompletion
        .as_deref()
        .map(|r| format!("\n      {r}"))
        .unwrap_or_default();
    format!(
        "  {mark} {:<28} {:<18} {:<22} {duration:>6} ms{retries}{reason}",
        task.reference_task_name, task.task_type, task.status
    )
}

fn print_summary(workflow: &Workflow) {
    let duration = (workflow.end_time - workflow.start_time).max(0);
    println!(
        "workflow {} ({}) {} in {duration} ms",
        workflow.workflow_name, workflow.workflow_id, workflow.status
    );
    if let Some(reason) = &workflow.reason_for_incompletion {
        println!("reason: {reason}");
    }
    println!(
        "output: {}",
        serde_json::to_string_pretty(&workflow.output).unwrap_or_default()
    );
}
