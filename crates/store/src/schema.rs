//! The schema, its version (`PRAGMA user_version`) and the migrations applied on open.

use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::Error;

/// How long a connection waits for another process's lock before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection; the store issues fewer distinct statements than this.
const STATEMENT_CACHE: usize = 64;

/// Migration `i` takes a database from `user_version` `i` to `i + 1`. Append only: never edit
/// a migration that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: executions, their histories and pending task tokens.
    "
    CREATE TABLE executions (
        seq            INTEGER PRIMARY KEY,
        id             TEXT    NOT NULL UNIQUE,
        machine        TEXT    NOT NULL,
        definition     TEXT    NOT NULL,
        input          TEXT    NOT NULL,
        status         TEXT    NOT NULL,
        start_time     INTEGER NOT NULL,
        end_time       INTEGER,
        output         TEXT,
        error          TEXT,
        cause          TEXT,
        parent_id      TEXT,
        correlation_id TEXT
    ) STRICT;
    CREATE INDEX executions_by_machine_status ON executions (machine, status, start_time);
    CREATE INDEX executions_by_machine ON executions (machine, start_time);
    CREATE INDEX executions_by_status ON executions (status, start_time);
    CREATE INDEX executions_by_start ON executions (start_time);
    CREATE INDEX executions_by_correlation ON executions (correlation_id, start_time)
        WHERE correlation_id IS NOT NULL;
    CREATE INDEX executions_by_parent ON executions (parent_id, start_time)
        WHERE parent_id IS NOT NULL;

    -- A rowid table, not WITHOUT ROWID: bodies run to kilobytes, and appends land at the end.
    CREATE TABLE events (
        seq       INTEGER PRIMARY KEY,
        execution INTEGER NOT NULL REFERENCES executions (seq) ON DELETE CASCADE,
        id        INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        scope     TEXT    NOT NULL,
        type      TEXT    NOT NULL,
        state     TEXT,
        body      TEXT    NOT NULL,
        UNIQUE (execution, id)
    ) STRICT;

    CREATE TABLE tokens (
        token              TEXT    PRIMARY KEY,
        execution          INTEGER NOT NULL REFERENCES executions (seq) ON DELETE CASCADE,
        scope              TEXT    NOT NULL,
        state              TEXT    NOT NULL,
        issued_at          INTEGER NOT NULL,
        heartbeat_deadline INTEGER
    ) STRICT;
    CREATE INDEX tokens_by_execution ON tokens (execution);
    ",
    // 2: definitions stored once and shared by their executions, instead of a copy per row.
    "
    CREATE TABLE definitions (
        id   INTEGER PRIMARY KEY,
        body TEXT    NOT NULL UNIQUE
    ) STRICT;
    INSERT OR IGNORE INTO definitions (body) SELECT definition FROM executions ORDER BY seq;
    ALTER TABLE executions ADD COLUMN definition_id INTEGER REFERENCES definitions (id);
    UPDATE executions
        SET definition_id = (SELECT id FROM definitions WHERE body = executions.definition);
    ALTER TABLE executions DROP COLUMN definition;
    ",
];

/// The schema version this build writes.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Settings every connection gets: waits for locks, enforces foreign keys, caches statements.
pub(crate) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// The page size of new files (SQLite's default is 4096; a file keeps the size it was created
/// with). Every commit writes each page it changed to the log in full, and most of a start's
/// pages are the last leaves of the tables and indexes it appends to, where it adds tens of
/// bytes each: smaller pages halve those writes and the savepoint copies of them, for about
/// 1.3 times the starts per second (BENCHMARKS.md); 1024 gains less.
pub(crate) const PAGE_SIZE: i64 = 2048;

/// Settings of the one writing connection of a file: the page size, if the file is new;
/// write-ahead log, so that readers never block the writer; and `synchronous=NORMAL`, which in
/// WAL mode keeps every commit across a process crash and syncs only at checkpoints. Checkpoints are left to the store's
/// checkpointer thread; the log file is cut back to 32 MiB after each restart.
/// Returns the journal mode SQLite settled on, which is `wal` unless the filesystem refuses it.
pub(crate) fn configure_file_writer(conn: &Connection) -> rusqlite::Result<String> {
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "journal_size_limit", 32 * 1024 * 1024)?;
    Ok(mode)
}

/// Brings the schema up to [`VERSION`], one transaction per migration.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated between the read above and this lock.
        let current: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if current > from as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", from as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, VERSION);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(Error::SchemaTooNew { found, supported }) if found == VERSION + 1 && supported == VERSION
        ));
    }

    #[test]
    fn version_2_keeps_each_definition_once_and_every_execution_its_own() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        let insert = "INSERT INTO executions (id, machine, definition, input, status, start_time) \
                      VALUES (?1, 'm', ?2, '{}', 'RUNNING', 1)";
        for (id, definition) in [
            ("a", r#"{"asl":1}"#),
            ("b", r#"{"asl":2}"#),
            ("c", r#"{"asl":1}"#),
        ] {
            conn.execute(insert, [id, definition]).unwrap();
        }
        migrate(&mut conn).unwrap();
        let stored: i64 = conn
            .query_row("SELECT count(*) FROM definitions", [], |row| row.get(0))
            .unwrap();
        assert_eq!(stored, 2);
        let mut select = conn
            .prepare(
                "SELECT e.id, d.body FROM executions e JOIN definitions d ON d.id = e.definition_id \
                 ORDER BY e.id",
            )
            .unwrap();
        let rows: Vec<(String, String)> = select
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected = [
            ("a", r#"{"asl":1}"#),
            ("b", r#"{"asl":2}"#),
            ("c", r#"{"asl":1}"#),
        ]
        .map(|(id, body)| (id.to_owned(), body.to_owned()));
        assert_eq!(rows, expected);
    }
}
