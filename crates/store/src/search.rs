//! Queries beyond the engine's port, for the REST API: search and counts.

use ocflow_engine::history::Millis;
use ocflow_engine::store::ExecutionStatus;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Row, params_from_iter};

use crate::codec::status_column;
use crate::{Error, SqliteStore};

/// Which executions [`SqliteStore::search_executions`] returns; every filter that is set must
/// match. Results come newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionQuery {
    /// Only executions of this state machine (workflow name).
    pub machine: Option<String>,
    /// Only executions with this status.
    pub status: Option<ExecutionStatus>,
    /// Only executions started at or after this time.
    pub started_from: Option<Millis>,
    /// Only executions started before this time.
    pub started_before: Option<Millis>,
    /// Only executions with this correlation id.
    pub correlation_id: Option<String>,
    /// Only children of this execution.
    pub parent_id: Option<String>,
    /// At most this many results.
    pub limit: usize,
    /// Skip this many results first (for paging).
    pub offset: usize,
}

impl ExecutionQuery {
    /// The limit of a query that sets none.
    pub const DEFAULT_LIMIT: usize = 100;
}

impl Default for ExecutionQuery {
    fn default() -> Self {
        ExecutionQuery {
            machine: None,
            status: None,
            started_from: None,
            started_before: None,
            correlation_id: None,
            parent_id: None,
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// An execution as search lists it: everything but the definition, input and output, which
/// [`ExecutionStore::execution`](ocflow_engine::store::ExecutionStore::execution) returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionSummary {
    /// The execution's id (its name).
    pub id: String,
    /// The state machine it runs.
    pub machine: String,
    /// Its status.
    pub status: ExecutionStatus,
    /// When it started.
    pub start_time: Millis,
    /// When it ended.
    pub end_time: Option<Millis>,
    /// The error name, once failed.
    pub error: Option<String>,
    /// The cause, once failed.
    pub cause: Option<String>,
    /// The execution that started it, if any.
    pub parent_id: Option<String>,
    /// Its correlation id, if any.
    pub correlation_id: Option<String>,
}

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<ExecutionSummary> {
    Ok(ExecutionSummary {
        id: row.get(0)?,
        machine: row.get(1)?,
        status: status_column(row, 2)?,
        start_time: row.get(3)?,
        end_time: row.get(4)?,
        error: row.get(5)?,
        cause: row.get(6)?,
        parent_id: row.get(7)?,
        correlation_id: row.get(8)?,
    })
}

fn clamp(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// The executions that match `query`, newest first (by start time, then by creation).
    pub fn search_executions(
        &self,
        query: &ExecutionQuery,
    ) -> Result<Vec<ExecutionSummary>, Error> {
        let mut conditions = Vec::new();
        let mut values = Vec::new();
        let mut filter = |condition: &str, value: SqlValue| {
            values.push(value);
            conditions.push(format!("{condition} ?{}", values.len()));
        };
        if let Some(machine) = &query.machine {
            filter("machine =", SqlValue::Text(machine.clone()));
        }
        if let Some(status) = query.status {
            filter("status =", SqlValue::Text(status.as_str().to_owned()));
        }
        if let Some(from) = query.started_from {
            filter("start_time >=", SqlValue::Integer(from));
        }
        if let Some(before) = query.started_before {
            filter("start_time <", SqlValue::Integer(before));
        }
        if let Some(correlation_id) = &query.correlation_id {
            filter("correlation_id =", SqlValue::Text(correlation_id.clone()));
        }
        if let Some(parent_id) = &query.parent_id {
            filter("parent_id =", SqlValue::Text(parent_id.clone()));
        }
        let mut sql = String::from(
            "SELECT id, machine, status, start_time, end_time, error, cause, parent_id, \
             correlation_id FROM executions",
        );
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        values.push(SqlValue::Integer(clamp(query.limit)));
        values.push(SqlValue::Integer(clamp(query.offset)));
        sql.push_str(&format!(
            " ORDER BY start_time DESC, seq DESC LIMIT ?{} OFFSET ?{}",
            values.len() - 1,
            values.len()
        ));
        self.read(|conn| {
            // At most 2^6 distinct statements: the cache keeps the ones in use.
            let mut select = conn.prepare_cached(&sql)?;
            let summaries = select
                .query_map(params_from_iter(values), summary_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(summaries)
        })
    }

    /// How many executions there are in each status (of one state machine, if `machine` is
    /// given); statuses without executions are left out.
    pub fn count_by_status(
        &self,
        machine: Option<&str>,
    ) -> Result<Vec<(ExecutionStatus, u64)>, Error> {
        self.read(|conn| {
            let mut select = match machine {
                Some(_) => conn.prepare_cached(
                    "SELECT status, count(*) FROM executions WHERE machine = ?1 \
                     GROUP BY status ORDER BY status",
                )?,
                None => conn.prepare_cached(
                    "SELECT status, count(*) FROM executions GROUP BY status ORDER BY status",
                )?,
            };
            let rows = match machine {
                Some(machine) => select.query_map([machine], count_from_row)?,
                None => select.query_map([], count_from_row)?,
            };
            let counts = rows.collect::<Result<Vec<_>, _>>()?;
            Ok(counts)
        })
    }

    /// Deletes an execution with its history and tokens; `false` if there was none.
    pub fn remove_execution(&self, execution_id: &str) -> Result<bool, Error> {
        self.write(|tx| {
            let removed = tx
                .prepare_cached("DELETE FROM executions WHERE id = ?1")?
                .execute([execution_id])?;
            Ok(removed > 0)
        })
    }
}

fn count_from_row(row: &Row<'_>) -> rusqlite::Result<(ExecutionStatus, u64)> {
    let count: i64 = row.get(1)?;
    Ok((status_column(row, 0)?, count.unsigned_abs()))
}
