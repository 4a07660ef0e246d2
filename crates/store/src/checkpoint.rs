//! Checkpoints off the write path.
//!
//! In WAL mode each commit only appends to the log; a checkpoint copies the log back into the
//! database file and, with `synchronous=NORMAL`, is the one step that syncs to disk. SQLite
//! runs it inside whichever commit crosses `wal_autocheckpoint`, which stalls that commit for
//! milliseconds. The store turns that off on its writer and checkpoints from a thread of its
//! own, with its own connection, so that appends never wait for the disk.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rusqlite::Connection;

use crate::{Error, schema};

/// Commits between two wake-ups of the checkpointer.
const COMMITS_PER_CHECKPOINT: u64 = 256;

/// How often the checkpointer runs when too few commits wake it.
const IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// Log size past which a checkpoint waits for the writer to pause so that the log can start
/// over: under steady writes a passive checkpoint never catches up with the end, and a short
/// log stays in the page cache.
const RESTART_BYTES: i64 = 16 * 1024 * 1024;

/// The checkpointing thread of one file store; stopped and joined on drop.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    commits: AtomicU64,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Held while a checkpoint runs: SQLite refuses a second one at the same time.
    running: Mutex<()>,
}

#[derive(Default)]
struct State {
    due: bool,
    stop: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn running(&self) -> MutexGuard<'_, ()> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Checkpointer {
    /// Opens a connection to `path` and starts checkpointing it.
    pub(crate) fn start(path: &Path) -> Result<Self, Error> {
        let open_error = |source| Error::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_error)?;
        schema::configure(&conn).map_err(open_error)?;
        // A frame holds one page; files keep the page size they were created with.
        let page_size: i64 = conn
            .pragma_query_value(None, "page_size", |row| row.get(0))
            .map_err(open_error)?;
        let restart_frames = RESTART_BYTES / page_size.max(512);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            running: Mutex::new(()),
        });
        let thread = thread::Builder::new()
            .name("ocflow-store-checkpoint".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(&conn, &shared, restart_frames)
            })
            .map_err(|e| Error::Checkpointer(e.to_string()))?;
        Ok(Checkpointer {
            shared,
            commits: AtomicU64::new(0),
            thread: Some(thread),
        })
    }

    /// Keeps the thread from checkpointing while the guard lives.
    pub(crate) fn exclusive(&self) -> MutexGuard<'_, ()> {
        self.shared.running()
    }

    /// Counts a commit of the writer, waking the checkpointer every so many.
    pub(crate) fn committed(&self) {
        let commits = self.commits.fetch_add(1, Ordering::Relaxed) + 1;
        if commits.is_multiple_of(COMMITS_PER_CHECKPOINT) {
            self.shared.state().due = true;
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.state().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // The thread only runs pragmas; a panic there has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, shared: &Shared, restart_frames: i64) {
    loop {
        let state = shared.state();
        let (mut state, _) = shared
            .wake
            .wait_timeout_while(state, IDLE_INTERVAL, |s| !s.due && !s.stop)
            .unwrap_or_else(|p| p.into_inner());
        if state.stop {
            return;
        }
        state.due = false;
        drop(state);
        // A failed checkpoint (the disk is full, another process holds the lock) loses
        // nothing: the frames stay in the log and the next round tries again.
        let _running = shared.running();
        let _ = checkpoint(conn, restart_frames);
    }
}

/// Copies the log into the database without waiting for anyone; if the log has grown past
/// `restart_frames`, waits for the writer to pause and starts the log over.
fn checkpoint(conn: &Connection, restart_frames: i64) -> rusqlite::Result<()> {
    let frames = wal_checkpoint(conn, "PASSIVE")?;
    if frames > restart_frames {
        wal_checkpoint(conn, "RESTART")?;
    }
    Ok(())
}

/// Runs `PRAGMA wal_checkpoint(mode)` and returns the log's length in frames.
fn wal_checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        row.get(1)
    })
}
