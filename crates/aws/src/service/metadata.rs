//! Definitions and in-progress worker tasks, kept in the executions table beside the
//! executions, under keys no execution can have (execution names never hold `#`):
//!
//! | `workflowId` | `workflowName` (index `byWorkflow`) | `statusStartTime` | other attributes |
//! |---|---|---|---|
//! | `workflowDef#<name>#<version>` | `ocflow#workflowDefs` | `<name>#<version, 15 digits>` | `definition` (JSON), `taskMap` (JSON), `stateMachineArn` |
//! | `taskDef#<name>` | `ocflow#taskDefs` | `<name>` | `definition` (JSON) |
//! | `task#<taskId>` | | | `message` (the worker message, with its task token), `receiptHandle`, `queueUrl`, `expiresAt` |
//! | `taskLog#<taskId>` | | | `logs` (list of `{log, createdTime}`, the latest [`MAX_LOG_LINES`]), `expiresAt` |
//!
//! Listing definitions is one query of the `byWorkflow` index on the reserved partition;
//! these rows carry no `status`, `trackedStatus` or `correlationId`, so the other indexes (and
//! the reconciler) never see them. A polled task's row lets a later, stateless request answer
//! the task token; it expires a day after the poll.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use ocflow_api::model::TaskExecLog;
use ocflow_api::{ApiError, ApiResult};
use ocflow_dsl::model::{TaskDef, WorkflowDef};
use ocflow_protocol::payload::WorkerMessage;
use ocflow_protocol::task_map::TaskMap;

use crate::table::attr;

/// Partition of the `byWorkflow` index listing workflow definitions.
pub const WORKFLOW_DEFS: &str = "ocflow#workflowDefs";
/// Partition of the `byWorkflow` index listing task definitions.
pub const TASK_DEFS: &str = "ocflow#taskDefs";
/// Attribute: a definition, as JSON text.
pub const DEFINITION: &str = "definition";
/// Attribute: a workflow's task map, as JSON text.
pub const TASK_MAP: &str = "taskMap";
/// Attribute: a polled task's worker message, as JSON text.
pub const MESSAGE: &str = "message";
/// Attribute: a polled task's SQS receipt handle.
pub const RECEIPT_HANDLE: &str = "receiptHandle";
/// Attribute: a polled task's queue.
pub const QUEUE_URL: &str = "queueUrl";
/// Attribute: a task's log lines.
pub const LOGS: &str = "logs";
/// Seconds a polled task's row is kept.
const TASK_ROW_SECONDS: i64 = 86_400;
/// How many log lines a task keeps (a row holds at most 400 KB).
pub const MAX_LOG_LINES: usize = 100;
/// The longest log line kept here; longer ones are cut (at a character boundary).
pub const MAX_LOG_LINE_BYTES: usize = 2 * 1024;

/// The key of a workflow definition's row.
pub fn workflow_def_key(name: &str, version: i64) -> String {
    format!("workflowDef#{name}#{version}")
}

/// The key of a task definition's row.
pub fn task_def_key(name: &str) -> String {
    format!("taskDef#{name}")
}

/// The key of a polled task's row.
pub fn task_key(task_id: &str) -> String {
    format!("task#{task_id}")
}

/// The key of a task's log row.
pub fn task_log_key(task_id: &str) -> String {
    format!("taskLog#{task_id}")
}

/// Whether `workflow_id` could name an execution (and not one of the rows above).
pub fn is_execution_id(workflow_id: &str) -> bool {
    !workflow_id.is_empty() && !workflow_id.contains('#')
}

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn internal(operation: &str, error: impl std::error::Error) -> ApiError {
    ApiError::internal(format!(
        "{operation} failed: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(error)
    ))
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

fn parse<T: serde::de::DeserializeOwned>(
    item: &HashMap<String, AttributeValue>,
    name: &str,
) -> ApiResult<T> {
    let raw = text(item, name)
        .ok_or_else(|| ApiError::internal(format!("a stored row has no `{name}` attribute")))?;
    serde_json::from_str(raw)
        .map_err(|e| ApiError::internal(format!("a stored `{name}` is unreadable: {e}")))
}

fn to_json(value: &impl serde::Serialize) -> ApiResult<String> {
    serde_json::to_string(value).map_err(|e| ApiError::internal(e.to_string()))
}

/// A polled task, as kept until its answer.
#[derive(Debug, Clone)]
pub struct PendingTask {
    /// The message the compiled state sent.
    pub message: WorkerMessage,
    /// The SQS receipt handle of the delivery.
    pub receipt_handle: String,
    /// The queue it came from.
    pub queue_url: String,
}

/// The definition rows of one executions table.
#[derive(Debug, Clone)]
pub struct Metadata {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl Metadata {
    /// The rows of the table `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get(&self, key: String) -> ApiResult<Option<HashMap<String, AttributeValue>>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::WORKFLOW_ID, s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| internal("GetItem", e))?;
        Ok(output.item)
    }

    async fn put(&self, item: HashMap<String, AttributeValue>) -> ApiResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| internal("PutItem", e))?;
        Ok(())
    }

    /// Every row of a reserved `byWorkflow` partition whose sort key starts with `prefix`,
    /// highest sort key first.
    async fn list(
        &self,
        partition: &str,
        prefix: &str,
    ) -> ApiResult<Vec<HashMap<String, AttributeValue>>> {
        let mut items = Vec::new();
        let mut start_key = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(crate::table::index::BY_WORKFLOW)
                .expression_attribute_names("#p", attr::WORKFLOW_NAME)
                .expression_attribute_values(":p", s(partition));
            // DynamoDB refuses an empty key value, so no `begins_with` for "everything".
            query = if prefix.is_empty() {
                query.key_condition_expression("#p = :p")
            } else {
                query
                    .key_condition_expression("#p = :p AND begins_with(#s, :s)")
                    .expression_attribute_names("#s", attr::STATUS_START_TIME)
                    .expression_attribute_values(":s", s(prefix))
            };
            let output = query
                .scan_index_forward(false)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| internal("Query", e))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Records a workflow definition, its task map and the machine that runs it.
    pub async fn put_workflow(
        &self,
        def: &WorkflowDef,
        task_map: &TaskMap,
        state_machine_arn: &str,
    ) -> ApiResult<()> {
        let version = def.version();
        self.put(HashMap::from([
            (
                attr::WORKFLOW_ID.to_owned(),
                s(workflow_def_key(&def.name, version)),
            ),
            (attr::WORKFLOW_NAME.to_owned(), s(WORKFLOW_DEFS)),
            (
                attr::STATUS_START_TIME.to_owned(),
                s(format!("{}#{:015}", def.name, version.max(0))),
            ),
            (DEFINITION.to_owned(), s(to_json(def)?)),
            (TASK_MAP.to_owned(), s(to_json(task_map)?)),
            (attr::STATE_MACHINE_ARN.to_owned(), s(state_machine_arn)),
        ]))
        .await
    }

    /// Whether `name` at `version` is registered.
    pub async fn has_workflow(&self, name: &str, version: i64) -> ApiResult<bool> {
        Ok(self.get(workflow_def_key(name, version)).await?.is_some())
    }

    /// The definition and task map of `name` at `version`, or of its latest version.
    pub async fn workflow(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> ApiResult<Option<(WorkflowDef, TaskMap)>> {
        let item = match version {
            Some(version) => self.get(workflow_def_key(name, version)).await?,
            None => {
                let mut found = None;
                for item in self.list(WORKFLOW_DEFS, &format!("{name}#")).await? {
                    // A name holding `#` may share the prefix: compare the definition's name.
                    let def: WorkflowDef = parse(&item, DEFINITION)?;
                    if def.name == name {
                        found = Some(item);
                        break;
                    }
                }
                found
            }
        };
        item.map(|item| Ok((parse(&item, DEFINITION)?, parse(&item, TASK_MAP)?)))
            .transpose()
    }

    /// Every registered workflow definition, by name, then version.
    pub async fn workflows(&self) -> ApiResult<Vec<WorkflowDef>> {
        let mut defs: Vec<WorkflowDef> = self
            .list(WORKFLOW_DEFS, "")
            .await?
            .iter()
            .map(|item| parse(item, DEFINITION))
            .collect::<ApiResult<_>>()?;
        defs.sort_by(|a, b| (&a.name, a.version()).cmp(&(&b.name, b.version())));
        Ok(defs)
    }

    /// Records (or replaces) a task definition.
    pub async fn put_task_def(&self, def: &TaskDef) -> ApiResult<()> {
        self.put(HashMap::from([
            (attr::WORKFLOW_ID.to_owned(), s(task_def_key(&def.name))),
            (attr::WORKFLOW_NAME.to_owned(), s(TASK_DEFS)),
            (attr::STATUS_START_TIME.to_owned(), s(def.name.clone())),
            (DEFINITION.to_owned(), s(to_json(def)?)),
        ]))
        .await
    }

    /// A task definition.
    pub async fn task_def(&self, name: &str) -> ApiResult<Option<TaskDef>> {
        self.get(task_def_key(name))
            .await?
            .map(|item| parse(&item, DEFINITION))
            .transpose()
    }

    /// Every task definition, by name.
    pub async fn task_defs(&self) -> ApiResult<Vec<TaskDef>> {
        let mut defs: Vec<TaskDef> = self
            .list(TASK_DEFS, "")
            .await?
            .iter()
            .map(|item| parse(item, DEFINITION))
            .collect::<ApiResult<_>>()?;
        defs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(defs)
    }

    /// Removes a task definition; whether there was one.
    pub async fn remove_task_def(&self, name: &str) -> ApiResult<bool> {
        self.delete(task_def_key(name)).await
    }

    /// Keeps a polled task until its answer (a later poll of the same message replaces it).
    pub async fn put_task(&self, task: &PendingTask, now_millis: i64) -> ApiResult<()> {
        self.put(HashMap::from([
            (
                attr::WORKFLOW_ID.to_owned(),
                s(task_key(&task.message.task_id)),
            ),
            (MESSAGE.to_owned(), s(to_json(&task.message)?)),
            (RECEIPT_HANDLE.to_owned(), s(task.receipt_handle.clone())),
            (QUEUE_URL.to_owned(), s(task.queue_url.clone())),
            (
                attr::EXPIRES_AT.to_owned(),
                AttributeValue::N((now_millis / 1000 + TASK_ROW_SECONDS).to_string()),
            ),
        ]))
        .await
    }

    /// A polled task not answered yet.
    pub async fn task(&self, task_id: &str) -> ApiResult<Option<PendingTask>> {
        let Some(item) = self.get(task_key(task_id)).await? else {
            return Ok(None);
        };
        let field = |name: &str| {
            text(&item, name)
                .map(str::to_owned)
                .ok_or_else(|| ApiError::internal(format!("task row without `{name}`")))
        };
        Ok(Some(PendingTask {
            message: parse(&item, MESSAGE)?,
            receipt_handle: field(RECEIPT_HANDLE)?,
            queue_url: field(QUEUE_URL)?,
        }))
    }

    /// Removes the workflow `name` at `version`; whether it was registered.
    pub async fn remove_workflow(&self, name: &str, version: i64) -> ApiResult<bool> {
        self.delete(workflow_def_key(name, version)).await
    }

    /// Deletes a row; whether there was one.
    async fn delete(&self, key: String) -> ApiResult<bool> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(attr::WORKFLOW_ID, s(key))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| internal("DeleteItem", e))?;
        Ok(output.attributes.is_some_and(|a| !a.is_empty()))
    }

    /// Reads a row that cannot exist, to see that the table answers.
    pub async fn ping(&self) -> ApiResult<()> {
        self.get("ocflow#health".to_owned()).await.map(drop)
    }

    /// The log lines kept for a task, oldest first.
    pub async fn task_logs(&self, task_id: &str) -> ApiResult<Vec<TaskExecLog>> {
        let item = self.get(task_log_key(task_id)).await?;
        Ok(log_lines(item.as_ref())
            .iter()
            .filter_map(|line| {
                let line = line.as_m().ok()?;
                Some(TaskExecLog {
                    log: line.get("log")?.as_s().ok()?.clone(),
                    task_id: task_id.to_owned(),
                    created_time: line.get("createdTime")?.as_n().ok()?.parse().ok()?,
                })
            })
            .collect())
    }

    /// Adds log lines to a task's row, keeping the latest [`MAX_LOG_LINES`], each cut to
    /// [`MAX_LOG_LINE_BYTES`]; the row expires at `expires_at` (epoch seconds). Concurrent
    /// writers do not lose lines: the write is conditional on the list read, and retried.
    pub async fn add_task_logs(
        &self,
        task_id: &str,
        logs: &[TaskExecLog],
        expires_at: i64,
    ) -> ApiResult<()> {
        let new: Vec<AttributeValue> = logs
            .iter()
            .map(|l| {
                let mut end = l.log.len().min(MAX_LOG_LINE_BYTES);
                while !l.log.is_char_boundary(end) {
                    end -= 1;
                }
                AttributeValue::M(HashMap::from([
                    ("log".to_owned(), s(&l.log[..end])),
                    (
                        "createdTime".to_owned(),
                        AttributeValue::N(l.created_time.to_string()),
                    ),
                ]))
            })
            .collect();
        for _ in 0..5 {
            let item = self.get(task_log_key(task_id)).await?;
            let old = log_lines(item.as_ref());
            let mut lines: Vec<AttributeValue> = old.iter().chain(&new).cloned().collect();
            let drop = lines.len().saturating_sub(MAX_LOG_LINES);
            lines.drain(..drop);
            let mut put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(attr::WORKFLOW_ID, s(task_log_key(task_id)))
                .item(LOGS, AttributeValue::L(lines))
                .item(attr::EXPIRES_AT, AttributeValue::N(expires_at.to_string()))
                .expression_attribute_names("#l", LOGS);
            put = if item.is_some() {
                put.condition_expression("size(#l) = :n")
                    .expression_attribute_values(":n", AttributeValue::N(old.len().to_string()))
            } else {
                put.condition_expression("attribute_not_exists(#l)")
            };
            match put.send().await {
                Ok(_) => return Ok(()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(internal("PutItem", e)),
            }
        }
        Err(ApiError::internal(format!(
            "the log of task '{task_id}' changed under every write; try again"
        )))
    }

    /// Forgets an answered task.
    pub async fn remove_task(&self, task_id: &str) -> ApiResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(attr::WORKFLOW_ID, s(task_key(task_id)))
            .send()
            .await
            .map_err(|e| internal("DeleteItem", e))?;
        Ok(())
    }
}

/// The `logs` list of a task's log row (empty without one).
fn log_lines(item: Option<&HashMap<String, AttributeValue>>) -> Vec<AttributeValue> {
    item.and_then(|i| i.get(LOGS))
        .and_then(|l| l.as_l().ok())
        .cloned()
        .unwrap_or_default()
}
