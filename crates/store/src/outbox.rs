//! [`Outbox`]: messages that hand out task tokens, written in the same transaction as the
//! tokens themselves.

use ocflow_engine::Invocation;
use rusqlite::Connection;

/// Keeps the messages of `.waitForTaskToken` calls in tables of the store's own file (a
/// host's worker queues), so that [`SqliteStore`](crate::SqliteStore) writes a token and the
/// message carrying it in one transaction: a crash never leaves a token that no worker will
/// ever see, and a start costs one write fewer. Install it with
/// [`SqliteStore::set_outbox`](crate::SqliteStore::set_outbox).
pub trait Outbox: Send + Sync {
    /// The write that keeps `message`, prepared before the store's writer is taken (parsing,
    /// serialising); `None` if this outbox does not take such messages, and the engine then
    /// calls its invoker as without an outbox. The write runs inside the one that stores the
    /// token, and an error rolls that back with it.
    fn prepare(&self, message: &Invocation) -> Option<OutboxWrite>;

    /// Called once a write holding messages of this outbox has committed (to wake the workers
    /// waiting for them, say).
    fn committed(&self) {}
}

/// A message's write, on the store's writing connection.
pub type OutboxWrite = Box<dyn FnOnce(&Connection) -> rusqlite::Result<()> + Send>;
