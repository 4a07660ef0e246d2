//! The local AWS API emulator: a moto server started through `tests/moto/launch.py`, from a
//! venv under `target/tools/moto-venv` (created when missing). The server exits when the value
//! is dropped, and also when the test process dies: the launcher is wrapped so that it exits
//! as soon as its standard input closes.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ocflow_aws::aws_config::SdkConfig;
use ocflow_aws::aws_sdk_sfn::config::{Credentials, Region};

use crate::workspace_root;

/// How long the launcher may take to print `ready` (a cold moto import takes a few seconds).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the launcher as `__main__` in a process that exits when its standard input closes.
const STDIN_WATCHER: &str = r#"
import os, runpy, sys, threading
def watch():
    sys.stdin.read()
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
"#;

/// Why moto could not be started.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    /// A command (python3, pip, the launcher) could not run or failed.
    #[error("{command} failed: {detail}")]
    Command {
        /// The command line.
        command: String,
        /// The I/O error or the exit status.
        detail: String,
    },
    /// The launcher never printed `ready`.
    #[error("moto did not print `ready` within {0:?}")]
    NotReady(Duration),
}

/// A running moto server, stopped on drop.
#[derive(Debug)]
pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    child: Child,
}

impl Moto {
    /// Starts a server on a free loopback port and waits until it accepts requests. Set
    /// `OCFLOW_MOTO_DEBUG=1` to see its log (and JSONata failures) on standard error.
    pub fn start() -> Result<Moto, MotoError> {
        let python = venv_python(&workspace_root())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| MotoError::Command {
                command: "bind 127.0.0.1:0".into(),
                detail: e.to_string(),
            })?
            .port();
        let debug = std::env::var_os("OCFLOW_MOTO_DEBUG").is_some();
        let mut command = Command::new(&python);
        command
            .arg("-c")
            .arg(STDIN_WATCHER)
            .arg(workspace_root().join("tests/moto/launch.py"))
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if debug {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        let mut child = command.spawn().map_err(|e| MotoError::Command {
            command: format!("{command:?}"),
            detail: e.to_string(),
        })?;
        let (ready_tx, ready_rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.trim() == "ready" {
                        let _ = ready_tx.send(());
                    }
                }
            });
        }
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        ready_rx
            .recv_timeout(READY_TIMEOUT)
            .map_err(|_| MotoError::NotReady(READY_TIMEOUT))?;
        Ok(moto)
    }

    /// An SDK configuration pointing at this server, built like the functions build theirs
    /// (`ocflow_aws::config`), with moto's test credentials and region `us-east-1`.
    pub async fn sdk_config(&self) -> SdkConfig {
        ocflow_aws::config::loader()
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The venv's python, creating the venv (atomically, by rename) when it is missing.
fn venv_python(root: &Path) -> Result<PathBuf, MotoError> {
    let venv = root.join("target/tools/moto-venv");
    if !venv.join(".ocflow-ready").exists() {
        let staging = root.join(format!("target/tools/moto-venv.{}", std::process::id()));
        run(Command::new("python3").arg("-m").arg("venv").arg(&staging))?;
        run(Command::new(staging.join("bin/python"))
            .args(["-m", "pip", "install", "-q", "-r"])
            .arg(root.join("tests/moto/requirements.txt")))?;
        std::fs::write(staging.join(".ocflow-ready"), "").map_err(|e| MotoError::Command {
            command: "write .ocflow-ready".into(),
            detail: e.to_string(),
        })?;
        if std::fs::rename(&staging, &venv).is_err() {
            // Another process created it first.
            let _ = std::fs::remove_dir_all(&staging);
        }
    }
    Ok(venv.join("bin/python"))
}

fn run(command: &mut Command) -> Result<(), MotoError> {
    let line = format!("{command:?}");
    let failed = |detail: String| MotoError::Command {
        command: line,
        detail,
    };
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(failed(status.to_string())),
        Err(e) => Err(failed(e.to_string())),
    }
}
