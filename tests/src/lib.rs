//! Shared helpers for ocflow's cross-crate tests.

pub mod moto;

use std::path::{Path, PathBuf};

use ocflow_compiler::{CompiledWorkflow, compile};
use ocflow_local::defs::{load_env, load_workflow};
use ocflow_local::{LocalHost, LocalOptions};
use ocflow_tasks::registry::Registry;

/// The workspace root (the folder holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `../shared` beside the workspace, when present (CI has it; a plain clone may not).
pub fn shared_dir() -> Option<PathBuf> {
    let dir = workspace_root().parent()?.join("shared");
    dir.is_dir().then_some(dir)
}

/// `../shared/conductor-corpus`, or `None` after printing why the calling test skips.
pub fn conductor_corpus(test: &str) -> Option<PathBuf> {
    let dir = shared_dir().map(|s| s.join("conductor-corpus"));
    match dir {
        Some(d) if d.is_dir() => Some(d),
        _ => {
            eprintln!("{test}: skipped: ../shared/conductor-corpus is absent");
            None
        }
    }
}

/// Compiles a workflow file, resolving sub-workflows from `defs`; panics with the diagnostics.
pub fn compile_file(file: &Path, defs: Option<&Path>) -> CompiledWorkflow {
    let (def, _warnings) =
        load_workflow(file).unwrap_or_else(|d| panic!("{} is invalid: {d:?}", file.display()));
    compile(&def, &load_env(defs))
        .unwrap_or_else(|e| panic!("{} does not compile: {e:?}", file.display()))
}

/// The example OCF services, served in-process on a free loopback port for as long as the
/// value lives, and a registry pointing at them.
pub struct ExampleServices {
    /// The registry mapping `ocf://<service>` to this server.
    pub registry: Registry,
    server: tokio::task::JoinHandle<()>,
}

impl ExampleServices {
    /// Starts the services (fresh state) on the current tokio runtime.
    pub async fn start() -> ExampleServices {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, ocflow_example_services::router()).await;
        });
        let registry = ocflow_example_services::registry(&base).to_string();
        ExampleServices {
            registry: Registry::from_json(&registry).expect("example registry"),
            server,
        }
    }

    /// A local host whose HTTP tasks reach these services.
    pub fn host(&self) -> LocalHost {
        LocalHost::open(LocalOptions {
            registry: self.registry.clone(),
            ..LocalOptions::default()
        })
        .expect("local host")
    }
}

impl Drop for ExampleServices {
    fn drop(&mut self) {
        self.server.abort();
    }
}
