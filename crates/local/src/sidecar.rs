//! The host's own tables (worker queues, registered definitions), kept in the execution store's
//! SQLite file through a second connection so that they survive a restart with it.
//!
//! The tables are prefixed `local_` and created if missing; the store's migrations never touch
//! them.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

/// Errors of the host's tables.
#[derive(Debug, thiserror::Error)]
#[error("local table failure: {0}")]
pub struct TableError(#[from] rusqlite::Error);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS local_worker_tasks (
    token       TEXT    PRIMARY KEY,
    task_id     TEXT    NOT NULL,
    task_type   TEXT    NOT NULL,
    execution   TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    sent_at     INTEGER NOT NULL,
    visible_at  INTEGER NOT NULL,
    poll_count  INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER,
    worker_id   TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS local_worker_tasks_by_type ON local_worker_tasks (task_type, visible_at, sent_at);
CREATE INDEX IF NOT EXISTS local_worker_tasks_by_task ON local_worker_tasks (task_id);
CREATE TABLE IF NOT EXISTS local_workflow_defs (
    name       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    definition TEXT    NOT NULL,
    PRIMARY KEY (name, version)
) STRICT;
CREATE TABLE IF NOT EXISTS local_task_defs (
    name       TEXT    PRIMARY KEY,
    definition TEXT    NOT NULL
) STRICT;
";

/// One connection to the host's tables, shared by the queues and the catalog.
#[derive(Clone)]
pub(crate) struct Tables {
    conn: Arc<Mutex<Connection>>,
}

impl Tables {
    /// Opens `db` (the execution store's file) or a private in-memory database.
    pub(crate) fn open(db: Option<&Path>) -> Result<Tables, TableError> {
        let conn = match db {
            Some(path) => Connection::open(path)?,
            None => Connection::open_in_memory()?,
        };
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Tables {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The connection, for one short operation.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}
