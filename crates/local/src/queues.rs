//! Worker queues: where compiled worker tasks (`sqs:sendMessage.waitForTaskToken` to
//! `${WorkerQueueUrl_<type>}`) wait for a worker, as SQS queues do on AWS.
//!
//! A polled task stays in its queue, hidden for the visibility timeout, and is handed out again
//! (with a higher `pollCount`) if no result comes back in time; a result removes it. Queues live
//! in the host's SQLite file, so pending tasks survive a restart; there they are the store's
//! outbox (`ocflow_store::Outbox`): a task is queued in the same write as its task token.

use std::sync::Arc;
use std::time::Duration;

use ocflow_control::worker::Delivery;
use ocflow_engine::Clock;
use ocflow_protocol::payload::WorkerMessage;
use rusqlite::{OptionalExtension, params};
use tokio::sync::Notify;

use crate::sidecar::{TableError, Tables};

/// How long a polled task stays hidden when its worker does not say otherwise.
pub const DEFAULT_VISIBILITY: Duration = Duration::from_secs(60);

/// How often a long poll looks again for tasks whose visibility timeout ran out.
const RECHECK: Duration = Duration::from_millis(200);

/// A task handed to a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct PolledTask {
    /// The message the compiled state sent, with its task token.
    pub message: WorkerMessage,
    /// How it was delivered (poll count, times, worker).
    pub delivery: Delivery,
}

/// The worker queues of one host, one per task type.
#[derive(Clone)]
pub struct WorkerQueues {
    tables: Tables,
    clock: Arc<dyn Clock>,
    visibility: Duration,
    pushed: Arc<Notify>,
}

impl std::fmt::Debug for WorkerQueues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerQueues")
            .field("visibility", &self.visibility)
            .finish_non_exhaustive()
    }
}

impl WorkerQueues {
    pub(crate) fn new(tables: Tables, clock: Arc<dyn Clock>, visibility: Duration) -> Self {
        WorkerQueues {
            tables,
            clock,
            visibility,
            pushed: Arc::new(Notify::new()),
        }
    }

    /// Queues a task; a second push of the same token changes nothing.
    pub fn push(&self, message: &WorkerMessage) -> Result<(), TableError> {
        let push = self.prepare_push(message);
        self.tables.write(|conn| Ok(push(conn)?))?;
        self.wake_pollers();
        Ok(())
    }

    /// The write that queues a task, serialised now, for a write of the caller's (the store's
    /// outbox, which queues it with its token); call [`wake_pollers`](Self::wake_pollers) once
    /// that write committed.
    pub(crate) fn prepare_push(
        &self,
        message: &WorkerMessage,
    ) -> impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<()> + Send + 'static {
        let body = serde_json::to_string(message).unwrap_or_default();
        let (token, task_id) = (message.task_token.clone(), message.task_id.clone());
        let (task_type, execution) = (message.task_type.clone(), message.workflow_id.clone());
        let now = self.clock.now();
        move |conn| {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO local_worker_tasks \
                 (token, task_id, task_type, execution, message, sent_at, visible_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )?
            .execute(params![token, task_id, task_type, execution, body, now])?;
            Ok(())
        }
    }

    /// Wakes the polls waiting for tasks, after tasks were queued.
    pub(crate) fn wake_pollers(&self) {
        self.pushed.notify_waiters();
    }

    /// Hands out up to `count` visible tasks of `task_type`, oldest first, and hides them for the
    /// visibility timeout. Tasks for which `is_live` says no (their execution stopped waiting)
    /// are dropped instead; it gets the connection the poll runs on, which sees the writes of
    /// the transaction it runs in.
    pub fn poll(
        &self,
        task_type: &str,
        count: usize,
        worker_id: Option<&str>,
        is_live: &dyn Fn(&rusqlite::Connection, &WorkerMessage) -> bool,
    ) -> Result<Vec<PolledTask>, TableError> {
        let now = self.clock.now();
        let hidden_until =
            now.saturating_add(i64::try_from(self.visibility.as_millis()).unwrap_or(i64::MAX));
        // One write: the poll reads then updates under the writer's lock.
        self.tables.write(|tx| {
            let mut polled = Vec::new();
            let mut select = tx.prepare_cached(
                "SELECT token, message, sent_at, poll_count FROM local_worker_tasks \
                 WHERE task_type = ?1 AND visible_at <= ?2 ORDER BY sent_at, rowid LIMIT ?3",
            )?;
            let limit = i64::try_from(count).unwrap_or(i64::MAX);
            let rows = select
                .query_map(params![task_type, now, limit], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            for (token, body, sent_at, poll_count) in rows {
                let message = serde_json::from_str::<WorkerMessage>(&body).ok();
                let Some(message) = message.filter(|m| is_live(tx, m)) else {
                    tx.execute("DELETE FROM local_worker_tasks WHERE token = ?1", [&token])?;
                    continue;
                };
                let poll_count = poll_count.saturating_add(1);
                tx.execute(
                    "UPDATE local_worker_tasks SET poll_count = ?2, visible_at = ?3, \
                     received_at = ?4, worker_id = ?5 WHERE token = ?1",
                    params![token, poll_count, hidden_until, now, worker_id],
                )?;
                polled.push(PolledTask {
                    message,
                    delivery: Delivery {
                        poll_count: u32::try_from(poll_count).unwrap_or(u32::MAX),
                        sent_at,
                        received_at: now,
                        worker_id: worker_id.map(str::to_owned),
                    },
                });
            }
            Ok(polled)
        })
    }

    /// As [`WorkerQueues::poll`], waiting up to `timeout` for at least one task.
    pub async fn poll_wait(
        &self,
        task_type: &str,
        count: usize,
        worker_id: Option<&str>,
        timeout: Duration,
        is_live: &(dyn Fn(&rusqlite::Connection, &WorkerMessage) -> bool + Sync),
    ) -> Result<Vec<PolledTask>, TableError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pushed = self.pushed.notified();
            tokio::pin!(pushed);
            pushed.as_mut().enable();
            let polled = self.poll(task_type, count, worker_id, is_live)?;
            let now = tokio::time::Instant::now();
            if !polled.is_empty() || now >= deadline {
                return Ok(polled);
            }
            let wake = deadline.min(now + RECHECK);
            tokio::select! {
                () = &mut pushed => {}
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// The pending task with this Conductor task id (the latest sent, if a retry reused it).
    pub fn find(&self, task_id: &str) -> Result<Option<WorkerMessage>, TableError> {
        let body: Option<String> = self
            .tables
            .lock()
            .query_row(
                "SELECT message FROM local_worker_tasks WHERE task_id = ?1 \
                 ORDER BY sent_at DESC, rowid DESC LIMIT 1",
                [task_id],
                |row| row.get(0),
            )
            .optional()?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    /// The pending task with this task token.
    pub fn find_by_token(&self, token: &str) -> Result<Option<WorkerMessage>, TableError> {
        let body: Option<String> = self
            .tables
            .lock()
            .query_row(
                "SELECT message FROM local_worker_tasks WHERE token = ?1",
                [token],
                |row| row.get(0),
            )
            .optional()?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }

    /// Hides a task for `delay` (a worker's `IN_PROGRESS` with `callbackAfterSeconds`); `false`
    /// if it is no longer queued.
    pub fn hide(&self, token: &str, delay: Duration) -> Result<bool, TableError> {
        let until = self
            .clock
            .now()
            .saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        let changed = self.tables.write(|conn| {
            Ok(conn.execute(
                "UPDATE local_worker_tasks SET visible_at = ?2 WHERE token = ?1",
                params![token, until],
            )?)
        })?;
        Ok(changed > 0)
    }

    /// Removes a task once its result is in; `false` if it was not queued.
    pub fn remove(&self, token: &str) -> Result<bool, TableError> {
        let removed = self.tables.write(|conn| {
            Ok(conn
                .prepare_cached("DELETE FROM local_worker_tasks WHERE token = ?1")?
                .execute([token])?)
        })?;
        Ok(removed > 0)
    }

    /// How many tasks of each type wait for a worker (queued and not handed out, or handed
    /// out and back after their visibility timeout), by type; `task_types` limits the types
    /// (all when `None`). Types without waiting tasks are left out.
    pub fn waiting(&self, task_types: Option<&[String]>) -> Result<Vec<(String, u64)>, TableError> {
        let now = self.clock.now();
        let conn = self.tables.lock();
        let mut select = conn.prepare_cached(
            "SELECT task_type, count(*) FROM local_worker_tasks WHERE visible_at <= ?1 \
             GROUP BY task_type ORDER BY task_type",
        )?;
        let counts = select
            .query_map([now], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?.unsigned_abs(),
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(counts
            .into_iter()
            .filter(|(t, _)| task_types.is_none_or(|types| types.contains(t)))
            .collect())
    }

    /// Drops the queued tasks of an execution; how many there were.
    pub fn remove_execution(&self, execution_id: &str) -> Result<usize, TableError> {
        self.tables.write(|conn| {
            Ok(conn.execute(
                "DELETE FROM local_worker_tasks WHERE execution = ?1",
                [execution_id],
            )?)
        })
    }

    /// How many tasks of `task_type` are queued, visible or not.
    pub fn len(&self, task_type: &str) -> Result<u64, TableError> {
        let n: i64 = self.tables.lock().query_row(
            "SELECT count(*) FROM local_worker_tasks WHERE task_type = ?1",
            [task_type],
            |row| row.get(0),
        )?;
        Ok(n.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocflow_engine::VirtualClock;
    use serde_json::json;

    fn message(token: &str, task_type: &str) -> WorkerMessage {
        WorkerMessage {
            task_token: token.into(),
            task_id: format!("wf-1/{token}"),
            workflow_id: "wf-1".into(),
            workflow_type: "media".into(),
            task_type: task_type.into(),
            task_def_name: task_type.into(),
            reference_task_name: format!("{task_type}_ref"),
            retry_count: 0,
            input_data: json!({"token": token}),
        }
    }

    fn queues(clock: Arc<dyn Clock>, db: Option<&std::path::Path>) -> WorkerQueues {
        WorkerQueues::new(Tables::open(db).unwrap(), clock, Duration::from_secs(30))
    }

    fn live(_: &rusqlite::Connection, _: &WorkerMessage) -> bool {
        true
    }

    #[tokio::test(start_paused = true)]
    async fn polled_tasks_come_back_after_the_visibility_timeout() {
        let clock = Arc::new(VirtualClock::at_2026());
        let q = queues(clock.clone(), None);
        q.push(&message("a", "encode")).unwrap();
        q.push(&message("b", "encode")).unwrap();
        q.push(&message("c", "resize")).unwrap();
        q.push(&message("a", "encode")).unwrap();
        assert_eq!(q.len("encode").unwrap(), 2);

        let first = q.poll("encode", 1, Some("w-1"), &live).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].message.task_token, "a");
        assert_eq!(first[0].delivery.poll_count, 1);
        assert_eq!(first[0].delivery.worker_id.as_deref(), Some("w-1"));
        let waiting = |types: Option<&[String]>| q.waiting(types).unwrap();
        assert_eq!(
            waiting(None),
            vec![("encode".to_owned(), 1), ("resize".to_owned(), 1)]
        );
        assert_eq!(
            waiting(Some(&["encode".to_owned(), "other".to_owned()])),
            vec![("encode".to_owned(), 1)]
        );
        let rest = q.poll("encode", 10, None, &live).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].message.task_token, "b");
        assert!(q.poll("encode", 10, None, &live).unwrap().is_empty());

        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(
            waiting(Some(&["encode".to_owned()])),
            vec![("encode".to_owned(), 2)]
        );
        let again = q.poll("encode", 10, None, &live).unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(q.remove_execution("wf-1").unwrap(), 3);
        assert_eq!(waiting(None), vec![]);
        assert_eq!(again[0].delivery.poll_count, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn results_remove_and_progress_hides() {
        let clock = Arc::new(VirtualClock::at_2026());
        let q = queues(clock.clone(), None);
        q.push(&message("a", "encode")).unwrap();
        assert_eq!(
            q.find("wf-1/a").unwrap().map(|m| m.task_token),
            Some("a".to_owned())
        );
        assert_eq!(
            q.find_by_token("a").unwrap().map(|m| m.task_id),
            Some("wf-1/a".to_owned())
        );
        assert_eq!(q.find_by_token("b").unwrap(), None);
        assert!(q.hide("a", Duration::from_secs(100)).unwrap());
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(q.poll("encode", 1, None, &live).unwrap().is_empty());
        tokio::time::advance(Duration::from_secs(41)).await;
        assert_eq!(q.poll("encode", 1, None, &live).unwrap().len(), 1);
        assert!(q.remove("a").unwrap());
        assert!(!q.remove("a").unwrap());
        assert_eq!(q.find("wf-1/a").unwrap(), None);
    }

    #[tokio::test]
    async fn dead_tasks_are_dropped_and_long_polls_wake_on_push() {
        let clock: Arc<dyn Clock> = Arc::new(ocflow_engine::SystemClock);
        let q = queues(clock, None);
        q.push(&message("stale", "encode")).unwrap();
        let none = q
            .poll("encode", 5, None, &|_, m| m.task_token != "stale")
            .unwrap();
        assert!(none.is_empty());
        assert_eq!(q.len("encode").unwrap(), 0);

        let pusher = q.clone();
        let push = tokio::spawn(async move {
            tokio::task::yield_now().await;
            pusher.push(&message("fresh", "encode")).unwrap();
        });
        let got = q
            .poll_wait("encode", 5, None, Duration::from_secs(10), &live)
            .await
            .unwrap();
        push.await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].message.task_token, "fresh");
    }

    #[test]
    fn tasks_survive_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("host.db");
        let clock: Arc<dyn Clock> = Arc::new(ocflow_engine::SystemClock);
        queues(Arc::clone(&clock), Some(&db))
            .push(&message("a", "encode"))
            .unwrap();
        let reopened = queues(clock, Some(&db));
        let polled = reopened.poll("encode", 5, None, &live).unwrap();
        assert_eq!(polled.len(), 1);
        assert_eq!(polled[0].message.input_data["token"], "a");
    }
}
