//! Group commit: concurrent writes share one transaction and one commit.
//!
//! Each write runs on its caller's thread, on the one writing connection, inside a savepoint of
//! the transaction being gathered (the batch): a write that fails rolls back its savepoint and
//! fails only its own caller. After its write, a caller commits the batch if no other writer
//! is waiting for the connection (or the batch is full); otherwise it leaves the commit to the
//! next writer and waits for it. Whoever finds nobody behind it commits for everyone, so a
//! caller returns only once the commit that holds its write is done, as if it had committed
//! alone; only the commit itself failing (a full disk, an I/O error) fails the whole batch.

use std::ops::{Deref, DerefMut};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use rusqlite::Connection;

use crate::Error;

/// Writes one batch holds at most, so that a steady stream of writers still commits.
const MAX_BATCH: usize = 64;

/// The writing connection and the batch gathered on it.
pub(crate) struct GroupWriter {
    state: Mutex<State>,
    /// Writers that want the connection and have not got it yet.
    queued: AtomicUsize,
}

struct State {
    conn: Connection,
    /// The batch whose transaction is open on `conn`, if any.
    open: Option<Arc<Batch>>,
    /// Writes in the open batch.
    members: usize,
}

/// One transaction's outcome, which the callers whose writes it holds wait for.
#[derive(Default)]
struct Batch {
    /// `None` until settled; then `Ok` if committed, or why the commit failed.
    outcome: Mutex<Option<Result<(), String>>>,
    settled: Condvar,
}

impl Batch {
    fn settle(&self, outcome: Result<(), String>) {
        *lock(&self.outcome) = Some(outcome);
        self.settled.notify_all();
    }

    fn wait(&self) -> Result<(), String> {
        let outcome = lock(&self.outcome);
        let outcome = self
            .settled
            .wait_while(outcome, |o| o.is_none())
            .unwrap_or_else(|p| p.into_inner());
        outcome.clone().unwrap_or(Ok(()))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Writes run under catch_unwind and a panicking one rolls back its savepoint, so a
    // poisoned lock still guards a sound connection.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The connection alone, with no batch open on it; other writers wait while it lives.
pub(crate) struct Exclusive<'a>(MutexGuard<'a, State>);

impl Deref for Exclusive<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.0.conn
    }
}

impl DerefMut for Exclusive<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.0.conn
    }
}

impl GroupWriter {
    pub(crate) fn new(conn: Connection) -> Self {
        GroupWriter {
            state: Mutex::new(State {
                conn,
                open: None,
                members: 0,
            }),
            queued: AtomicUsize::new(0),
        }
    }

    /// Runs `f` as one write of a batch and returns once the batch committed. `committed` runs
    /// after each commit this caller makes (for the checkpointer's count).
    pub(crate) fn write<T, E: From<Error>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
        committed: impl Fn(),
    ) -> Result<T, E> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut state = lock(&self.state);
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let batch = match &state.open {
            Some(batch) => Arc::clone(batch),
            None => {
                run(&state.conn, "BEGIN IMMEDIATE").map_err(Error::from)?;
                let batch = Arc::new(Batch::default());
                state.open = Some(Arc::clone(&batch));
                state.members = 0;
                batch
            }
        };
        let written = panic::catch_unwind(AssertUnwindSafe(|| in_savepoint(&state.conn, f)));
        if matches!(written, Ok(Ok(_))) {
            state.members += 1;
        }
        let last = self.queued.load(Ordering::SeqCst) == 0 || state.members >= MAX_BATCH;
        let own_commit = if state.conn.is_autocommit() {
            // SQLite rolled the whole transaction back on an error (a full disk, say), and
            // every write of the batch with it.
            state.open = None;
            state.members = 0;
            let lost = "the batch's transaction was rolled back by an error".to_owned();
            batch.settle(Err(lost.clone()));
            drop(state);
            Some(Err(lost))
        } else if last {
            let outcome = settle(&mut state).map_err(|e| e.to_string());
            drop(state);
            committed();
            Some(outcome)
        } else {
            drop(state);
            None
        };
        let value = match written {
            Ok(Ok(value)) => value,
            // Rolled back alone: nothing of it waits for the commit.
            Ok(Err(e)) => return Err(e),
            Err(panic) => panic::resume_unwind(panic),
        };
        match own_commit {
            Some(outcome) => outcome.map_err(|e| E::from(Error::BatchCommit(e)))?,
            None => batch.wait().map_err(|e| E::from(Error::BatchCommit(e)))?,
        }
        Ok(value)
    }

    /// The connection, after committing any batch open on it. Leave no transaction open on it.
    pub(crate) fn exclusive(&self) -> Exclusive<'_> {
        let mut state = lock(&self.state);
        if state.open.is_some() {
            // Its callers hear of a failure; this caller only needs the connection free.
            let _ = settle(&mut state);
        }
        Exclusive(state)
    }
}

/// Runs `f` in a savepoint of the open transaction: released if `f` succeeds, rolled back
/// otherwise (and on a panic, as the guard is dropped). The savepoint's statements are prepared
/// once per connection, not parsed again for every write.
fn in_savepoint<T, E: From<Error>>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E> {
    run(conn, "SAVEPOINT batch_write").map_err(Error::from)?;
    let mut savepoint = Savepoint {
        conn,
        released: false,
    };
    let value = f(conn)?;
    run(conn, "RELEASE batch_write").map_err(Error::from)?;
    savepoint.released = true;
    Ok(value)
}

/// Rolls back a savepoint that was not released when dropped.
struct Savepoint<'a> {
    conn: &'a Connection,
    released: bool,
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if !self.released {
            // Fails only if SQLite already rolled the whole transaction back, which the
            // caller sees on the connection.
            let _ = run(self.conn, "ROLLBACK TO batch_write");
            let _ = run(self.conn, "RELEASE batch_write");
        }
    }
}

/// Runs one statement without parameters through the connection's statement cache.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Commits the open batch (rolling it back if the commit fails) and tells its callers.
fn settle(state: &mut State) -> Result<(), rusqlite::Error> {
    let Some(batch) = state.open.take() else {
        return Ok(());
    };
    let committed = run(&state.conn, "COMMIT");
    if committed.is_err() && !state.conn.is_autocommit() {
        // Nothing more can be done with the batch; the connection must be left clean.
        let _ = run(&state.conn, "ROLLBACK");
    }
    batch.settle(committed.as_ref().map(|_| ()).map_err(|e| e.to_string()));
    state.members = 0;
    committed
}

#[cfg(test)]
mod tests {
    use std::sync::TryLockError;
    use std::sync::atomic::AtomicUsize;
    use std::thread;
    use std::time::Duration;

    use super::*;

    fn writer(dir: &tempfile::TempDir) -> GroupWriter {
        let conn = Connection::open(dir.path().join("group.db")).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = wal; CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);",
        )
        .unwrap();
        GroupWriter::new(conn)
    }

    fn insert(conn: &Connection, id: i64, name: &str) -> Result<(), Error> {
        conn.execute("INSERT INTO items (id, name) VALUES (?1, ?2)", (id, name))?;
        Ok(())
    }

    fn names(writer: &GroupWriter) -> Vec<(i64, String)> {
        let conn = writer.exclusive();
        let mut select = conn
            .prepare("SELECT id, name FROM items ORDER BY id")
            .unwrap();
        select
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Holds the connection in a write until `others` writers wait for it, so that their writes
    /// all join the batch this one opened.
    fn hold_until_queued(
        writer: &GroupWriter,
        others: usize,
    ) -> impl FnOnce(&Connection) -> Result<(), Error> {
        move |conn| {
            while writer.queued.load(Ordering::SeqCst) < others {
                thread::sleep(Duration::from_millis(1));
            }
            insert(conn, 0, "first")
        }
    }

    /// Returns once a writer holds the connection.
    fn wait_until_held(writer: &GroupWriter) {
        while !matches!(writer.state.try_lock(), Err(TryLockError::WouldBlock)) {
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn writes_waiting_together_share_one_commit_and_a_refused_one_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(&dir);
        let commits = AtomicUsize::new(0);
        let count = || {
            commits.fetch_add(1, Ordering::SeqCst);
        };
        let results = thread::scope(|scope| {
            let first = scope.spawn(|| writer.write(hold_until_queued(&writer, 8), count));
            wait_until_held(&writer);
            let others: Vec<_> = (1..=8)
                .map(|i| {
                    let writer = &writer;
                    scope.spawn(move || {
                        // Write 4 takes the id of write 0, which the batch already holds.
                        let id = if i == 4 { 0 } else { i };
                        writer.write(|conn| insert(conn, id, &format!("w{i}")), count)
                    })
                })
                .collect();
            let mut results = vec![first.join().unwrap()];
            results.extend(others.into_iter().map(|t| t.join().unwrap()));
            results
        });
        for (i, result) in results.iter().enumerate() {
            if i == 4 {
                assert!(
                    matches!(result, Err(Error::Sqlite(e)) if e.to_string().contains("UNIQUE")),
                    "{result:?}"
                );
            } else {
                assert!(result.is_ok(), "write {i}: {result:?}");
            }
        }
        assert_eq!(
            commits.load(Ordering::SeqCst),
            1,
            "one commit for the batch"
        );
        let mut expected = vec![(0, "first".to_owned())];
        expected.extend([1, 2, 3, 5, 6, 7, 8].map(|i| (i, format!("w{i}"))));
        assert_eq!(names(&writer), expected);
    }

    #[test]
    fn a_panicking_write_rolls_back_alone_and_the_batch_still_commits() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(&dir);
        thread::scope(|scope| {
            let first = scope.spawn(|| writer.write(hold_until_queued(&writer, 2), || ()));
            wait_until_held(&writer);
            let panicking = scope.spawn(|| {
                writer.write::<(), Error>(
                    |conn| {
                        insert(conn, 1, "lost")?;
                        panic!("the write fails half-way")
                    },
                    || (),
                )
            });
            let fine = scope.spawn(|| writer.write(|conn| insert(conn, 2, "kept"), || ()));
            assert!(first.join().unwrap().is_ok());
            assert!(panicking.join().is_err(), "the panic reaches its caller");
            assert!(fine.join().unwrap().is_ok());
        });
        assert_eq!(
            names(&writer),
            vec![(0, "first".to_owned()), (2, "kept".to_owned())]
        );
    }

    #[test]
    fn the_connection_lent_alone_has_no_transaction_open() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(&dir);
        writer.write(|conn| insert(conn, 1, "a"), || ()).unwrap();
        let conn = writer.exclusive();
        assert!(conn.is_autocommit());
        let other = Connection::open(dir.path().join("group.db")).unwrap();
        let seen: i64 = other
            .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
            .unwrap();
        assert_eq!(seen, 1, "a returned write is committed");
    }
}
