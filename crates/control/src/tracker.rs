//! Keeps the executions table in step with EventBridge "Step Functions Execution Status Change"
//! events, and [`TrackerHandler`] routes the tracker function's events (status changes and
//! the reconciler's schedule).
//!
//! Those events exist for Standard machines only, may arrive late, twice or never, and leave out
//! input and output above 248 KB. Every update is therefore a conditional write that only moves
//! a row forward ([`crate::Progress`]): a late RUNNING event after SUCCEEDED is ignored; rows the
//! events never settle are left to [`crate::reconcile`].

use serde::Deserialize;
use serde_json::Value;

use crate::directory::StateMachineResolver;
use crate::execution::{ExecutionStatus, Millis, Progress, Retention, StatusChange};
use crate::ports::{Applied, ExecutionTable, PortError, StepFunctions};
use crate::reconcile::{Reconciler, Report};

/// The `detail-type` of the events the tracker handles.
pub const DETAIL_TYPE: &str = "Step Functions Execution Status Change";

/// Input or output above this many bytes is not copied into the table (a DynamoDB item holds at
/// most 400 KB); the execution keeps it.
pub const MAX_STORED_PAYLOAD_BYTES: usize = 128 * 1024;

/// An EventBridge status-change event (the fields the tracker reads).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StatusChangeEvent {
    /// Must be [`DETAIL_TYPE`].
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// When the change happened (RFC 3339).
    pub time: String,
    /// The execution.
    pub detail: StatusChangeDetail,
}

/// The `detail` of a status-change event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChangeDetail {
    /// The execution's ARN.
    pub execution_arn: String,
    /// The state machine's ARN.
    pub state_machine_arn: String,
    /// The execution name.
    pub name: String,
    /// The new status.
    pub status: String,
    /// When the execution started (epoch milliseconds).
    #[serde(default)]
    pub start_date: Option<Millis>,
    /// When it stopped (epoch milliseconds).
    #[serde(default)]
    pub stop_date: Option<Millis>,
    /// The input as JSON text (absent above 248 KB).
    #[serde(default)]
    pub input: Option<String>,
    /// The output as JSON text (absent above 248 KB).
    #[serde(default)]
    pub output: Option<String>,
    /// The error name of a failed execution.
    #[serde(default)]
    pub error: Option<String>,
    /// The error cause of a failed execution.
    #[serde(default)]
    pub cause: Option<String>,
    /// How many times the execution was redriven.
    #[serde(default)]
    pub redrive_count: u32,
}

/// Why an event could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event is not a status-change event the tracker understands.
    #[error("malformed status-change event: {0}")]
    Malformed(String),
    /// The table failed.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Parses an RFC 3339 timestamp into epoch milliseconds.
pub fn parse_time(text: &str) -> Option<Millis> {
    let timestamp: jiff::Timestamp = text.parse().ok()?;
    Some(timestamp.as_millisecond())
}

/// Keeps payloads that fit in a table row.
pub(crate) fn storable(payload: Option<String>) -> Option<String> {
    payload.filter(|p| p.len() <= MAX_STORED_PAYLOAD_BYTES)
}

impl StatusChangeEvent {
    /// The table update this event stands for.
    pub fn to_change(
        &self,
        resolver: &impl StateMachineResolver,
        retention: Retention,
    ) -> Result<StatusChange, Error> {
        if self.detail_type != DETAIL_TYPE {
            return Err(Error::Malformed(format!(
                "unexpected detail-type `{}`",
                self.detail_type
            )));
        }
        let detail = &self.detail;
        let status = ExecutionStatus::parse(&detail.status)
            .ok_or_else(|| Error::Malformed(format!("unknown status `{}`", detail.status)))?;
        // The event time has whole seconds; an update is never earlier than the start it reports
        // (so the RUNNING event does not lose to the starter's record of the same start).
        let event_time = parse_time(&self.time)
            .or(detail.stop_date)
            .or(detail.start_date)
            .ok_or_else(|| Error::Malformed(format!("unreadable time `{}`", self.time)))?
            .max(detail.start_date.unwrap_or(i64::MIN));
        let start_time = detail.start_date.unwrap_or(event_time);
        let stop_time = detail.stop_date.filter(|_| status.is_terminal());
        Ok(StatusChange {
            workflow_id: detail.name.clone(),
            execution_arn: detail.execution_arn.clone(),
            state_machine_arn: detail.state_machine_arn.clone(),
            workflow_name: resolver.workflow_name(&detail.state_machine_arn),
            status,
            start_time,
            stop_time,
            progress: Progress {
                redrive_count: detail.redrive_count,
                terminal: status.is_terminal(),
                event_time: stop_time.unwrap_or(event_time),
            },
            input: storable(detail.input.clone()),
            output: storable(detail.output.clone()),
            error: detail.error.clone(),
            cause: detail.cause.clone(),
            expires_at: status
                .is_terminal()
                .then(|| retention.expires_at(stop_time.unwrap_or(event_time))),
        })
    }
}

/// Applies status-change events to the executions table.
#[derive(Debug, Clone)]
pub struct Tracker<R, T> {
    resolver: R,
    table: T,
    retention: Retention,
}

impl<R: StateMachineResolver, T: ExecutionTable> Tracker<R, T> {
    /// A tracker writing to `table`; `resolver` names the workflow of each state machine.
    pub fn new(resolver: R, table: T, retention: Retention) -> Self {
        Self {
            resolver,
            table,
            retention,
        }
    }

    /// Applies one event; [`Applied::Ignored`] when the row already holds a later state.
    pub async fn handle(&self, event: &StatusChangeEvent) -> Result<Applied, Error> {
        let change = event.to_change(&self.resolver, self.retention)?;
        let applied = self.table.apply(&change).await?;
        tracing::info!(
            workflow_id = %change.workflow_id,
            status = %change.status,
            ?applied,
            "status change"
        );
        Ok(applied)
    }
}

/// The `detail-type` of EventBridge schedule events, which run the reconciler.
pub const SCHEDULED_EVENT: &str = "Scheduled Event";

/// What the tracker function did with an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// A status-change event was applied (or ignored as stale).
    Applied(Applied),
    /// A schedule event ran the reconciler.
    Reconciled(Report),
    /// The event was not understood; retrying cannot help, so it is dropped (and logged).
    Dropped(String),
}

/// The tracker function's handler: status-change events go to the [`Tracker`], schedule events
/// to the [`Reconciler`].
#[derive(Debug, Clone)]
pub struct TrackerHandler<R, S, T> {
    tracker: Tracker<R, T>,
    reconciler: Reconciler<R, S, T>,
    stale_after: Millis,
    batch: usize,
}

impl<R, S, T> TrackerHandler<R, S, T>
where
    R: StateMachineResolver + Clone,
    S: StepFunctions,
    T: ExecutionTable + Clone,
{
    /// A handler whose scheduled runs check up to `batch` rows RUNNING for longer than
    /// `stale_after` milliseconds.
    pub fn new(
        resolver: R,
        step_functions: S,
        table: T,
        retention: Retention,
        stale_after: Millis,
        batch: usize,
    ) -> Self {
        Self {
            tracker: Tracker::new(resolver.clone(), table.clone(), retention),
            reconciler: Reconciler::new(resolver, step_functions, table, retention),
            stale_after,
            batch,
        }
    }

    /// Handles one EventBridge event observed at `now`. Fails only when the table or Step
    /// Functions does, so that the event is retried.
    pub async fn handle(&self, event: Value, now: Millis) -> Result<Outcome, PortError> {
        let outcome = match event.get("detail-type").and_then(Value::as_str) {
            Some(DETAIL_TYPE) => match serde_json::from_value::<StatusChangeEvent>(event) {
                Ok(change) => match self.tracker.handle(&change).await {
                    Ok(applied) => Outcome::Applied(applied),
                    Err(Error::Malformed(reason)) => Outcome::Dropped(reason),
                    Err(Error::Port(error)) => return Err(error),
                },
                Err(error) => Outcome::Dropped(format!("malformed status-change event: {error}")),
            },
            Some(SCHEDULED_EVENT) => {
                let report = self
                    .reconciler
                    .run(now, self.stale_after, self.batch)
                    .await?;
                tracing::info!(?report, "reconciled");
                Outcome::Reconciled(report)
            }
            other => Outcome::Dropped(format!("unexpected detail-type {other:?}")),
        };
        if let Outcome::Dropped(reason) = &outcome {
            tracing::error!(%reason, "event dropped");
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{Directory, MachineKind};
    use crate::fakes::MemoryTable;
    use serde_json::json;

    const MACHINE: &str = "arn:aws:states:eu-west-1:1:stateMachine:ocflow-orders";

    fn event(status: &str, time: &str, stop: Option<i64>) -> StatusChangeEvent {
        serde_json::from_value(json!({
            "version": "0", "id": "e", "detail-type": DETAIL_TYPE, "source": "aws.states",
            "account": "1", "time": time, "region": "eu-west-1",
            "resources": ["arn:aws:states:eu-west-1:1:execution:ocflow-orders:wf-1"],
            "detail": {
                "executionArn": "arn:aws:states:eu-west-1:1:execution:ocflow-orders:wf-1",
                "stateMachineArn": MACHINE, "name": "wf-1", "status": status,
                "startDate": 1_700_000_000_000_i64, "stopDate": stop,
                "input": "{\"a\":1}", "inputDetails": {"included": true},
                "output": if status == "SUCCEEDED" { json!("{\"done\":true}") } else { json!(null) },
                "outputDetails": {"included": true}, "redriveCount": 0
            }
        }))
        .unwrap()
    }

    fn tracker() -> Tracker<Directory, MemoryTable> {
        let directory =
            Directory::new().with_machine("orders", MACHINE, MachineKind::Standard, None);
        Tracker::new(directory, MemoryTable::default(), Retention { days: 7 })
    }

    #[tokio::test]
    async fn a_late_running_event_does_not_reopen_a_finished_execution() {
        let tracker = tracker();
        let done = event("SUCCEEDED", "2023-11-14T22:13:25Z", Some(1_700_000_005_000));
        let late = event("RUNNING", "2023-11-14T22:13:20Z", None);
        assert_eq!(tracker.handle(&done).await.unwrap(), Applied::Written);
        assert_eq!(tracker.handle(&late).await.unwrap(), Applied::Ignored);
        assert_eq!(tracker.handle(&done).await.unwrap(), Applied::Ignored);
        let row = tracker.table.row("wf-1").unwrap();
        assert_eq!(row.status, ExecutionStatus::Succeeded);
        assert_eq!(row.output.as_deref(), Some("{\"done\":true}"));
        assert_eq!(row.workflow_name.as_deref(), Some("orders"));
        assert_eq!(row.expires_at, Some(1_700_000_005 + 7 * 86_400));
    }

    #[tokio::test]
    async fn running_then_failed_moves_forward() {
        let tracker = tracker();
        let running = event("RUNNING", "2023-11-14T22:13:20Z", None);
        assert_eq!(tracker.handle(&running).await.unwrap(), Applied::Written);
        assert_eq!(tracker.handle(&running).await.unwrap(), Applied::Written);
        let mut failed = event("FAILED", "2023-11-14T22:13:30Z", Some(1_700_000_010_000));
        failed.detail.error = Some("Worker.Failed".into());
        failed.detail.cause = Some("boom".into());
        assert_eq!(tracker.handle(&failed).await.unwrap(), Applied::Written);
        let row = tracker.table.row("wf-1").unwrap();
        assert_eq!(row.status, ExecutionStatus::Failed);
        assert_eq!(row.error.as_deref(), Some("Worker.Failed"));
        assert_eq!(row.stop_time, Some(1_700_000_010_000));
    }

    #[tokio::test]
    async fn other_events_are_malformed() {
        let tracker = tracker();
        let mut other = event("RUNNING", "2023-11-14T22:13:20Z", None);
        other.detail_type = "Scheduled Event".into();
        assert!(matches!(
            tracker.handle(&other).await,
            Err(Error::Malformed(_))
        ));
        let odd = event("SLEEPING", "2023-11-14T22:13:20Z", None);
        assert!(matches!(
            tracker.handle(&odd).await,
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn payloads_too_big_for_a_row_are_left_out() {
        let mut big = event("SUCCEEDED", "2023-11-14T22:13:25Z", Some(1));
        big.detail.output = Some("x".repeat(MAX_STORED_PAYLOAD_BYTES + 1));
        let change = big
            .to_change(&Directory::new(), Retention::DEFAULT)
            .unwrap();
        assert_eq!(change.output, None);
        assert_eq!(change.input.as_deref(), Some("{\"a\":1}"));
        assert_eq!(change.workflow_name, None);
    }

    #[tokio::test]
    async fn the_running_event_is_not_older_than_the_recorded_start() {
        let tracker = tracker();
        // The starter recorded the start with millisecond precision; the event has seconds.
        let record = crate::execution::StartRecord {
            workflow_id: "wf-1".into(),
            execution_arn: "arn".into(),
            state_machine_arn: MACHINE.into(),
            workflow_name: "orders".into(),
            workflow_version: None,
            correlation_id: None,
            priority: None,
            start_time: 1_700_000_000_000,
            idempotency_key: None,
            expires_at: None,
            reconcilable: true,
        };
        crate::ports::ExecutionTable::record_start(&tracker.table, &record)
            .await
            .unwrap();
        let running = event("RUNNING", "2023-11-14T22:13:19Z", None);
        assert_eq!(tracker.handle(&running).await.unwrap(), Applied::Written);
    }

    #[tokio::test]
    async fn the_handler_routes_events_by_detail_type() {
        use crate::fakes::FakeStepFunctions;
        let directory =
            Directory::new().with_machine("orders", MACHINE, MachineKind::Standard, None);
        let table = std::sync::Arc::new(MemoryTable::default());
        let handler = TrackerHandler::new(
            directory,
            FakeStepFunctions::default(),
            table.clone(),
            Retention::DEFAULT,
            60_000,
            10,
        );
        let change = serde_json::to_value(json!({
            "detail-type": DETAIL_TYPE, "time": "2023-11-14T22:13:25Z",
            "detail": {"executionArn": "arn:e", "stateMachineArn": MACHINE, "name": "wf-9",
                       "status": "SUCCEEDED", "startDate": 1_700_000_000_000_i64,
                       "stopDate": 1_700_000_005_000_i64, "output": "{}"}
        }))
        .unwrap();
        assert_eq!(
            handler.handle(change, 0).await.unwrap(),
            Outcome::Applied(Applied::Written)
        );
        assert_eq!(
            table.row("wf-9").unwrap().status,
            ExecutionStatus::Succeeded
        );
        let schedule = json!({"detail-type": SCHEDULED_EVENT, "detail": {}});
        assert_eq!(
            handler.handle(schedule, 1_800_000_000_000).await.unwrap(),
            Outcome::Reconciled(Report::default())
        );
        let broken = json!({"detail-type": DETAIL_TYPE, "detail": {"name": 1}});
        assert!(matches!(
            handler.handle(broken, 0).await.unwrap(),
            Outcome::Dropped(reason) if reason.starts_with("malformed")
        ));
        let other = json!({"detail-type": "Object Created"});
        assert!(matches!(
            handler.handle(other, 0).await.unwrap(),
            Outcome::Dropped(_)
        ));
    }

    #[test]
    fn event_times_are_rfc3339() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(
            parse_time("2023-11-14T22:13:20.5Z"),
            Some(1_700_000_000_500)
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
