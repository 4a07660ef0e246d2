//! `ocflow serve`: the Conductor-compatible API, the engine and the worker queues in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use ocflow_local::{LocalHost, LocalOptions};

use crate::run::load_registry;

/// Serve the Conductor-compatible REST API on the embedded engine.
///
/// Workflows registered through POST /api/metadata/workflow are compiled and kept in the
/// SQLite file (--db), with their executions and the worker queues; on start, every kept
/// definition is compiled again and every unfinished execution resumes where it stopped
/// (timers, waiting worker tasks, retries). Workers poll /api/tasks/poll/{taskType} and answer
/// with POST /api/tasks, as they do with Conductor.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The SQLite file (default: in memory, nothing survives a restart).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// The loopback port to listen on.
    #[arg(long, value_name = "N", default_value_t = 8080)]
    port: u16,
    /// The address to bind (127.0.0.1 by default; 0.0.0.0 exposes the API to the network).
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// The OCF service registry `ocf://` URIs resolve through (default: $OCFLOW_REGISTRY_FILE).
    #[arg(long, value_name = "FILE")]
    services: Option<PathBuf>,
    /// A directory of workflow and task definitions registered workflows may refer to.
    #[arg(long, value_name = "DIR")]
    defs: Option<PathBuf>,
}

/// The runtime's worker threads when `TOKIO_WORKER_THREADS` does not say. Store calls block the
/// thread that makes them (the store port is synchronous) until the group commit holding their
/// write is done, so more threads than cores let more starts share each commit: on 2 cores,
/// 16 threads serve about 3,100 starts/s where 2 serve 2,300 (BENCHMARKS.md).
const WORKER_THREADS: usize = 16;

/// Runs the command until interrupted.
pub fn run(args: &Args) -> ExitCode {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(WORKER_THREADS);
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ocflow serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ocflow serve: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: &Args) -> anyhow::Result<()> {
    let registry = load_registry(args.services.as_ref()).map_err(anyhow::Error::msg)?;
    let host = LocalHost::open(LocalOptions {
        db: args.db.clone(),
        registry,
        worker_queues: true,
        definitions: ocflow_local::defs::load_env(args.defs.as_deref()),
        ..LocalOptions::default()
    })?;
    for (name, outcome) in host.load_definitions()? {
        if let Err(e) = outcome {
            eprintln!("ocflow serve: warning: workflow '{name}' not loaded: {e}");
        }
    }
    let resumed = host
        .engine()
        .resume_all()
        .context("cannot list unfinished executions")?;
    // One that cannot resume is left as it was; the server and the others go on.
    for (id, e) in &resumed.failed {
        eprintln!("ocflow serve: warning: execution '{id}' not resumed: {e}");
    }
    let resumed = resumed.resumed;
    let address = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let bound = listener.local_addr()?;
    // One line a launcher can wait for; with --port 0 it tells the chosen port.
    println!(
        "ocflow serve: listening on http://{bound} ({} execution(s) resumed)",
        resumed.len()
    );
    axum::serve(listener, ocflow_api::router(Arc::new(host)))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
