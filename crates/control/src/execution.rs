//! Executions as the executions table records them, and the forward-only order of their updates.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Epoch milliseconds (UTC).
pub type Millis = i64;

/// A Step Functions execution status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Started and not finished.
    Running,
    /// Finished with an output.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Ran past the machine's `TimeoutSeconds`.
    TimedOut,
    /// Stopped by StopExecution.
    Aborted,
    /// Failed and accepted for a redrive that has not started yet.
    PendingRedrive,
}

impl ExecutionStatus {
    /// The name Step Functions uses (`RUNNING`, `TIMED_OUT`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
            Self::Aborted => "ABORTED",
            Self::PendingRedrive => "PENDING_REDRIVE",
        }
    }

    /// Parses a Step Functions status name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "RUNNING" => Self::Running,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "TIMED_OUT" => Self::TimedOut,
            "ABORTED" => Self::Aborted,
            "PENDING_REDRIVE" => Self::PendingRedrive,
            _ => return None,
        })
    }

    /// Whether the execution has finished (every status but RUNNING and PENDING_REDRIVE).
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Running | Self::PendingRedrive)
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an update stands in an execution's life; the table only ever moves forward.
///
/// Updates are ordered by redrive count, then by stage (RUNNING before a terminal status), then,
/// among RUNNING updates of the same redrive, by event time (equal or later wins). A terminal
/// status is never replaced by another update of the same redrive: the first one recorded
/// stays. A redrive (Step Functions re-runs a failed execution under the same ARN) starts a new
/// round, so its RUNNING update may follow the FAILED one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// `redriveCount` of the execution when the update was observed.
    pub redrive_count: u32,
    /// Whether the update carries a terminal status.
    pub terminal: bool,
    /// When the update happened.
    pub event_time: Millis,
}

impl Progress {
    /// The single number the table stores and compares: `2 × redrive count + stage`.
    pub fn rank(&self) -> i64 {
        i64::from(self.redrive_count) * 2 + i64::from(self.terminal)
    }

    /// Whether an update at `self` may overwrite a row last written at `recorded`.
    pub fn supersedes(&self, recorded: &Progress) -> bool {
        match self.rank().cmp(&recorded.rank()) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => !self.terminal && self.event_time >= recorded.event_time,
        }
    }
}

/// A status update for one execution: from a status-change event or from DescribeExecution.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    /// The Conductor workflow id: the execution name (the table's key).
    pub workflow_id: String,
    /// The execution's ARN.
    pub execution_arn: String,
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// The Conductor workflow name, when the state machine is known.
    pub workflow_name: Option<String>,
    /// The new status.
    pub status: ExecutionStatus,
    /// When the execution started.
    pub start_time: Millis,
    /// When it finished, for terminal statuses.
    pub stop_time: Option<Millis>,
    /// The order of this update among the execution's updates.
    pub progress: Progress,
    /// The execution input as JSON text, when the source included it.
    pub input: Option<String>,
    /// The execution output as JSON text, when the source included it.
    pub output: Option<String>,
    /// The error name of a failed execution.
    pub error: Option<String>,
    /// The error cause of a failed execution.
    pub cause: Option<String>,
    /// When the row may be deleted (epoch seconds, the table's TTL attribute); set on terminal
    /// statuses only, so a long-running execution is never forgotten.
    pub expires_at: Option<i64>,
}

/// What the starter records when it starts an execution, before any status event: the facts only
/// the start request knows (correlation id, version). Recording is idempotent and never changes
/// a status already recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct StartRecord {
    /// The Conductor workflow id: the execution name.
    pub workflow_id: String,
    /// The execution's ARN.
    pub execution_arn: String,
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// The Conductor workflow name.
    pub workflow_name: String,
    /// The Conductor workflow version, when the request named one.
    pub workflow_version: Option<u32>,
    /// Conductor's correlation id.
    pub correlation_id: Option<String>,
    /// Conductor's priority (recorded; Step Functions has no priorities).
    pub priority: Option<u8>,
    /// When the execution started (the StartExecution answer, or the time of the request).
    pub start_time: Millis,
    /// The idempotency key that named the execution, if any.
    pub idempotency_key: Option<String>,
    /// When the row may be deleted (epoch seconds); set for Express executions, which send no
    /// status events.
    pub expires_at: Option<i64>,
    /// Whether Step Functions can settle the row later (status events, DescribeExecution): true
    /// for Standard machines. Only such rows are listed for reconciliation; Express executions
    /// are not served by DescribeExecution and would fail there on every run.
    pub reconcilable: bool,
}

/// A row left in RUNNING, as the reconciler lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningRow {
    /// The Conductor workflow id: the execution name.
    pub workflow_id: String,
    /// The execution's ARN.
    pub execution_arn: String,
    /// When the execution started.
    pub start_time: Millis,
}

/// How long finished executions stay in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Days after the end of an execution (or the start of an Express one).
    pub days: u32,
}

impl Retention {
    /// The default retention: 30 days.
    pub const DEFAULT: Retention = Retention { days: 30 };

    /// The TTL value (epoch seconds) of a row whose clock starts at `from`.
    pub fn expires_at(&self, from: Millis) -> i64 {
        from.div_euclid(1000) + i64::from(self.days) * 86_400
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(redrive_count: u32, terminal: bool, event_time: Millis) -> Progress {
        Progress {
            redrive_count,
            terminal,
            event_time,
        }
    }

    #[test]
    fn terminal_beats_running_whatever_the_time() {
        assert!(at(0, true, 10).supersedes(&at(0, false, 50)));
        assert!(!at(0, false, 50).supersedes(&at(0, true, 10)));
    }

    #[test]
    fn running_updates_keep_the_latest_event() {
        assert!(at(0, false, 20).supersedes(&at(0, false, 10)));
        assert!(at(0, false, 20).supersedes(&at(0, false, 20)));
        assert!(!at(0, false, 19).supersedes(&at(0, false, 20)));
    }

    #[test]
    fn the_first_terminal_status_stays() {
        assert!(!at(0, true, 30).supersedes(&at(0, true, 20)));
    }

    #[test]
    fn a_redrive_reopens_a_finished_execution() {
        assert!(at(1, false, 5).supersedes(&at(0, true, 100)));
        assert!(!at(0, false, 500).supersedes(&at(1, false, 5)));
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in [
            ExecutionStatus::Running,
            ExecutionStatus::Succeeded,
            ExecutionStatus::Failed,
            ExecutionStatus::TimedOut,
            ExecutionStatus::Aborted,
            ExecutionStatus::PendingRedrive,
        ] {
            assert_eq!(ExecutionStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ExecutionStatus::parse("running"), None);
        assert!(!ExecutionStatus::PendingRedrive.is_terminal());
        assert!(ExecutionStatus::TimedOut.is_terminal());
    }

    #[test]
    fn retention_counts_days_in_seconds() {
        assert_eq!(Retention { days: 2 }.expires_at(1_000_500), 1_000 + 172_800);
    }
}
