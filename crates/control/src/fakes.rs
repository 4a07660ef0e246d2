//! In-memory ports for the unit tests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::execution::{ExecutionStatus, Millis, Progress, RunningRow, StartRecord, StatusChange};
use crate::ports::{
    Applied, ExecutionDescription, ExecutionTable, PortError, StartExecution, StartOutcome,
    StepFunctions,
};

/// A table row, holding what the DynamoDB table would.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub execution_arn: String,
    pub workflow_name: Option<String>,
    pub workflow_version: Option<u32>,
    pub correlation_id: Option<String>,
    pub status: ExecutionStatus,
    pub progress: Progress,
    pub start_time: Millis,
    pub stop_time: Option<Millis>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub expires_at: Option<i64>,
    pub reconcilable: bool,
}

#[derive(Debug, Default)]
pub struct MemoryTable {
    rows: Mutex<HashMap<String, Row>>,
}

impl MemoryTable {
    pub fn row(&self, workflow_id: &str) -> Option<Row> {
        self.rows.lock().unwrap().get(workflow_id).cloned()
    }
}

impl ExecutionTable for MemoryTable {
    async fn record_start(&self, record: &StartRecord) -> Result<(), PortError> {
        let mut rows = self.rows.lock().unwrap();
        let row = rows
            .entry(record.workflow_id.clone())
            .or_insert_with(|| Row {
                execution_arn: record.execution_arn.clone(),
                workflow_name: None,
                workflow_version: None,
                correlation_id: None,
                status: ExecutionStatus::Running,
                progress: Progress {
                    redrive_count: 0,
                    terminal: false,
                    event_time: record.start_time,
                },
                start_time: record.start_time,
                stop_time: None,
                output: None,
                error: None,
                expires_at: record.expires_at,
                reconcilable: record.reconcilable,
            });
        row.workflow_name
            .get_or_insert(record.workflow_name.clone());
        if row.workflow_version.is_none() {
            row.workflow_version = record.workflow_version;
        }
        if row.correlation_id.is_none() {
            row.correlation_id.clone_from(&record.correlation_id);
        }
        Ok(())
    }

    async fn recorded_start(&self, workflow_id: &str) -> Result<Option<String>, PortError> {
        Ok(self.row(workflow_id).map(|row| row.execution_arn))
    }

    async fn apply(&self, change: &StatusChange) -> Result<Applied, PortError> {
        let mut rows = self.rows.lock().unwrap();
        if let Some(row) = rows.get(&change.workflow_id)
            && !change.progress.supersedes(&row.progress)
        {
            return Ok(Applied::Ignored);
        }
        let previous = rows.remove(&change.workflow_id);
        let keep = |f: fn(&Row) -> Option<String>| previous.as_ref().and_then(f);
        rows.insert(
            change.workflow_id.clone(),
            Row {
                execution_arn: change.execution_arn.clone(),
                workflow_name: keep(|r| r.workflow_name.clone()).or(change.workflow_name.clone()),
                workflow_version: previous.as_ref().and_then(|r| r.workflow_version),
                correlation_id: keep(|r| r.correlation_id.clone()),
                status: change.status,
                progress: change.progress,
                start_time: change.start_time,
                stop_time: change.stop_time,
                output: change.output.clone(),
                error: change.error.clone(),
                expires_at: change.expires_at,
                // Status changes come from Standard executions only.
                reconcilable: true,
            },
        );
        Ok(Applied::Written)
    }

    async fn running_before(
        &self,
        started_before: Millis,
        limit: usize,
    ) -> Result<Vec<RunningRow>, PortError> {
        let rows = self.rows.lock().unwrap();
        let mut stale: Vec<RunningRow> = rows
            .iter()
            .filter(|(_, r)| {
                r.reconcilable
                    && r.status == ExecutionStatus::Running
                    && r.start_time < started_before
            })
            .map(|(id, r)| RunningRow {
                workflow_id: id.clone(),
                execution_arn: r.execution_arn.clone(),
                start_time: r.start_time,
            })
            .collect();
        stale.sort_by_key(|r| (r.start_time, r.workflow_id.clone()));
        stale.truncate(limit);
        Ok(stale)
    }
}

#[derive(Debug, Default)]
pub struct FakeStepFunctions {
    started: Mutex<Vec<StartExecution>>,
    descriptions: Mutex<HashMap<String, ExecutionDescription>>,
    fail_next_start: AtomicBool,
    express: Vec<String>,
}

impl FakeStepFunctions {
    pub const START_TIME: Millis = 1_700_000_000_000;

    /// Marks a machine as Express: it starts any number of executions of one name.
    pub fn with_express(mut self, state_machine_arn: &str) -> Self {
        self.express.push(state_machine_arn.to_owned());
        self
    }

    pub fn executions(&self) -> Vec<StartExecution> {
        self.started.lock().unwrap().clone()
    }

    pub fn fail_next_start(&self) {
        self.fail_next_start.store(true, Ordering::SeqCst);
    }

    pub fn describe_as(&self, description: ExecutionDescription) {
        self.descriptions
            .lock()
            .unwrap()
            .insert(description.execution_arn.clone(), description);
    }
}

impl StepFunctions for FakeStepFunctions {
    async fn start_execution(&self, request: StartExecution) -> Result<StartOutcome, PortError> {
        if self.fail_next_start.swap(false, Ordering::SeqCst) {
            return Err(PortError::new("StartExecution", "throttled"));
        }
        let mut started = self.started.lock().unwrap();
        // Like Step Functions: names are unique per Standard machine, not per Express one.
        let express = self.express.contains(&request.state_machine_arn);
        if !express && started.iter().any(|s| s.name == request.name) {
            return Ok(StartOutcome::AlreadyExists);
        }
        let execution_arn = format!(
            "{}:{}",
            request
                .state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1),
            request.name
        );
        started.push(request);
        Ok(StartOutcome::Started {
            execution_arn,
            start_time: Self::START_TIME,
        })
    }

    async fn describe_execution(
        &self,
        execution_arn: &str,
    ) -> Result<ExecutionDescription, PortError> {
        self.descriptions
            .lock()
            .unwrap()
            .get(execution_arn)
            .cloned()
            .ok_or_else(|| PortError::new("DescribeExecution", "ExecutionDoesNotExist"))
    }
}
