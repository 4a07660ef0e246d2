//! Settles rows the status events left in RUNNING.
//!
//! Status-change events are best-effort (and absent for Express machines), so a scheduled run
//! lists rows still RUNNING that started more than a given age ago, asks Step Functions about
//! each (DescribeExecution), and applies what it answers through the same forward-only write as
//! the tracker. An execution that is really still running is left alone.

use crate::directory::StateMachineResolver;
use crate::execution::{Millis, Progress, Retention, StatusChange};
use crate::ports::{Applied, ExecutionDescription, ExecutionTable, PortError, StepFunctions};
use crate::tracker::storable;

/// What one reconciliation run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Rows looked at.
    pub checked: usize,
    /// Rows moved to the status Step Functions reports.
    pub settled: usize,
    /// Rows whose execution is really still running.
    pub still_running: usize,
    /// Rows already settled by an event in the meantime.
    pub already_settled: usize,
    /// Rows that could not be checked (DescribeExecution or the write failed); retried next run.
    pub failed: usize,
}

/// The table update a DescribeExecution answer stands for, observed at `now`.
pub fn change_from_description(
    description: &ExecutionDescription,
    resolver: &impl StateMachineResolver,
    retention: Retention,
    now: Millis,
) -> StatusChange {
    let terminal = description.status.is_terminal();
    let stop_time = description.stop_time.filter(|_| terminal);
    let event_time = stop_time.unwrap_or(now);
    StatusChange {
        workflow_id: description.name.clone(),
        execution_arn: description.execution_arn.clone(),
        state_machine_arn: description.state_machine_arn.clone(),
        workflow_name: resolver.workflow_name(&description.state_machine_arn),
        status: description.status,
        start_time: description.start_time,
        stop_time,
        progress: Progress {
            redrive_count: description.redrive_count,
            terminal,
            event_time,
        },
        input: storable(description.input.clone()),
        output: storable(description.output.clone()),
        error: description.error.clone(),
        cause: description.cause.clone(),
        expires_at: terminal.then(|| retention.expires_at(event_time)),
    }
}

/// Settles stale RUNNING rows.
#[derive(Debug, Clone)]
pub struct Reconciler<R, S, T> {
    resolver: R,
    step_functions: S,
    table: T,
    retention: Retention,
}

impl<R, S, T> Reconciler<R, S, T>
where
    R: StateMachineResolver,
    S: StepFunctions,
    T: ExecutionTable,
{
    /// A reconciler over the table and Step Functions.
    pub fn new(resolver: R, step_functions: S, table: T, retention: Retention) -> Self {
        Self {
            resolver,
            step_functions,
            table,
            retention,
        }
    }

    /// Checks up to `limit` rows that started before `now - stale_after` and are still RUNNING.
    /// Fails only when the rows cannot be listed; a row that cannot be checked is counted in
    /// [`Report::failed`].
    pub async fn run(
        &self,
        now: Millis,
        stale_after: Millis,
        limit: usize,
    ) -> Result<Report, PortError> {
        let rows = self.table.running_before(now - stale_after, limit).await?;
        let mut report = Report::default();
        for row in rows {
            report.checked += 1;
            let description = match self
                .step_functions
                .describe_execution(&row.execution_arn)
                .await
            {
                Ok(description) => description,
                Err(error) => {
                    tracing::warn!(workflow_id = %row.workflow_id, %error, "cannot describe execution");
                    report.failed += 1;
                    continue;
                }
            };
            if !description.status.is_terminal() {
                report.still_running += 1;
                continue;
            }
            let change = change_from_description(&description, &self.resolver, self.retention, now);
            match self.table.apply(&change).await {
                Ok(Applied::Written) => {
                    tracing::info!(workflow_id = %row.workflow_id, status = %change.status, "settled");
                    report.settled += 1;
                }
                Ok(Applied::Ignored) => report.already_settled += 1,
                Err(error) => {
                    tracing::warn!(workflow_id = %row.workflow_id, %error, "cannot settle execution");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Directory;
    use crate::execution::{ExecutionStatus, StartRecord};
    use crate::fakes::{FakeStepFunctions, MemoryTable};

    const MACHINE: &str = "arn:aws:states:r:1:stateMachine:ocflow-orders";

    fn record(name: &str, start_time: Millis) -> StartRecord {
        StartRecord {
            workflow_id: name.into(),
            execution_arn: format!("arn:aws:states:r:1:execution:ocflow-orders:{name}"),
            state_machine_arn: MACHINE.into(),
            workflow_name: "orders".into(),
            workflow_version: None,
            correlation_id: None,
            priority: None,
            start_time,
            idempotency_key: None,
            expires_at: None,
            reconcilable: true,
        }
    }

    fn description(name: &str, status: ExecutionStatus) -> ExecutionDescription {
        ExecutionDescription {
            execution_arn: format!("arn:aws:states:r:1:execution:ocflow-orders:{name}"),
            state_machine_arn: MACHINE.into(),
            name: name.into(),
            status,
            start_time: 1_000,
            stop_time: status.is_terminal().then_some(5_000),
            input: Some("{}".into()),
            output: Some("{\"ok\":true}".into()),
            error: None,
            cause: None,
            redrive_count: 0,
        }
    }

    #[tokio::test]
    async fn stale_rows_are_settled_from_describe_execution() {
        let table = MemoryTable::default();
        let step_functions = FakeStepFunctions::default();
        for (name, start) in [
            ("done", 1_000),
            ("busy", 1_000),
            ("fresh", 590_000),
            ("lost", 1_000),
        ] {
            table.record_start(&record(name, start)).await.unwrap();
        }
        let express = StartRecord {
            reconcilable: false,
            ..record("express", 1_000)
        };
        table.record_start(&express).await.unwrap();
        step_functions.describe_as(description("done", ExecutionStatus::Succeeded));
        step_functions.describe_as(description("busy", ExecutionStatus::Running));
        step_functions.describe_as(description("fresh", ExecutionStatus::Succeeded));
        let reconciler =
            Reconciler::new(Directory::new(), step_functions, table, Retention::DEFAULT);
        let report = reconciler.run(600_000, 60_000, 100).await.unwrap();
        assert_eq!(
            report,
            Report {
                checked: 3,
                settled: 1,
                still_running: 1,
                already_settled: 0,
                failed: 1,
            }
        );
        let done = reconciler.table.row("done").unwrap();
        assert_eq!(done.status, ExecutionStatus::Succeeded);
        assert_eq!(done.output.as_deref(), Some("{\"ok\":true}"));
        assert_eq!(done.stop_time, Some(5_000));
        assert_eq!(done.correlation_id, None);
        assert_eq!(
            reconciler.table.row("busy").unwrap().status,
            ExecutionStatus::Running
        );
        assert_eq!(
            reconciler.table.row("fresh").unwrap().status,
            ExecutionStatus::Running
        );

        let again = reconciler.run(600_000, 60_000, 100).await.unwrap();
        assert_eq!(again.checked, 2, "the settled row is no longer listed");
    }
}
