//! The store's errors, and how they map onto the engine's [`StoreError`].

use std::path::PathBuf;

use ocflow_engine::store::{ExecutionStatus, StoreError};

/// Errors of [`SqliteStore`](crate::SqliteStore).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database file could not be opened or set up.
    #[error("cannot open store '{}': {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The file's filesystem does not support write-ahead logging (a network share, say).
    #[error("cannot use write-ahead logging in '{}' (journal mode stays '{mode}')", path.display())]
    NoWal {
        /// The file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// The checkpointing thread could not be started.
    #[error("cannot start the checkpoint thread: {0}")]
    Checkpointer(String),
    /// Another process kept the log from being emptied (it is reading or checkpointing).
    #[error("cannot empty the write-ahead log: another process is using it")]
    CheckpointBusy,
    /// The file was written by a newer ocflow whose schema this build does not know.
    #[error("store schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// The file's `user_version`.
        found: i64,
        /// The newest version this build migrates to.
        supported: i64,
    },
    /// An execution with this id exists already.
    #[error("execution '{0}' already exists")]
    AlreadyExists(String),
    /// No execution with this id.
    #[error("no execution '{0}'")]
    NotFound(String),
    /// A payload is larger than Step Functions allows (256 KiB of JSON).
    #[error("{what} is {size} bytes of JSON, over the limit of {limit} bytes")]
    TooLarge {
        /// Which payload: `input of execution 'x'`, `event 7 of execution 'x'`, ...
        what: String,
        /// Its serialised size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The history already has an event with this id.
    #[error("execution '{execution_id}' already has history event {event_id}")]
    DuplicateEvent {
        /// The execution.
        execution_id: String,
        /// The event id given twice.
        event_id: u64,
    },
    /// An event id too large to store (above `i64::MAX`).
    #[error("history event id {0} is out of range")]
    EventIdOutOfRange(u64),
    /// `finish_execution` was given a status that is not final.
    #[error("cannot finish an execution with status {}", .0.as_str())]
    NotFinal(ExecutionStatus),
    /// A value could not be serialised to JSON.
    #[error("cannot encode {what} as JSON: {source}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The serialiser's error.
        source: serde_json::Error,
    },
    /// The commit of the transaction that held this write (with other callers' writes) failed,
    /// so the write was not kept.
    #[error("cannot commit the write: {0}")]
    BatchCommit(String),
    /// SQLite failed, or a stored row could not be decoded.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl From<Error> for StoreError {
    fn from(error: Error) -> Self {
        match error {
            Error::AlreadyExists(id) => StoreError::AlreadyExists(id),
            Error::NotFound(id) => StoreError::NotFound(id),
            other => StoreError::Backend(other.to_string()),
        }
    }
}
