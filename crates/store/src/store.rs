//! [`SqliteStore`]: connections, and the [`ExecutionStore`] port on SQLite.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ocflow_engine::history::HistoryEvent;
use ocflow_engine::store::{
    ExecutionEnd, ExecutionRecord, ExecutionReopen, ExecutionStore, PendingToken, StoreError,
    TokenIssue,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

use crate::checkpoint::Checkpointer;
use crate::codec::{
    EventRow, event_from_row, json_column, optional_json_column, payload_json, status_column,
};
use crate::commit::GroupWriter;
use crate::definitions::{DefinitionWrite, Definitions};
use crate::outbox::Outbox;
use crate::{Error, schema};

/// Idle read-only connections kept for reuse; more are opened when more threads read at once.
const MAX_IDLE_READERS: usize = 4;

/// An [`ExecutionStore`] in one SQLite file (or in memory).
///
/// One connection writes, with group commit: each call's write runs in a savepoint of a shared
/// `BEGIN IMMEDIATE` transaction, which commits once for all the writes that came in while it
/// was open, and a call returns only after the commit that holds its write; a write that fails
/// rolls back alone. Payloads are serialised before the connection is taken. Reads of a file go
/// through a small pool of read-only connections, which the write-ahead log lets run beside
/// the writer; an in-memory store reads through its one connection. A file store also runs a
/// thread that checkpoints the log, so that no append waits for the disk to sync.
pub struct SqliteStore {
    writer: GroupWriter,
    /// The definitions stored already, and those read back.
    definitions: Definitions,
    /// Where the messages of issued tokens are written with them, if anywhere.
    outbox: OnceLock<Arc<dyn Outbox>>,
    readers: Readers,
    /// Checkpoints a file's log off the write path; `None` in memory.
    checkpointer: Option<Checkpointer>,
}

enum Readers {
    /// In memory: the writer's connection serves reads too.
    Writer,
    /// A file: read-only connections, opened on demand and kept for reuse.
    Pool {
        path: PathBuf,
        idle: Mutex<Vec<Connection>>,
    },
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if need be) the store in the file at `path`, switches it to write-ahead
    /// logging with `synchronous=NORMAL`, and migrates its schema to the current version.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let opened = Connection::open(&path).and_then(|conn| {
            schema::configure(&conn)?;
            let mode = schema::configure_file_writer(&conn)?;
            Ok((conn, mode))
        });
        let (mut conn, mode) = opened.map_err(|source| Error::Open {
            path: path.clone(),
            source,
        })?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::NoWal { path, mode });
        }
        schema::migrate(&mut conn)?;
        let checkpointer = Checkpointer::start(&path)?;
        Ok(SqliteStore {
            writer: GroupWriter::new(conn),
            definitions: Definitions::default(),
            outbox: OnceLock::new(),
            readers: Readers::Pool {
                path,
                idle: Mutex::new(Vec::new()),
            },
            checkpointer: Some(checkpointer),
        })
    }

    /// A store that lives in memory and is gone when dropped.
    pub fn in_memory() -> Result<Self, Error> {
        let mut conn = Connection::open_in_memory()?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn)?;
        Ok(SqliteStore {
            writer: GroupWriter::new(conn),
            definitions: Definitions::default(),
            outbox: OnceLock::new(),
            readers: Readers::Writer,
            checkpointer: None,
        })
    }

    /// The file behind the store; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        match &self.readers {
            Readers::Writer => None,
            Readers::Pool { path, .. } => Some(path),
        }
    }

    /// Copies the write-ahead log into the database file and empties the log, so that the file
    /// alone holds every committed write (before copying it, say). A background thread does
    /// this continually without emptying the log; there is no need to call it for durability.
    /// Does nothing in memory.
    pub fn checkpoint(&self) -> Result<(), Error> {
        if let Some(checkpointer) = &self.checkpointer {
            // The background thread's checkpoints wait; holding the writer lock, no write is in
            // flight either, so the log can be emptied at once.
            let _alone = checkpointer.exclusive();
            let busy: bool = self.writer.exclusive().query_row(
                "PRAGMA wal_checkpoint(TRUNCATE)",
                [],
                |row| row.get(0),
            )?;
            if busy {
                return Err(Error::CheckpointBusy);
            }
        }
        Ok(())
    }

    /// The store's one writing connection, lent for tables of the caller's own in the same
    /// file (the local host's worker queues and catalog): their writes then take turns with the
    /// store's instead of contending with them for the file's write lock, and are as durable.
    /// Any batch of writes gathered on it is committed first, and the store's own calls wait
    /// while the guard lives, so keep it for a few statements, leave no transaction open, and
    /// do not call the store meanwhile (a file store's reads go through other connections, but
    /// an in-memory store reads through this one too). For a write,
    /// [`write_with`](Self::write_with) joins the group commit instead.
    pub fn writer_connection(&self) -> impl std::ops::DerefMut<Target = Connection> + '_ {
        self.writer.exclusive()
    }

    /// Runs `f` on the writing connection as one write of the store's group commit (for tables
    /// of the caller's own, as with [`writer_connection`](Self::writer_connection)): in a
    /// savepoint, rolled back alone if `f` fails, committed with the writes of other callers
    /// waiting at the same time. Returns once that commit is done. `f` must not call the store.
    pub fn write_with<T, E: From<Error>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        self.writer.write(f, || self.committed())
    }

    /// Writes the messages of issued tokens to `outbox`, in the same transaction as the tokens
    /// ([`ExecutionStore::issue_token`]); the outbox's tables must be
    /// in this store's file. Set once: a second outbox is refused and handed back.
    pub fn set_outbox(&self, outbox: Arc<dyn Outbox>) -> Result<(), Arc<dyn Outbox>> {
        self.outbox.set(outbox)
    }

    /// Whether `token` is pending, as `conn` sees it: for a check inside
    /// [`write_with`](Self::write_with), whose transaction may hold a token not committed yet
    /// (written with its [`Outbox`] message), which the store's own reads do not see.
    pub fn token_pending_in(conn: &Connection, token: &str) -> Result<bool, Error> {
        Ok(conn
            .prepare_cached("SELECT 1 FROM tokens WHERE token = ?1")?
            .query_row([token], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Runs `f` as one write of the group commit; see [`GroupWriter::write`].
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.writer.write(f, || self.committed())
    }

    /// Counts a commit for the checkpointer.
    fn committed(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.committed();
        }
    }

    /// Runs `f` on a connection that sees every committed write.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let (path, idle) = match &self.readers {
            Readers::Writer => return f(&self.writer.exclusive()),
            Readers::Pool { path, idle } => (path, idle),
        };
        let lock = || idle.lock().unwrap_or_else(|p| p.into_inner());
        let reused = lock().pop();
        let conn = match reused {
            Some(conn) => conn,
            None => open_reader(path)?,
        };
        let value = f(&conn);
        let mut idle = lock();
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        value
    }
}

fn open_reader(path: &Path) -> Result<Connection, Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags)
        .and_then(|conn| {
            schema::configure(&conn)?;
            Ok(conn)
        })
        .map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })
}

/// The `seq` of execution `id`, or [`Error::NotFound`].
pub(crate) fn execution_seq(conn: &Connection, id: &str) -> Result<i64, Error> {
    conn.prepare_cached("SELECT seq FROM executions WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| Error::NotFound(id.to_owned()))
}

fn encode_events<'a>(
    execution_id: &str,
    events: &'a [HistoryEvent],
) -> Result<Vec<EventRow<'a>>, Error> {
    events
        .iter()
        .map(|event| EventRow::encode(execution_id, event))
        .collect()
}

/// Inserts the rows of `events` into the history of the execution whose `seq` is `execution`,
/// refusing an event id it has already.
fn insert_events(
    tx: &Connection,
    execution: i64,
    execution_id: &str,
    rows: &[EventRow<'_>],
    events: &[HistoryEvent],
) -> Result<(), Error> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO events (execution, id, timestamp, scope, type, state, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
    )?;
    for (row, event) in rows.iter().zip(events) {
        let inserted = insert.execute(params![
            execution,
            row.id,
            row.timestamp,
            row.scope,
            row.kind,
            row.state,
            row.body,
        ])?;
        if inserted == 0 {
            return Err(Error::DuplicateEvent {
                execution_id: execution_id.to_owned(),
                event_id: event.id,
            });
        }
    }
    Ok(())
}

/// Keeps `token`, replacing a token of the same value.
fn put_token(tx: &Connection, token: &PendingToken) -> Result<(), Error> {
    let stored = tx
        .prepare_cached(
            "INSERT INTO tokens (token, execution, scope, state, issued_at, heartbeat_deadline) \
             SELECT ?1, seq, ?3, ?4, ?5, ?6 FROM executions WHERE id = ?2 \
             ON CONFLICT (token) DO UPDATE SET execution = excluded.execution, \
             scope = excluded.scope, state = excluded.state, issued_at = excluded.issued_at, \
             heartbeat_deadline = excluded.heartbeat_deadline",
        )?
        .execute(params![
            token.token,
            token.execution_id,
            token.scope,
            token.state,
            token.issued_at,
            token.heartbeat_deadline,
        ])?;
    if stored == 0 {
        return Err(Error::NotFound(token.execution_id.clone()));
    }
    Ok(())
}

/// An execution with its definition's text (`d`) beside it.
const EXECUTION_COLUMNS: &str = "e.id, e.machine, e.input, e.status, e.start_time, e.end_time, \
     e.output, e.error, e.cause, e.parent_id, e.correlation_id, e.definition_id, d.body";

fn execution_from_row(
    row: &Row<'_>,
    definitions: &Definitions,
) -> rusqlite::Result<ExecutionRecord> {
    let definition_id: i64 = row.get(11)?;
    let body = row.get_ref(12)?.as_str()?;
    Ok(ExecutionRecord {
        id: row.get(0)?,
        machine: row.get(1)?,
        definition: definitions.read(definition_id, body, 12)?,
        input: json_column(row, 2)?,
        status: status_column(row, 3)?,
        start_time: row.get(4)?,
        end_time: row.get(5)?,
        output: optional_json_column(row, 6)?,
        error: row.get(7)?,
        cause: row.get(8)?,
        parent_id: row.get(9)?,
        correlation_id: row.get(10)?,
    })
}

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<PendingToken> {
    Ok(PendingToken {
        token: row.get(0)?,
        execution_id: row.get(1)?,
        scope: row.get(2)?,
        state: row.get(3)?,
        issued_at: row.get(4)?,
        heartbeat_deadline: row.get(5)?,
    })
}

/// A new execution's row, encoded before the writer is taken.
struct NewExecution<'a> {
    record: &'a ExecutionRecord,
    definition: DefinitionWrite,
    input: String,
    output: Option<String>,
}

impl<'a> NewExecution<'a> {
    fn encode(record: &'a ExecutionRecord, definitions: &Definitions) -> Result<Self, Error> {
        let input = payload_json(&record.input, || {
            format!("input of execution '{}'", record.id)
        })?;
        let output = record
            .output
            .as_ref()
            .map(|output| payload_json(output, || format!("output of execution '{}'", record.id)))
            .transpose()?;
        Ok(NewExecution {
            record,
            definition: definitions.prepare(&record.definition)?,
            input,
            output,
        })
    }

    /// Inserts the row (and its definition if not stored yet); its `seq` and definition id.
    /// A taken id is refused.
    fn insert(&self, tx: &Connection) -> Result<(i64, i64), Error> {
        let record = self.record;
        let definition_id = self.definition.store(tx)?;
        let seq: Option<i64> = tx
            .prepare_cached(
                "INSERT INTO executions (id, machine, definition_id, input, status, start_time, \
                 end_time, output, error, cause, parent_id, correlation_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                 ON CONFLICT (id) DO NOTHING RETURNING seq",
            )?
            .query_row(
                params![
                    record.id,
                    record.machine,
                    definition_id,
                    self.input,
                    record.status.as_str(),
                    record.start_time,
                    record.end_time,
                    self.output,
                    record.error,
                    record.cause,
                    record.parent_id,
                    record.correlation_id,
                ],
                |row| row.get(0),
            )
            .optional()?;
        let seq = seq.ok_or_else(|| Error::AlreadyExists(record.id.clone()))?;
        Ok((seq, definition_id))
    }
}

impl SqliteStore {
    fn create(&self, record: &ExecutionRecord, events: &[HistoryEvent]) -> Result<(), Error> {
        let execution = NewExecution::encode(record, &self.definitions)?;
        let rows = encode_events(&record.id, events)?;
        let definition_id = self.write(|tx| {
            let (seq, definition_id) = execution.insert(tx)?;
            insert_events(tx, seq, &record.id, &rows, events)?;
            Ok(definition_id)
        })?;
        self.definitions.remember(&record.definition, definition_id);
        Ok(())
    }

    fn append(&self, execution_id: &str, events: &[HistoryEvent]) -> Result<(), Error> {
        let rows = encode_events(execution_id, events)?;
        self.write(|tx| {
            let execution = execution_seq(tx, execution_id)?;
            insert_events(tx, execution, execution_id, &rows, events)
        })
    }

    fn finish(&self, execution_id: &str, end: &ExecutionEnd) -> Result<bool, Error> {
        if !end.status.is_final() {
            return Err(Error::NotFinal(end.status));
        }
        let output = end
            .output
            .as_ref()
            .map(|output| payload_json(output, || format!("output of execution '{execution_id}'")))
            .transpose()?;
        self.write(|tx| {
            // Forward only: the update applies to a running execution and to nothing else.
            let finished: Option<i64> = tx
                .prepare_cached(
                    "UPDATE executions \
                     SET status = ?2, end_time = ?3, output = ?4, error = ?5, cause = ?6 \
                     WHERE id = ?1 AND status = 'RUNNING' RETURNING seq",
                )?
                .query_row(
                    params![
                        execution_id,
                        end.status.as_str(),
                        end.end_time,
                        output,
                        end.error,
                        end.cause,
                    ],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(execution) = finished else {
                execution_seq(tx, execution_id)?;
                return Ok(false);
            };
            tx.prepare_cached("DELETE FROM tokens WHERE execution = ?1")?
                .execute([execution])?;
            Ok(true)
        })
    }

    fn reopen(
        &self,
        execution_id: &str,
        reopen: &ExecutionReopen,
        event: &HistoryEvent,
    ) -> Result<bool, Error> {
        let definition = reopen
            .definition
            .as_ref()
            .map(|d| self.definitions.prepare(d))
            .transpose()?;
        let row = EventRow::encode(execution_id, event)?;
        let reopened = self.write(|tx| {
            let definition_id = definition.as_ref().map(|d| d.store(tx)).transpose()?;
            // Only a finished execution runs again; its event goes in with the status change.
            let reopened: Option<i64> = tx
                .prepare_cached(
                    "UPDATE executions SET status = 'RUNNING', end_time = NULL, output = NULL, \
                     error = NULL, cause = NULL, definition_id = coalesce(?2, definition_id) \
                     WHERE id = ?1 AND status != 'RUNNING' RETURNING seq",
                )?
                .query_row(params![execution_id, definition_id], |row| row.get(0))
                .optional()?;
            let Some(execution) = reopened else {
                execution_seq(tx, execution_id)?;
                return Ok(None);
            };
            insert_events(
                tx,
                execution,
                execution_id,
                std::slice::from_ref(&row),
                std::slice::from_ref(event),
            )?;
            Ok(Some(definition_id))
        })?;
        if let (Some(Some(id)), Some(definition)) = (reopened, &reopen.definition) {
            self.definitions.remember(definition, id);
        }
        Ok(reopened.is_some())
    }

    fn get(&self, execution_id: &str) -> Result<Option<ExecutionRecord>, Error> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {EXECUTION_COLUMNS} FROM executions e \
                 JOIN definitions d ON d.id = e.definition_id WHERE e.id = ?1"
            );
            Ok(conn
                .prepare_cached(&sql)?
                .query_row([execution_id], |row| {
                    execution_from_row(row, &self.definitions)
                })
                .optional()?)
        })
    }

    fn events(&self, execution_id: &str) -> Result<Vec<HistoryEvent>, Error> {
        self.read(|conn| {
            let mut select = conn.prepare_cached(
                "SELECT id, timestamp, scope, body FROM events \
                 WHERE execution = (SELECT seq FROM executions WHERE id = ?1) ORDER BY id",
            )?;
            let events = select
                .query_map([execution_id], event_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(events)
        })
    }

    fn running(&self) -> Result<Vec<String>, Error> {
        self.read(|conn| {
            let mut select = conn.prepare_cached(
                "SELECT id FROM executions WHERE status = 'RUNNING' ORDER BY start_time, id",
            )?;
            let ids = select
                .query_map([], |row| row.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
    }

    fn put(&self, token: &PendingToken) -> Result<(), Error> {
        self.write(|tx| put_token(tx, token))
    }

    fn issue(&self, issue: &TokenIssue<'_>) -> Result<bool, Error> {
        let created = issue
            .create
            .map(|record| NewExecution::encode(record, &self.definitions))
            .transpose()?;
        let rows = encode_events(issue.execution_id, issue.events)?;
        let outbox = self.outbox.get();
        let queued = issue
            .message
            .zip(outbox)
            .and_then(|(message, outbox)| outbox.prepare(message));
        let delivered = queued.is_some();
        let definition_id = self.write(|tx| {
            let (execution, definition_id) = match &created {
                Some(created) => {
                    let (seq, definition_id) = created.insert(tx)?;
                    (Some(seq), Some(definition_id))
                }
                None => (None, None),
            };
            if !rows.is_empty() {
                let execution = match execution {
                    Some(seq) => seq,
                    None => execution_seq(tx, issue.execution_id)?,
                };
                insert_events(tx, execution, issue.execution_id, &rows, issue.events)?;
            }
            put_token(tx, issue.token)?;
            if let Some(queued) = queued {
                queued(tx)?;
            }
            Ok(definition_id)
        })?;
        if let (Some(record), Some(id)) = (issue.create, definition_id) {
            self.definitions.remember(&record.definition, id);
        }
        if let (true, Some(outbox)) = (delivered, outbox) {
            outbox.committed();
        }
        Ok(delivered)
    }

    fn take(&self, token: &str) -> Result<Option<PendingToken>, Error> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "DELETE FROM tokens WHERE token = ?1 RETURNING token, \
                     (SELECT id FROM executions WHERE seq = execution), scope, state, issued_at, \
                     heartbeat_deadline",
                )?
                .query_row([token], token_from_row)
                .optional()?)
        })
    }

    fn tokens_of(&self, execution_id: &str) -> Result<Vec<PendingToken>, Error> {
        self.read(|conn| {
            let mut select = conn.prepare_cached(
                "SELECT t.token, e.id, t.scope, t.state, t.issued_at, t.heartbeat_deadline \
                 FROM tokens t JOIN executions e ON e.seq = t.execution \
                 WHERE e.id = ?1 ORDER BY t.issued_at, t.token",
            )?;
            let tokens = select
                .query_map([execution_id], token_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(tokens)
        })
    }
}

impl ExecutionStore for SqliteStore {
    fn create_execution(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        Ok(self.create(record, &[])?)
    }

    fn create_execution_with_events(
        &self,
        record: &ExecutionRecord,
        events: &[HistoryEvent],
    ) -> Result<(), StoreError> {
        Ok(self.create(record, events)?)
    }

    fn append_events(&self, execution_id: &str, events: &[HistoryEvent]) -> Result<(), StoreError> {
        Ok(self.append(execution_id, events)?)
    }

    fn finish_execution(&self, execution_id: &str, end: &ExecutionEnd) -> Result<bool, StoreError> {
        Ok(self.finish(execution_id, end)?)
    }

    fn reopen_execution(
        &self,
        execution_id: &str,
        reopen: &ExecutionReopen,
        event: &HistoryEvent,
    ) -> Result<bool, StoreError> {
        Ok(self.reopen(execution_id, reopen, event)?)
    }

    fn execution(&self, execution_id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        Ok(self.get(execution_id)?)
    }

    fn history(&self, execution_id: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        Ok(self.events(execution_id)?)
    }

    fn unfinished_executions(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.running()?)
    }

    fn put_token(&self, token: &PendingToken) -> Result<(), StoreError> {
        Ok(self.put(token)?)
    }

    fn issue_token(&self, issue: &TokenIssue<'_>) -> Result<bool, StoreError> {
        Ok(self.issue(issue)?)
    }

    fn take_token(&self, token: &str) -> Result<Option<PendingToken>, StoreError> {
        Ok(self.take(token)?)
    }

    fn pending_tokens(&self, execution_id: &str) -> Result<Vec<PendingToken>, StoreError> {
        Ok(self.tokens_of(execution_id)?)
    }
}
