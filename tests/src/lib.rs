//! Shared helpers for ocflow's cross-crate tests.

use std::path::PathBuf;

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
