//! Conductor's Python SDK (PyPI `conductor-python`, pinned in
//! `tests/compat/conductor-python/requirements.txt`), unchanged, against `ocflow serve`: its
//! workflow client registers and starts a workflow, its `TaskHandler` worker completes the SIMPLE
//! task, and the client sees the worker's output (`tests/compat/conductor-python/compat_test.py`
//! says what is checked).
//!
//! The SDK lives in a venv under `target/tools/conductor-venv`, which `tests/run.sh` installs;
//! when it is missing, this test creates it (pip needs PyPI).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the server may take to print its listening line.
const SERVER_READY: Duration = Duration::from_secs(30);
/// How long the Python side may take (it needs a few seconds; its own waits are 20 s).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn compat_dir() -> PathBuf {
    root().join("tests/compat/conductor-python")
}

/// A child process group (the process and whatever it spawned), killed on drop, also when the
/// test panics.
struct Group {
    child: Child,
    killed: bool,
}

impl Group {
    fn spawn(command: &mut Command) -> Group {
        use std::os::unix::process::CommandExt;
        let child = command
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        Group {
            child,
            killed: false,
        }
    }

    fn kill(&mut self) {
        if std::mem::replace(&mut self.killed, true) {
            return;
        }
        // The group id is the child's pid; the TaskHandler's worker processes are in it too.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `ocflow serve` on a free port with its database in `db`; returns it with its
/// `http://127.0.0.1:PORT`.
fn serve(db: &Path) -> (Group, String) {
    let mut server = Group::spawn(
        Command::new(env!("CARGO_BIN_EXE_ocflow"))
            .args(["serve", "--port", "0", "--db"])
            .arg(db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    let stdout = server.child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let url = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(url);
            }
        }
    });
    let url = rx
        .recv_timeout(SERVER_READY)
        .expect("ocflow serve prints its listening line");
    (server, url)
}

/// The venv's python, installing the pinned requirements when the venv is missing or was
/// made from other requirements (its `.ocflow-ready` marker holds the requirements it has).
fn venv_python() -> PathBuf {
    let tools = root().join("target/tools");
    let venv = tools.join("conductor-venv");
    let requirements = std::fs::read(compat_dir().join("requirements.txt"))
        .expect("tests/compat/conductor-python/requirements.txt");
    let ready = std::fs::read(venv.join(".ocflow-ready")).ok();
    if ready.as_deref() != Some(requirements.as_slice()) {
        let staging = tools.join(format!("conductor-venv.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let installed = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&staging)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(staging.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(compat_dir().join("requirements.txt"))
                .status()
                .is_ok_and(|s| s.success());
        if !installed {
            let _ = std::fs::remove_dir_all(&staging);
            panic!(
                "cannot install conductor-python into {} (pip needs PyPI): run `bash \
                 tests/run.sh` once with network access",
                venv.display()
            );
        }
        std::fs::write(staging.join(".ocflow-ready"), &requirements).expect("write the marker");
        let _ = std::fs::remove_dir_all(&venv);
        if std::fs::rename(&staging, &venv).is_err() {
            // Another test process installed it first.
            let _ = std::fs::remove_dir_all(&staging);
        }
    }
    venv.join("bin/python")
}

/// Reads a pipe to the end on a thread.
fn collect(pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(pipe).read_to_string(&mut text);
        text
    })
}

#[test]
fn conductor_python_client_and_worker_run_a_workflow_on_ocflow_serve() {
    let python = venv_python();
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = serve(&dir.path().join("ocflow.db"));

    let mut script = Group::spawn(
        Command::new(&python)
            .current_dir(compat_dir())
            .arg("compat_test.py")
            .arg(format!("{url}/api"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let stdout = collect(script.child.stdout.take().expect("piped stdout"));
    let stderr = collect(script.child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(status) = script.child.try_wait().expect("wait for compat_test.py") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Ends the worker processes too, so that the pipes close.
    script.kill();
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let report = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");
    match status {
        None => panic!("compat_test.py did not finish within {SCRIPT_TIMEOUT:?}\n{report}"),
        Some(status) => assert!(status.success(), "compat_test.py: {status}\n{report}"),
    }
    assert!(
        stdout.contains("all checks passed"),
        "compat_test.py exited 0 without passing\n{report}"
    );
}
