//! The local AWS API emulator for these tests: moto, started once per test process through
//! `tests/moto/launch.py` from a venv under `target/tools/moto-venv` (created here when missing).
//! The server exits when the test process does: it watches its standard input, which closes
//! with the process.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

use aws_sdk_sfn::config::{Credentials, Region};
use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType};
use ocflow_aws::aws_config::SdkConfig;

/// Runs the launcher as `__main__` and exits as soon as standard input closes.
///
/// It also closes a race in moto 5.2.5's task-token states with `HeartbeatSeconds`: the message
/// is sent before the heartbeat endpoint exists, so a worker that answers at once is either
/// ignored for `HeartbeatSeconds` (success) or refused with `InvalidToken` (heartbeat). AWS
/// accepts both; so does the patched endpoint.
const WRAPPER: &str = r#"
import os, runpy, sys, threading
from moto.stepfunctions.parser.asl.eval.callback import callback

_setup_heartbeat_endpoint = callback.CallbackEndpoint.setup_heartbeat_endpoint
def setup_heartbeat_endpoint(self, heartbeat_seconds):
    endpoint = _setup_heartbeat_endpoint(self, heartbeat_seconds)
    if self.get_outcome() is not None:
        endpoint.notify()
    return endpoint
def notify_heartbeat(self):
    if self._heartbeat_endpoint is not None:
        self._heartbeat_endpoint.notify()
    return True
callback.CallbackEndpoint.setup_heartbeat_endpoint = setup_heartbeat_endpoint
callback.CallbackEndpoint.notify_heartbeat = notify_heartbeat

def watch():
    sys.stdin.read()
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
"#;

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    _child: Child,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's python, creating the venv (atomically, by rename) when it is missing.
fn venv_python() -> PathBuf {
    let root = workspace_root();
    let venv = root.join("target/tools/moto-venv");
    let ready = venv.join(".ocflow-ready");
    if !ready.exists() {
        let staging = root.join(format!("target/tools/moto-venv.{}", std::process::id()));
        let run = |command: &mut Command| {
            let status = command.status().expect("python3 runs");
            assert!(status.success(), "{command:?} failed");
        };
        run(Command::new("python3").arg("-m").arg("venv").arg(&staging));
        run(Command::new(staging.join("bin/python"))
            .args(["-m", "pip", "install", "-q", "-r"])
            .arg(root.join("tests/moto/requirements.txt")));
        std::fs::write(staging.join(".ocflow-ready"), "").expect("marker written");
        if std::fs::rename(&staging, &venv).is_err() {
            // Another process won the race (or a broken venv is in the way).
            let _ = std::fs::remove_dir_all(&staging);
            assert!(
                ready.exists(),
                "{} exists but is incomplete",
                venv.display()
            );
        }
    }
    venv.join("bin/python")
}

fn start() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let debug = std::env::var_os("OCFLOW_MOTO_DEBUG").is_some();
    let mut child = Command::new(venv_python())
        .arg("-c")
        .arg(WRAPPER)
        .arg(workspace_root().join("tests/moto/launch.py"))
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(if debug {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("moto starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.trim() == "ready" {
                let _ = ready_tx.send(());
            }
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("moto printed `ready`");
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _child: child,
    }
}

/// The test process's moto server.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start)
}

/// An SDK configuration pointing at moto, built like the functions build theirs.
pub async fn sdk_config() -> SdkConfig {
    ocflow_aws::config::loader()
        .region(Region::new("us-east-1"))
        .endpoint_url(&moto().endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates a Standard state machine and returns its ARN.
pub async fn create_machine(
    sfn: &aws_sdk_sfn::Client,
    name: &str,
    definition: &serde_json::Value,
) -> String {
    sfn.create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/ocflow-test")
        .r#type(StateMachineType::Standard)
        .send()
        .await
        .expect("state machine created")
        .state_machine_arn
}

/// Waits (up to 60 s) until an execution leaves RUNNING.
pub async fn finished(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..600 {
        let output = sfn
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .expect("execution described");
        if output.status != ExecutionStatus::Running {
            return output;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{execution_arn} still running after 60 s");
}

/// Polls a worker queue until one task arrives (up to 40 one-second polls).
pub async fn one_task(worker: &ocflow_aws::WorkerClient) -> ocflow_aws::worker::PolledTask {
    for _ in 0..40 {
        let mut tasks = worker
            .poll(1, Duration::from_secs(1), Some("worker-1"))
            .await
            .expect("queue polled");
        if let Some(task) = tasks.pop() {
            return task;
        }
    }
    panic!("no worker task arrived");
}
