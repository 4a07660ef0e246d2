//! The engine's port to durable state.
//!
//! The engine appends every history event through [`ExecutionStore`] as it happens, so that a
//! host can resume unfinished executions after a crash by replaying their history. The SQLite
//! implementation lives in `ocflow-store`; [`MemoryStore`] serves tests and one-shot runs that
//! need no file.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::{HistoryEvent, Millis};
use crate::invoker::Invocation;

/// The status of an execution, as Step Functions names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Still running (or waiting on timers, tokens or children).
    Running,
    /// Ended in a Succeed state or an End.
    Succeeded,
    /// Ended in a Fail state or an uncaught error.
    Failed,
    /// Ran past the machine's `TimeoutSeconds`.
    TimedOut,
    /// Stopped from outside.
    Aborted,
}

impl ExecutionStatus {
    /// Whether the execution has ended.
    pub fn is_final(self) -> bool {
        self != ExecutionStatus::Running
    }

    /// The status as stored and shown (`RUNNING`, `SUCCEEDED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }
}

/// One execution as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRecord {
    /// The execution's id, which is its name (a Conductor workflowId).
    pub id: String,
    /// The name of the state machine it runs (for compiled workflows, the workflow name).
    pub machine: String,
    /// Everything needed to run the machine again on resume: the ASL document and, for
    /// compiled workflows, the task map (`{"asl": ..., "taskMap": ...}`). Shared: every
    /// execution of a machine holds the machine's own copy.
    pub definition: Arc<Value>,
    /// The execution input.
    pub input: Value,
    /// The current status.
    pub status: ExecutionStatus,
    /// When it started.
    pub start_time: Millis,
    /// When it ended.
    pub end_time: Option<Millis>,
    /// The output, once succeeded.
    pub output: Option<Value>,
    /// The error name, once failed.
    pub error: Option<String>,
    /// The cause, once failed.
    pub cause: Option<String>,
    /// The execution that started this one as a child, if any.
    pub parent_id: Option<String>,
    /// A correlation id given at start (Conductor's correlationId).
    pub correlation_id: Option<String>,
}

/// A task waiting for a callback (`.waitForTaskToken`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingToken {
    /// The token, as the worker sends it back.
    pub token: String,
    /// The execution waiting on it.
    pub execution_id: String,
    /// The scope of the waiting state (see [`HistoryEvent::scope`]).
    pub scope: String,
    /// The waiting Task state.
    pub state: String,
    /// When the token was issued.
    pub issued_at: Millis,
    /// When it times out for lack of a heartbeat, if the state has `HeartbeatSeconds`.
    pub heartbeat_deadline: Option<Millis>,
}

/// How an execution ended, for [`ExecutionStore::finish_execution`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionEnd {
    /// The final status.
    pub status: ExecutionStatus,
    /// When it ended.
    pub end_time: Millis,
    /// The output, when succeeded.
    pub output: Option<Value>,
    /// The error name, when failed.
    pub error: Option<String>,
    /// The cause, when failed.
    pub cause: Option<String>,
}

/// How a finished execution runs again, for [`ExecutionStore::reopen_execution`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionReopen {
    /// A new stored definition (a restart on the latest registered definition); the execution
    /// keeps its own when `None`.
    pub definition: Option<Arc<Value>>,
}

/// A callback task's pending token and what is written with it, in one atomic step where the
/// store can ([`ExecutionStore::issue_token`]).
#[derive(Debug, Clone, Copy)]
pub struct TokenIssue<'a> {
    /// The execution the token belongs to.
    pub execution_id: &'a str,
    /// The execution's record, when this write also creates it: a
    /// [launched](crate::Engine::launch) execution is written with its first events.
    pub create: Option<&'a ExecutionRecord>,
    /// History events not written yet (ids continue the existing ones).
    pub events: &'a [HistoryEvent],
    /// The token.
    pub token: &'a PendingToken,
    /// The message that hands the token out (the `.waitForTaskToken` call), if it is still to
    /// be sent: a store with an outbox keeps it in the same step.
    pub message: Option<&'a Invocation>,
}

/// Errors of a store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// An execution with this id exists already (execution names are unique).
    #[error("execution '{0}' already exists")]
    AlreadyExists(String),
    /// No execution with this id.
    #[error("no execution '{0}'")]
    NotFound(String),
    /// The backing storage failed.
    #[error("store failure: {0}")]
    Backend(String),
}

/// Durable state of executions: records, histories and pending tokens.
///
/// Every method is a short synchronous operation; implementations make each call atomic.
pub trait ExecutionStore: Send + Sync {
    /// Records a new execution, refusing a duplicate id.
    fn create_execution(&self, record: &ExecutionRecord) -> Result<(), StoreError>;
    /// Records a new execution with the first events of its history, as one step where the
    /// store can (a store with transactions writes both or neither); a duplicate id is refused
    /// and nothing is appended. By default, [`create_execution`](Self::create_execution) then
    /// [`append_events`](Self::append_events).
    fn create_execution_with_events(
        &self,
        record: &ExecutionRecord,
        events: &[HistoryEvent],
    ) -> Result<(), StoreError> {
        self.create_execution(record)?;
        self.append_events(&record.id, events)
    }
    /// Appends events to an execution's history (ids continue the existing ones).
    fn append_events(&self, execution_id: &str, events: &[HistoryEvent]) -> Result<(), StoreError>;
    /// Keeps a callback task's token with what goes with it ([`TokenIssue`]): the execution
    /// itself when the token's write creates it, the events not written yet, and the message
    /// that hands the token out when the store keeps such messages itself (an outbox, such as a
    /// host's worker queues in the store's own database). A store with transactions writes all
    /// of it or nothing; a creation of an id taken already is refused. Returns whether the
    /// store took the message; if not (by default, and for a message it has no outbox for),
    /// the engine sends it through its invoker once this returns. By default,
    /// [`create_execution_with_events`](Self::create_execution_with_events) or
    /// [`append_events`](Self::append_events), then [`put_token`](Self::put_token).
    fn issue_token(&self, issue: &TokenIssue<'_>) -> Result<bool, StoreError> {
        match issue.create {
            Some(record) => self.create_execution_with_events(record, issue.events)?,
            None if !issue.events.is_empty() => {
                self.append_events(issue.execution_id, issue.events)?;
            }
            None => {}
        }
        self.put_token(issue.token)?;
        Ok(false)
    }
    /// Marks an execution as ended. A finished execution never changes again: a second call
    /// leaves it as it is and returns `Ok(false)`.
    fn finish_execution(&self, execution_id: &str, end: &ExecutionEnd) -> Result<bool, StoreError>;
    /// Sets a finished execution running again (a redrive or a restart) and appends `event`,
    /// the `ExecutionRedriven` or `ExecutionRestarted` that says why, in one atomic step: the
    /// status becomes `RUNNING`, the end time, output, error and cause are cleared, and the
    /// definition is replaced when `reopen` gives one. An execution still running is left as it
    /// is, nothing is appended, and the answer is `Ok(false)` (two concurrent retries reopen
    /// once).
    fn reopen_execution(
        &self,
        execution_id: &str,
        reopen: &ExecutionReopen,
        event: &HistoryEvent,
    ) -> Result<bool, StoreError>;
    /// One execution.
    fn execution(&self, execution_id: &str) -> Result<Option<ExecutionRecord>, StoreError>;
    /// An execution's whole history, in order.
    fn history(&self, execution_id: &str) -> Result<Vec<HistoryEvent>, StoreError>;
    /// The ids of every execution still running, oldest first (resumed on start).
    fn unfinished_executions(&self) -> Result<Vec<String>, StoreError>;
    /// Remembers a token a task waits on.
    fn put_token(&self, token: &PendingToken) -> Result<(), StoreError>;
    /// Forgets a token and returns it, if it was pending (each token completes at most once).
    fn take_token(&self, token: &str) -> Result<Option<PendingToken>, StoreError>;
    /// The tokens an execution still waits on.
    fn pending_tokens(&self, execution_id: &str) -> Result<Vec<PendingToken>, StoreError>;
}

/// An in-memory [`ExecutionStore`], for tests and runs that keep nothing.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    executions: BTreeMap<String, ExecutionRecord>,
    histories: BTreeMap<String, Vec<HistoryEvent>>,
    tokens: BTreeMap<String, PendingToken>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // No method panics while holding the lock; recover the data if one ever did.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ExecutionStore for MemoryStore {
    fn create_execution(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.executions.contains_key(&record.id) {
            return Err(StoreError::AlreadyExists(record.id.clone()));
        }
        state.executions.insert(record.id.clone(), record.clone());
        state.histories.insert(record.id.clone(), Vec::new());
        Ok(())
    }

    fn append_events(&self, execution_id: &str, events: &[HistoryEvent]) -> Result<(), StoreError> {
        let mut state = self.state();
        let history = state
            .histories
            .get_mut(execution_id)
            .ok_or_else(|| StoreError::NotFound(execution_id.to_owned()))?;
        history.extend_from_slice(events);
        Ok(())
    }

    fn finish_execution(&self, execution_id: &str, end: &ExecutionEnd) -> Result<bool, StoreError> {
        let mut state = self.state();
        let record = state
            .executions
            .get_mut(execution_id)
            .ok_or_else(|| StoreError::NotFound(execution_id.to_owned()))?;
        if record.status.is_final() {
            return Ok(false);
        }
        record.status = end.status;
        record.end_time = Some(end.end_time);
        record.output = end.output.clone();
        record.error = end.error.clone();
        record.cause = end.cause.clone();
        state.tokens.retain(|_, t| t.execution_id != execution_id);
        Ok(true)
    }

    fn reopen_execution(
        &self,
        execution_id: &str,
        reopen: &ExecutionReopen,
        event: &HistoryEvent,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let record = state
            .executions
            .get_mut(execution_id)
            .ok_or_else(|| StoreError::NotFound(execution_id.to_owned()))?;
        if !record.status.is_final() {
            return Ok(false);
        }
        record.status = ExecutionStatus::Running;
        record.end_time = None;
        record.output = None;
        record.error = None;
        record.cause = None;
        if let Some(definition) = &reopen.definition {
            record.definition = definition.clone();
        }
        state
            .histories
            .entry(execution_id.to_owned())
            .or_default()
            .push(event.clone());
        Ok(true)
    }

    fn execution(&self, execution_id: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        Ok(self.state().executions.get(execution_id).cloned())
    }

    fn history(&self, execution_id: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        Ok(self
            .state()
            .histories
            .get(execution_id)
            .cloned()
            .unwrap_or_default())
    }

    fn unfinished_executions(&self) -> Result<Vec<String>, StoreError> {
        let state = self.state();
        let mut running: Vec<&ExecutionRecord> = state
            .executions
            .values()
            .filter(|r| !r.status.is_final())
            .collect();
        running.sort_by_key(|r| (r.start_time, r.id.clone()));
        Ok(running.into_iter().map(|r| r.id.clone()).collect())
    }

    fn put_token(&self, token: &PendingToken) -> Result<(), StoreError> {
        self.state()
            .tokens
            .insert(token.token.clone(), token.clone());
        Ok(())
    }

    fn take_token(&self, token: &str) -> Result<Option<PendingToken>, StoreError> {
        Ok(self.state().tokens.remove(token))
    }

    fn pending_tokens(&self, execution_id: &str) -> Result<Vec<PendingToken>, StoreError> {
        Ok(self
            .state()
            .tokens
            .values()
            .filter(|t| t.execution_id == execution_id)
            .cloned()
            .collect())
    }
}

/// Contract tests every [`ExecutionStore`] implementation must pass; `ocflow-store` runs them
/// against SQLite.
pub mod contract {
    use super::*;
    use crate::history::EventKind;
    use serde_json::json;

    fn record(id: &str, start_time: Millis) -> ExecutionRecord {
        ExecutionRecord {
            id: id.into(),
            machine: "m".into(),
            definition: Arc::new(json!({"asl": {}})),
            input: json!({"a": 1}),
            status: ExecutionStatus::Running,
            start_time,
            end_time: None,
            output: None,
            error: None,
            cause: None,
            parent_id: None,
            correlation_id: Some("c-1".into()),
        }
    }

    /// Runs every contract check on `store`, which must be empty; panics on the first failure.
    pub fn check(store: &dyn ExecutionStore) {
        store.create_execution(&record("b", 2)).unwrap();
        store.create_execution(&record("a", 1)).unwrap();
        assert!(matches!(
            store.create_execution(&record("a", 5)),
            Err(StoreError::AlreadyExists(id)) if id == "a"
        ));
        assert_eq!(store.execution("a").unwrap().unwrap(), record("a", 1));
        assert_eq!(store.execution("zz").unwrap(), None);

        let events: Vec<HistoryEvent> = (1..=3)
            .map(|id| HistoryEvent {
                id,
                timestamp: id as Millis,
                scope: String::new(),
                kind: EventKind::StateEntered {
                    state: format!("S{id}"),
                    input: json!(id),
                },
            })
            .collect();
        store.append_events("a", &events[..2]).unwrap();
        store.append_events("a", &events[2..]).unwrap();
        assert_eq!(store.history("a").unwrap(), events);
        assert!(matches!(
            store.append_events("zz", &events),
            Err(StoreError::NotFound(_))
        ));

        assert_eq!(store.unfinished_executions().unwrap(), vec!["a", "b"]);

        let token = PendingToken {
            token: "t-1".into(),
            execution_id: "a".into(),
            scope: "Fork/0".into(),
            state: "wait".into(),
            issued_at: 7,
            heartbeat_deadline: Some(70),
        };
        let issued = HistoryEvent {
            id: 4,
            timestamp: 7,
            scope: "Fork/0".into(),
            kind: EventKind::TaskTokenIssued {
                state: "wait".into(),
                token: "t-1".into(),
            },
        };
        let delivered = store
            .issue_token(&TokenIssue {
                execution_id: "a",
                create: None,
                events: std::slice::from_ref(&issued),
                token: &token,
                message: None,
            })
            .unwrap();
        assert!(!delivered, "no message, nothing delivered");
        assert_eq!(store.history("a").unwrap().last(), Some(&issued));
        assert_eq!(store.pending_tokens("a").unwrap(), vec![token.clone()]);
        assert_eq!(store.take_token("t-1").unwrap(), Some(token.clone()));
        store.put_token(&token).unwrap();
        assert_eq!(store.pending_tokens("a").unwrap(), vec![token.clone()]);
        assert_eq!(store.take_token("t-1").unwrap(), Some(token.clone()));
        assert_eq!(
            store.take_token("t-1").unwrap(),
            None,
            "a token completes once"
        );

        store.put_token(&token).unwrap();
        let end = ExecutionEnd {
            status: ExecutionStatus::Succeeded,
            end_time: 9,
            output: Some(json!({"ok": true})),
            error: None,
            cause: None,
        };
        assert!(store.finish_execution("a", &end).unwrap());
        let late = ExecutionEnd {
            status: ExecutionStatus::Failed,
            ..end.clone()
        };
        assert!(
            !store.finish_execution("a", &late).unwrap(),
            "finished stays finished"
        );
        let stored = store.execution("a").unwrap().unwrap();
        assert_eq!(stored.status, ExecutionStatus::Succeeded);
        assert_eq!(stored.output, Some(json!({"ok": true})));
        assert_eq!(stored.end_time, Some(9));
        assert!(
            store.pending_tokens("a").unwrap().is_empty(),
            "finishing drops tokens"
        );
        assert_eq!(store.unfinished_executions().unwrap(), vec!["b"]);

        let redriven = HistoryEvent {
            id: 5,
            timestamp: 12,
            scope: String::new(),
            kind: EventKind::ExecutionRedriven { redrive_count: 1 },
        };
        let reopen = ExecutionReopen {
            definition: Some(Arc::new(json!({"asl": {"StartAt": "B"}}))),
        };
        assert!(
            !store.reopen_execution("b", &reopen, &redriven).unwrap(),
            "a running execution is not reopened"
        );
        assert!(store.history("b").unwrap().is_empty());
        assert!(store.reopen_execution("a", &reopen, &redriven).unwrap());
        let reopened = store.execution("a").unwrap().unwrap();
        assert_eq!(reopened.status, ExecutionStatus::Running);
        assert_eq!(
            (reopened.end_time, reopened.output, reopened.error),
            (None, None, None)
        );
        assert_eq!(*reopened.definition, json!({"asl": {"StartAt": "B"}}));
        assert_eq!(reopened.start_time, 1, "the start time stays");
        assert_eq!(store.history("a").unwrap().last(), Some(&redriven));
        assert_eq!(store.unfinished_executions().unwrap(), vec!["a", "b"]);
        assert!(
            !store
                .reopen_execution("a", &ExecutionReopen::default(), &redriven)
                .unwrap(),
            "reopened once"
        );
        assert!(matches!(
            store.reopen_execution("zz", &reopen, &redriven),
            Err(StoreError::NotFound(_))
        ));

        store
            .create_execution_with_events(&record("c", 3), &events[..1])
            .unwrap();
        assert_eq!(store.execution("c").unwrap().unwrap(), record("c", 3));
        assert_eq!(store.history("c").unwrap(), events[..1]);
        assert!(matches!(
            store.create_execution_with_events(&record("c", 4), &events[1..]),
            Err(StoreError::AlreadyExists(id)) if id == "c"
        ));
        assert_eq!(
            store.history("c").unwrap(),
            events[..1],
            "a refused creation appends nothing"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_meets_the_contract() {
        contract::check(&MemoryStore::new());
    }
}
