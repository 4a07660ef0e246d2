//! Task logs: lines workers write about a task (Conductor's `POST /api/tasks/{taskId}/log`),
//! kept in the host's SQLite file. A task keeps its latest [`MAX_LINES_PER_TASK`] lines.

use rusqlite::params;

use crate::sidecar::{TableError, Tables};

/// How many lines a task keeps; older ones are dropped as new ones come.
pub const MAX_LINES_PER_TASK: usize = 500;

/// One kept line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The text.
    pub log: String,
    /// When it was written, in epoch milliseconds.
    pub created_time: i64,
}

/// The task logs of one host.
#[derive(Clone)]
pub struct TaskLogs {
    tables: Tables,
}

impl std::fmt::Debug for TaskLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskLogs").finish_non_exhaustive()
    }
}

impl TaskLogs {
    pub(crate) fn new(tables: Tables) -> Self {
        TaskLogs { tables }
    }

    /// Keeps `lines` for the task `task_id` of `workflow_id`, then drops the task's oldest
    /// lines beyond [`MAX_LINES_PER_TASK`].
    pub fn add(
        &self,
        task_id: &str,
        workflow_id: &str,
        lines: &[LogLine],
    ) -> Result<(), TableError> {
        let mut conn = self.tables.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO local_task_logs (task_id, workflow_id, created_at, log) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for line in lines {
                insert.execute(params![task_id, workflow_id, line.created_time, line.log])?;
            }
            let keep = i64::try_from(MAX_LINES_PER_TASK).unwrap_or(i64::MAX);
            tx.prepare_cached(
                "DELETE FROM local_task_logs WHERE task_id = ?1 AND rowid NOT IN \
                 (SELECT rowid FROM local_task_logs WHERE task_id = ?1 \
                  ORDER BY rowid DESC LIMIT ?2)",
            )?
            .execute(params![task_id, keep])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The lines kept for `task_id`, oldest first.
    pub fn lines(&self, task_id: &str) -> Result<Vec<LogLine>, TableError> {
        let conn = self.tables.lock();
        let mut select = conn.prepare_cached(
            "SELECT log, created_at FROM local_task_logs WHERE task_id = ?1 ORDER BY rowid",
        )?;
        let lines = select
            .query_map([task_id], |row| {
                Ok(LogLine {
                    log: row.get(0)?,
                    created_time: row.get(1)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines)
    }

    /// Forgets the lines of every task of `workflow_id`; how many there were.
    pub fn remove_workflow(&self, workflow_id: &str) -> Result<usize, TableError> {
        Ok(self.tables.lock().execute(
            "DELETE FROM local_task_logs WHERE workflow_id = ?1",
            [workflow_id],
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize) -> LogLine {
        LogLine {
            log: format!("line {n}"),
            created_time: i64::try_from(n).unwrap(),
        }
    }

    #[test]
    fn a_task_keeps_its_latest_lines() {
        let logs = TaskLogs::new(Tables::open(None).unwrap());
        let many: Vec<LogLine> = (0..MAX_LINES_PER_TASK + 3).map(line).collect();
        logs.add("wf-1-1", "wf-1", &many[..3]).unwrap();
        logs.add("wf-1-1", "wf-1", &many[3..]).unwrap();
        logs.add("wf-2-1", "wf-2", &[line(7)]).unwrap();
        let kept = logs.lines("wf-1-1").unwrap();
        assert_eq!(kept.len(), MAX_LINES_PER_TASK);
        assert_eq!(kept[0], line(3), "the three oldest are dropped");
        assert_eq!(kept.last(), many.last());
        assert_eq!(logs.remove_workflow("wf-1").unwrap(), MAX_LINES_PER_TASK);
        assert!(logs.lines("wf-1-1").unwrap().is_empty());
        assert_eq!(logs.lines("wf-2-1").unwrap(), vec![line(7)]);
    }
}
