//! The executions table: its schema (names from `ocflow_control::deployment::table`, which the
//! CloudFormation template is written from too), and [`DynamoExecutionTable`], the `ExecutionTable` port over DynamoDB.
//!
//! | attribute | type | meaning |
//! |---|---|---|
//! | `workflowId` | S | **partition key**: the execution name (Conductor workflow id) |
//! | `executionArn`, `stateMachineArn` | S | the execution and its machine |
//! | `workflowName` | S | Conductor workflow name |
//! | `workflowVersion`, `priority` | N | from the start request |
//! | `correlationId`, `idempotencyKey` | S | from the start request |
//! | `status` | S | `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `PENDING_REDRIVE` |
//! | `trackedStatus` | S | `status` again, on rows of Standard executions only (Step Functions reports on them) |
//! | `statusStartTime` | S | `<status>#<startTime, 15 digits>`: sort key for search by name |
//! | `startTime`, `stopTime` | N | epoch milliseconds |
//! | `progressRank`, `eventTime` | N | forward-only order of updates (see `ocflow_control::Progress`) |
//! | `input`, `output`, `error`, `cause` | S | payloads (up to 128 KiB each) and failure |
//! | `expiresAt` | N | TTL, epoch seconds; set once an execution has finished |
//!
//! Global secondary indexes (all project every attribute):
//!
//! | index | partition key | sort key | serves |
//! |---|---|---|---|
//! | `byWorkflow` | `workflowName` | `statusStartTime` | search by name, by name + status, by name + status + start time range |
//! | `byStatus` | `status` | `startTime` (N) | search by status |
//! | `byTrackedStatus` | `trackedStatus` | `startTime` (N) | the reconciler: RUNNING Standard executions older than N minutes (Express ones cannot be described) |
//! | `byCorrelationId` | `correlationId` | `startTime` (N) | search by correlation id |

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use ocflow_control::deployment::table as schema;
use ocflow_control::execution::{Millis, RunningRow, StartRecord};
use ocflow_control::ports::{Applied, ExecutionTable, PortError};
use ocflow_control::{ExecutionStatus, StatusChange};

use crate::error::{Error, port_error};

pub use ocflow_control::deployment::table::{attr, index};

/// The `statusStartTime` value: status and zero-padded start time, so that a `begins_with` or
/// `BETWEEN` on the sort key selects a status and a time range.
pub fn status_start_time(status: ExecutionStatus, start_time: Millis) -> String {
    format!("{}#{:015}", status.as_str(), start_time.max(0))
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, Error> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| Error::service("CreateTable", e))
}

fn gsi(name: &str, partition: &str, sort: &str) -> Result<GlobalSecondaryIndex, Error> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(partition, KeyType::Hash)?)
        .key_schema(key(sort, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| Error::service("CreateTable", e))
}

/// Creates the executions table (on-demand billing) and turns on its TTL. For tests and local
/// set-ups; deployments create it from the CloudFormation template.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), Error> {
    let definition = |attribute: &str, kind: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(kind)
            .build()
            .map_err(|e| Error::service("CreateTable", e))
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(schema::PARTITION_KEY.attribute, KeyType::Hash)?);
    for attribute in schema::key_attributes() {
        let kind = match attribute.key_type {
            schema::KeyType::String => ScalarAttributeType::S,
            schema::KeyType::Number => ScalarAttributeType::N,
        };
        request = request.attribute_definitions(definition(attribute.attribute, kind)?);
    }
    for index in schema::INDEXES {
        request = request.global_secondary_indexes(gsi(
            index.name,
            index.partition.attribute,
            index.sort.attribute,
        )?);
    }
    request
        .send()
        .await
        .map_err(|e| Error::service("CreateTable", e))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(schema::TTL_ATTRIBUTE)
                .build()
                .map_err(|e| Error::service("UpdateTimeToLive", e))?,
        )
        .send()
        .await
        .map_err(|e| Error::service("UpdateTimeToLive", e))?;
    Ok(())
}

/// An `UpdateItem` expression being built: every attribute is referred to as `#name` and its
/// value as `:name`, so reserved words (`status`, `error`, ...) need no care.
#[derive(Debug, Default)]
struct Update {
    sets: Vec<String>,
    removes: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn name(&mut self, attribute: &str) -> String {
        let alias = format!("#{attribute}");
        self.names.insert(alias.clone(), attribute.to_owned());
        alias
    }

    fn value(&mut self, attribute: &str, value: AttributeValue) -> String {
        let alias = format!(":{attribute}");
        self.values.insert(alias.clone(), value);
        alias
    }

    fn set(&mut self, attribute: &str, value: AttributeValue) {
        let (name, value) = (self.name(attribute), self.value(attribute, value));
        self.sets.push(format!("{name} = {value}"));
    }

    fn set_if_absent(&mut self, attribute: &str, value: AttributeValue) {
        let (name, value) = (self.name(attribute), self.value(attribute, value));
        self.sets
            .push(format!("{name} = if_not_exists({name}, {value})"));
    }

    fn set_or_remove(&mut self, attribute: &str, value: Option<AttributeValue>) {
        match value {
            Some(value) => self.set(attribute, value),
            None => {
                let name = self.name(attribute);
                self.removes.push(name);
            }
        }
    }

    fn expression(&self) -> String {
        let mut expression = format!("SET {}", self.sets.join(", "));
        if !self.removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", self.removes.join(", ")));
        }
        expression
    }
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// The `ExecutionTable` port over a DynamoDB table with the schema above.
#[derive(Debug, Clone)]
pub struct DynamoExecutionTable {
    client: aws_sdk_dynamodb::Client,
    table_name: String,
}

impl DynamoExecutionTable {
    /// The table `table_name`.
    pub fn new(client: aws_sdk_dynamodb::Client, table_name: impl Into<String>) -> Self {
        Self {
            client,
            table_name: table_name.into(),
        }
    }

    /// The SDK client.
    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// The table name.
    pub fn table_name(&self) -> &str {
        &self.table_name
    }

    /// The raw row of an execution, if any (consistent read).
    pub async fn get(
        &self,
        workflow_id: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .key(attr::WORKFLOW_ID, s(workflow_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("GetItem", e))?;
        Ok(output.item)
    }
}

impl ExecutionTable for DynamoExecutionTable {
    async fn record_start(&self, record: &StartRecord) -> Result<(), PortError> {
        let mut update = Update::default();
        update.set_if_absent(attr::EXECUTION_ARN, s(&record.execution_arn));
        update.set_if_absent(attr::STATE_MACHINE_ARN, s(&record.state_machine_arn));
        update.set_if_absent(attr::WORKFLOW_NAME, s(&record.workflow_name));
        update.set_if_absent(attr::STATUS, s(ExecutionStatus::Running.as_str()));
        if record.reconcilable {
            // The status already recorded (a status event may have come first), else RUNNING.
            let (tracked, status) = (update.name(attr::TRACKED_STATUS), update.name(attr::STATUS));
            update.sets.push(format!(
                "{tracked} = if_not_exists({status}, :{})",
                attr::STATUS
            ));
        }
        update.set_if_absent(
            attr::STATUS_START_TIME,
            s(&status_start_time(
                ExecutionStatus::Running,
                record.start_time,
            )),
        );
        update.set_if_absent(attr::START_TIME, n(record.start_time));
        update.set_if_absent(attr::PROGRESS_RANK, n(0));
        update.set_if_absent(attr::EVENT_TIME, n(record.start_time));
        if let Some(version) = record.workflow_version {
            update.set_if_absent(attr::WORKFLOW_VERSION, n(version));
        }
        if let Some(id) = &record.correlation_id {
            update.set_if_absent(attr::CORRELATION_ID, s(id));
        }
        if let Some(key) = &record.idempotency_key {
            update.set_if_absent(attr::IDEMPOTENCY_KEY, s(key));
        }
        if let Some(priority) = record.priority {
            update.set_if_absent(attr::PRIORITY, n(priority));
        }
        if let Some(expires_at) = record.expires_at {
            update.set_if_absent(attr::EXPIRES_AT, n(expires_at));
        }
        self.client
            .update_item()
            .table_name(&self.table_name)
            .key(attr::WORKFLOW_ID, s(&record.workflow_id))
            .update_expression(update.expression())
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .send()
            .await
            .map_err(|e| port_error("UpdateItem", e))?;
        Ok(())
    }

    async fn recorded_start(&self, workflow_id: &str) -> Result<Option<String>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .key(attr::WORKFLOW_ID, s(workflow_id))
            .projection_expression("#arn")
            .expression_attribute_names("#arn", attr::EXECUTION_ARN)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("GetItem", e))?;
        Ok(output
            .item
            .and_then(|item| item.get(attr::EXECUTION_ARN)?.as_s().ok().cloned()))
    }

    async fn apply(&self, change: &StatusChange) -> Result<Applied, PortError> {
        let mut update = Update::default();
        update.set(attr::EXECUTION_ARN, s(&change.execution_arn));
        update.set(attr::STATE_MACHINE_ARN, s(&change.state_machine_arn));
        if let Some(name) = &change.workflow_name {
            update.set_if_absent(attr::WORKFLOW_NAME, s(name));
        }
        update.set(attr::STATUS, s(change.status.as_str()));
        // Status changes come from Standard executions only: they are all tracked.
        let tracked = update.name(attr::TRACKED_STATUS);
        update.sets.push(format!("{tracked} = :{}", attr::STATUS));
        update.set(
            attr::STATUS_START_TIME,
            s(&status_start_time(change.status, change.start_time)),
        );
        update.set(attr::START_TIME, n(change.start_time));
        update.set(attr::PROGRESS_RANK, n(change.progress.rank()));
        update.set(attr::EVENT_TIME, n(change.progress.event_time));
        update.set_or_remove(attr::STOP_TIME, change.stop_time.map(n));
        if let Some(input) = &change.input {
            update.set(attr::INPUT, s(input));
        }
        update.set_or_remove(attr::OUTPUT, change.output.as_deref().map(s));
        update.set_or_remove(attr::ERROR, change.error.as_deref().map(s));
        update.set_or_remove(attr::CAUSE, change.cause.as_deref().map(s));
        update.set_or_remove(attr::EXPIRES_AT, change.expires_at.map(n));
        // Forward only: a new row, a later stage or redrive, or (for RUNNING) a later event.
        let (key, rank, time) = (
            update.name(attr::WORKFLOW_ID),
            update.name(attr::PROGRESS_RANK),
            update.name(attr::EVENT_TIME),
        );
        let mut condition = format!(
            "attribute_not_exists({key}) OR attribute_not_exists({rank}) OR {rank} < :{}",
            attr::PROGRESS_RANK
        );
        if !change.progress.terminal {
            condition.push_str(&format!(
                " OR ({rank} = :{} AND {time} <= :{})",
                attr::PROGRESS_RANK,
                attr::EVENT_TIME
            ));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table_name)
            .key(attr::WORKFLOW_ID, s(&change.workflow_id))
            .update_expression(update.expression())
            .condition_expression(condition)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Applied::Written),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Applied::Ignored)
            }
            Err(error) => Err(port_error("UpdateItem", error)),
        }
    }

    async fn running_before(
        &self,
        started_before: Millis,
        limit: usize,
    ) -> Result<Vec<RunningRow>, PortError> {
        let mut rows = Vec::new();
        let mut start_key = None;
        while rows.len() < limit {
            let page = i32::try_from(limit - rows.len()).unwrap_or(i32::MAX);
            let output = self
                .client
                .query()
                .table_name(&self.table_name)
                .index_name(index::BY_TRACKED_STATUS)
                .key_condition_expression("#status = :status AND #startTime < :before")
                .expression_attribute_names("#status", attr::TRACKED_STATUS)
                .expression_attribute_names("#startTime", attr::START_TIME)
                .expression_attribute_values(":status", s(ExecutionStatus::Running.as_str()))
                .expression_attribute_values(":before", n(started_before))
                .scan_index_forward(true)
                .limit(page)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| port_error("Query", e))?;
            rows.extend(output.items().iter().filter_map(running_row));
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => break,
            }
        }
        rows.truncate(limit);
        Ok(rows)
    }
}

fn running_row(item: &HashMap<String, AttributeValue>) -> Option<RunningRow> {
    let text = |name: &str| item.get(name)?.as_s().ok().cloned();
    Some(RunningRow {
        workflow_id: text(attr::WORKFLOW_ID)?,
        execution_arn: text(attr::EXECUTION_ARN)?,
        start_time: item.get(attr::START_TIME)?.as_n().ok()?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_start_time_sorts_by_time_within_a_status() {
        let early = status_start_time(ExecutionStatus::Running, 9_000);
        let late = status_start_time(ExecutionStatus::Running, 1_700_000_000_000);
        assert_eq!(early, "RUNNING#000000000009000");
        assert!(early < late);
    }

    #[test]
    fn updates_alias_every_attribute() {
        let mut update = Update::default();
        update.set(attr::STATUS, s("RUNNING"));
        update.set_if_absent(attr::WORKFLOW_NAME, s("orders"));
        update.set_or_remove(attr::ERROR, None);
        assert_eq!(
            update.expression(),
            "SET #status = :status, #workflowName = if_not_exists(#workflowName, :workflowName) REMOVE #error"
        );
        assert_eq!(update.names["#error"], "error");
        assert!(!update.values.contains_key(":error"));
    }
}
