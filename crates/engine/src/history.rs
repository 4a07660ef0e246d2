//! The execution history: what happened, one event per step, in the manner of Step Functions'
//! `GetExecutionHistory`.
//!
//! The history is the engine's source of truth. It is appended to the store at every
//! transition; the Conductor-style execution record is derived from it (with the compiler's
//! task map); and an interrupted execution resumes by replaying it: recorded task results and
//! fired timers are taken from the history instead of being run again.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Milliseconds since the Unix epoch, on the engine's clock.
pub type Millis = i64;

/// One event of an execution's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// Position in the history, from 1, without gaps.
    pub id: u64,
    /// When it happened.
    pub timestamp: Millis,
    /// Where it happened: empty at the top level, else the path of enclosing Parallel branches
    /// and Map iterations, such as `Fork/1` or `Fork/1/Lines/3` (state name / branch or item index).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened at one step of an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum EventKind {
    /// The execution started with this input.
    ExecutionStarted {
        /// The execution input.
        input: Value,
    },
    /// The execution ended successfully with this output.
    ExecutionSucceeded {
        /// The execution output.
        output: Value,
    },
    /// The execution ended in a Fail state or an uncaught error.
    ExecutionFailed {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
    /// The execution ran past the machine's `TimeoutSeconds`.
    ExecutionTimedOut,
    /// The execution was stopped from outside (Conductor: terminated).
    ExecutionAborted {
        /// Why it was stopped.
        cause: String,
    },
    /// A failed, timed out or aborted execution runs again from what did not succeed
    /// (`RedriveExecution`; Conductor's retry). Replay keeps what succeeded before it and runs
    /// again, from its entry, every state that was unfinished when the execution ended.
    ExecutionRedriven {
        /// How many times the execution has been redriven, this one included (from 1).
        redrive_count: u32,
    },
    /// An ended execution starts again from the beginning with its input, under the same id
    /// (Conductor's restart). Replay ignores every event before it.
    ExecutionRestarted,
    /// A state was entered.
    StateEntered {
        /// The state's name.
        state: String,
        /// The state's input.
        input: Value,
    },
    /// A state was left.
    StateExited {
        /// The state's name.
        state: String,
        /// The state's output.
        output: Value,
        /// The variables the state assigned, with their new values.
        #[serde(default, skip_serializing_if = "Map::is_empty")]
        assigned: Map<String, Value>,
    },
    /// A Task state invoked its resource (once per attempt).
    TaskScheduled {
        /// The Task state's name.
        state: String,
        /// The resource, after placeholder substitution.
        resource: String,
        /// The evaluated `Arguments`.
        arguments: Value,
        /// The attempt, from 0 (0 is the first try, 1 the first retry).
        attempt: u32,
    },
    /// A task waiting for a callback produced its token.
    TaskTokenIssued {
        /// The Task state's name.
        state: String,
        /// The token, as the worker will send it back.
        token: String,
    },
    /// The task's resource answered successfully.
    TaskSucceeded {
        /// The Task state's name.
        state: String,
        /// The raw result (`$states.result`).
        result: Value,
    },
    /// The task's resource failed (this attempt).
    TaskFailed {
        /// The Task state's name.
        state: String,
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
    /// A Retry rule matched: the state runs again after `delay_ms`.
    RetryScheduled {
        /// The state's name.
        state: String,
        /// The attempt about to run, from 1.
        attempt: u32,
        /// The delay before it.
        delay_ms: u64,
    },
    /// A Catch rule matched: control moves to its `Next`.
    ErrorCaught {
        /// The state's name.
        state: String,
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
        /// The Catch's target state.
        next: String,
    },
    /// A timer started (Wait state, retry delay): it fires at `until`.
    TimerStarted {
        /// The state's name.
        state: String,
        /// When the timer fires.
        until: Millis,
    },
    /// A timer fired.
    TimerFired {
        /// The state's name.
        state: String,
    },
    /// A Map state starts an iteration (its events carry the scope `<Map>/<index>`).
    MapIterationStarted {
        /// The Map state's name.
        state: String,
        /// The iteration's index.
        index: usize,
    },
    /// A child execution was started (`states:startExecution`).
    ChildExecutionStarted {
        /// The Task state's name.
        state: String,
        /// The child's execution id (its name).
        execution_id: String,
    },
}

impl EventKind {
    /// The state this event belongs to, if any.
    pub fn state(&self) -> Option<&str> {
        match self {
            EventKind::StateEntered { state, .. }
            | EventKind::StateExited { state, .. }
            | EventKind::TaskScheduled { state, .. }
            | EventKind::TaskTokenIssued { state, .. }
            | EventKind::TaskSucceeded { state, .. }
            | EventKind::TaskFailed { state, .. }
            | EventKind::RetryScheduled { state, .. }
            | EventKind::ErrorCaught { state, .. }
            | EventKind::TimerStarted { state, .. }
            | EventKind::TimerFired { state }
            | EventKind::MapIterationStarted { state, .. }
            | EventKind::ChildExecutionStarted { state, .. } => Some(state),
            EventKind::ExecutionStarted { .. }
            | EventKind::ExecutionSucceeded { .. }
            | EventKind::ExecutionFailed { .. }
            | EventKind::ExecutionTimedOut
            | EventKind::ExecutionAborted { .. }
            | EventKind::ExecutionRedriven { .. }
            | EventKind::ExecutionRestarted => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_serialise_flat_with_a_type_tag() {
        let event = HistoryEvent {
            id: 3,
            timestamp: 1_000,
            scope: "Fork/1".into(),
            kind: EventKind::TaskFailed {
                state: "charge".into(),
                error: "Ocf.Http5xx".into(),
                cause: "503".into(),
            },
        };
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(
            value,
            json!({"id": 3, "timestamp": 1000, "scope": "Fork/1", "type": "TaskFailed",
                   "state": "charge", "error": "Ocf.Http5xx", "cause": "503"})
        );
        assert_eq!(
            serde_json::from_value::<HistoryEvent>(value).unwrap(),
            event
        );
        assert_eq!(event.kind.state(), Some("charge"));
    }
}
