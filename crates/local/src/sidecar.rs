//! The host's own tables (worker queues, registered definitions, task logs), kept in the execution store's
//! SQLite file through the store's writing connection, so that they survive a restart with it
//! and their writes never wait on the store's for the file's write lock.
//!
//! The tables are prefixed `local_` and created if missing; the store's migrations never touch
//! them.

use std::ops::DerefMut;
use std::sync::{Arc, Mutex};

use ocflow_store::SqliteStore;
use rusqlite::Connection;

/// Errors of the host's tables.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// SQLite failed.
    #[error("local table failure: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The store's writer failed (its commit, say).
    #[error("local table failure: {0}")]
    Store(#[from] ocflow_store::Error),
}

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
CREATE TABLE IF NOT EXISTS local_task_logs (
    task_id     TEXT    NOT NULL,
    workflow_id TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    log         TEXT    NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS local_task_logs_by_task ON local_task_logs (task_id);
CREATE INDEX IF NOT EXISTS local_task_logs_by_workflow ON local_task_logs (workflow_id);
";

/// One connection to the host's tables, shared by the queues and the catalog.
#[derive(Clone)]
pub(crate) struct Tables {
    conn: Conn,
}

#[derive(Clone)]
enum Conn {
    /// The file store's writing connection.
    Store(Arc<SqliteStore>),
    /// A connection of their own: a private in-memory database beside an in-memory store
    /// (which reads through its writing connection, so a poll checking the store while it
    /// holds the tables would wait on itself).
    Own(Arc<Mutex<Connection>>),
}

impl Tables {
    /// The tables in `store`'s file, or in a private in-memory database for a store in memory.
    pub(crate) fn in_store(store: &Arc<SqliteStore>) -> Result<Tables, TableError> {
        let tables = match store.path() {
            Some(_) => Tables {
                conn: Conn::Store(Arc::clone(store)),
            },
            None => Tables::own(Connection::open_in_memory()?),
        };
        tables.lock().execute_batch(SCHEMA)?;
        Ok(tables)
    }

    /// Whether the tables are in the execution store's file, written through its connection.
    pub(crate) fn in_store_file(&self) -> bool {
        matches!(self.conn, Conn::Store(_))
    }

    /// Opens `db` (an execution store's file) or a private in-memory database on a connection of
    /// their own.
    #[cfg(test)]
    pub(crate) fn open(db: Option<&std::path::Path>) -> Result<Tables, TableError> {
        let conn = match db {
            Some(path) => Connection::open(path)?,
            None => Connection::open_in_memory()?,
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let tables = Tables::own(conn);
        tables.lock().execute_batch(SCHEMA)?;
        Ok(tables)
    }

    fn own(conn: Connection) -> Tables {
        Tables {
            conn: Conn::Own(Arc::new(Mutex::new(conn))),
        }
    }

    /// The connection, for one short operation (a read, or a write that needs no group
    /// commit); a file store's writes gathered on it are committed first.
    pub(crate) fn lock(&self) -> Box<dyn DerefMut<Target = Connection> + '_> {
        match &self.conn {
            Conn::Store(store) => Box::new(store.writer_connection()),
            Conn::Own(conn) => Box::new(conn.lock().unwrap_or_else(|p| p.into_inner())),
        }
    }

    /// Runs `f` as one write, all or nothing; returns once it is committed. On a file store it
    /// joins the store's group commit, sharing one commit with the writes of other callers.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, TableError>,
    ) -> Result<T, TableError> {
        match &self.conn {
            Conn::Store(store) => store.write_with(f),
            Conn::Own(conn) => {
                let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let value = f(&tx)?;
                tx.commit()?;
                Ok(value)
            }
        }
    }
}
