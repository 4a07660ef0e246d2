//! [`AwsWorkflowService`]: the Conductor REST API (`ocflow_api::router`) over Step Functions,
//! the executions table and the worker queues (feature `api`; served by `functions/api`).
//!
//! # Identity
//!
//! A Conductor `workflowId` is the Step Functions execution name, as everywhere in ocflow; the
//! executions table's row under that key holds the execution ARN. A start with an
//! `idempotencyKey` is named by `ocflow_control::starter::execution_name` from the key, exactly
//! as the start queue names it, so the queue and the API start one execution for one key. A
//! start without a key gets a random name. Starting goes through the control crate's
//! [`Starter`], so API starts are recorded like queued ones (Express ones included).
//!
//! # Reading
//!
//! `GET /api/workflow/{id}` reads the row; for a Standard execution it also asks
//! DescribeExecution and, when the row is behind, writes what Step Functions says through the
//! reconciler's forward-only update (status events are best-effort, and absent on emulators).
//! Tasks come from GetExecutionHistory, read as engine history ([`history`]) and shown with the
//! task map recorded when the workflow was registered, by the same
//! `ocflow_engine::conductor::workflow` the local host uses.
//!
//! Gaps: Express executions cannot be described, so their rows keep the status recorded at
//! start (RUNNING) and show no tasks; workflows deployed by `ocflow synth` alone have no
//! recorded task map, so their executions show no tasks until the definition is registered
//! through the API; task variables (`assignedVariables`) appear in the history only when the
//! state machine logs execution data, so a task's status then comes from its task events only.
//!
//! # Retry and restart
//!
//! Retry is RedriveExecution: a failed, timed-out or stopped Standard execution runs again from
//! what did not succeed, under the same ARN and so the same workflowId. Restart under the same
//! id is refused (409): the id is the execution name, which Step Functions keeps for 90 days,
//! so a run from the beginning needs a new start (a new id).
//!
//! # Removing, logs, queues
//!
//! Removing a workflow deletes its row: the API no longer finds it, while Step Functions keeps
//! the execution and its history for 90 days (executions cannot be deleted). Unregistering a
//! definition deletes its row; when it was the latest version, the version now latest is
//! deployed again, and when it was the last one the machine stays (starts by name still run
//! it, as for workflows deployed by `ocflow synth` alone). Task logs live in the table
//! ([`metadata`]) until the retention ends. Queue sizes are SQS's
//! `ApproximateNumberOfMessages` of each task type's queue; the queues cannot be listed (the
//! API function knows them by task type only), so `GET /api/tasks/queue/all` is refused.
//!
//! # Metadata and workers
//!
//! Registering a workflow compiles it (task and workflow definitions from the table, as
//! `ocflow serve` does from its catalog), fills the compiled placeholders from the deployment's
//! environment (task function ARNs, worker queues found by name, machines by the naming
//! convention) and creates or updates the Standard machine `<stack>-<name>`; the definition is
//! kept in the table ([`metadata`]). Polling hands out worker tasks from the task type's queue
//! through [`WorkerClient`]; the task token waits in the table until the worker's answer.

pub mod history;
pub mod metadata;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sfn::types::StateMachineType;
use ocflow_api::model::{
    IdempotencyStrategy, RerunWorkflowRequest, SearchResult, StartWorkflowRequest, TaskExecLog,
    TaskUpdate, WorkflowSummary,
};
use ocflow_api::task::{TaskId, find_task};
use ocflow_api::{ApiError, ApiResult, WorkflowSearch, WorkflowService};
use ocflow_compiler::{CompileEnv, CompiledWorkflow, compile};
use ocflow_control::ExecutionStatus;
use ocflow_control::deployment::{self, env, machine_name_part};
use ocflow_control::directory::{Directory, ResolveError};
use ocflow_control::execution::{Millis, Retention};
use ocflow_control::ports::{ExecutionDescription, ExecutionTable, StepFunctions};
use ocflow_control::reconcile::change_from_description;
use ocflow_control::sqs::SqsMessage;
use ocflow_control::starter::{self, NameSource, Starter, execution_name};
use ocflow_control::worker::ResultStatus;
use ocflow_dsl::model::{TaskDef, WorkflowDef};
use ocflow_engine::conductor::{self, Task, Workflow};
use ocflow_engine::store::{ExecutionRecord, ExecutionStatus as EngineStatus};
use ocflow_protocol::placeholders;
use ocflow_protocol::task_map::TaskMap;
use serde_json::{Value, json};

use crate::table::{attr, index, status_start_time};
use crate::worker::PolledTask;
use crate::{DynamoExecutionTable, Error, StepFunctionsClient, WorkerClient, settings};
use metadata::{Metadata, PendingTask};

/// Rows a search reads at most before sorting (newest first) and paging.
const MAX_SEARCH_ROWS: usize = 10_000;

/// A missing or invalid setting of the API function.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A table or retention setting.
    #[error(transparent)]
    Setting(#[from] settings::Error),
    /// The state machine settings.
    #[error(transparent)]
    Directory(#[from] ResolveError),
}

/// What registering workflows through the API needs; absent, registering is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    /// The role registered machines run with.
    pub role_arn: String,
    /// Fills `${HttpTaskFunctionArn}`.
    pub http_task_function_arn: Option<String>,
    /// Fills `${ScriptTaskFunctionArn}`.
    pub script_task_function_arn: Option<String>,
    /// Fills `${ExternalTaskQueueUrl}`.
    pub external_task_queue_url: Option<String>,
}

/// The API function's settings (environment variables of `ocflow_control::deployment::env`).
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// The executions table.
    pub executions_table: String,
    /// How long finished executions stay in the table.
    pub retention: Retention,
    /// Which machine runs which workflow.
    pub directory: Directory,
    /// `OCFLOW_STATE_MACHINE_ARN_PREFIX`: machines of registered workflows are named after it.
    pub state_machine_arn_prefix: Option<String>,
    /// `OCFLOW_WORKER_QUEUE_PREFIX`: the worker queue of task type `t` is `<prefix><t>`.
    pub worker_queue_prefix: Option<String>,
    /// Registering workflows; `None` refuses it.
    pub registration: Option<Registration>,
}

impl ApiSettings {
    /// Reads the settings through `var` (e.g. `|name| std::env::var(name).ok()`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        Ok(ApiSettings {
            executions_table: settings::executions_table(&var)?,
            retention: settings::retention(&var)?,
            directory: Directory::from_env(&var)?,
            state_machine_arn_prefix: get(env::STATE_MACHINE_ARN_PREFIX),
            worker_queue_prefix: get(env::WORKER_QUEUE_PREFIX),
            registration: get(env::STATE_MACHINE_ROLE_ARN).map(|role_arn| Registration {
                role_arn,
                http_task_function_arn: get(env::HTTP_TASK_FUNCTION_ARN),
                script_task_function_arn: get(env::SCRIPT_TASK_FUNCTION_ARN),
                external_task_queue_url: get(env::EXTERNAL_TASK_QUEUE_URL),
            }),
        })
    }
}

/// The REST API's service on AWS (see the module docs).
#[derive(Debug)]
pub struct AwsWorkflowService {
    sfn: aws_sdk_sfn::Client,
    sqs: aws_sdk_sqs::Client,
    step_functions: StepFunctionsClient,
    table: DynamoExecutionTable,
    metadata: Metadata,
    starter: Starter<Directory, StepFunctionsClient, DynamoExecutionTable>,
    settings: ApiSettings,
    /// Task type key → worker queue URL.
    queues: Mutex<HashMap<String, String>>,
}

fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::internal(error.to_string())
}

fn sdk_error(operation: &str, error: impl std::error::Error) -> ApiError {
    ApiError::internal(format!(
        "{operation} failed: {}",
        DisplayErrorContext(error)
    ))
}

/// Conductor's status names as Step Functions'.
fn step_functions_status(status: &str) -> ApiResult<ExecutionStatus> {
    Ok(match status {
        "RUNNING" => ExecutionStatus::Running,
        "COMPLETED" => ExecutionStatus::Succeeded,
        "FAILED" => ExecutionStatus::Failed,
        "TIMED_OUT" => ExecutionStatus::TimedOut,
        "TERMINATED" => ExecutionStatus::Aborted,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown workflow status '{other}'"
            )));
        }
    })
}

fn engine_status(status: ExecutionStatus) -> EngineStatus {
    match status {
        ExecutionStatus::Running | ExecutionStatus::PendingRedrive => EngineStatus::Running,
        ExecutionStatus::Succeeded => EngineStatus::Succeeded,
        ExecutionStatus::Failed => EngineStatus::Failed,
        ExecutionStatus::TimedOut => EngineStatus::TimedOut,
        ExecutionStatus::Aborted => EngineStatus::Aborted,
    }
}

fn json_or_empty(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_else(|| json!({}))
}

/// An execution's row in the table.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    workflow_id: String,
    execution_arn: String,
    workflow_name: String,
    workflow_version: Option<u32>,
    correlation_id: Option<String>,
    status: ExecutionStatus,
    /// Standard executions: Step Functions reports on them.
    tracked: bool,
    start_time: Millis,
    stop_time: Option<Millis>,
    input: Option<String>,
    output: Option<String>,
    error: Option<String>,
    cause: Option<String>,
}

impl Row {
    fn read(item: &HashMap<String, AttributeValue>) -> Option<Row> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let number = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
        };
        Some(Row {
            workflow_id: text(attr::WORKFLOW_ID)?,
            execution_arn: text(attr::EXECUTION_ARN)?,
            workflow_name: text(attr::WORKFLOW_NAME).unwrap_or_default(),
            workflow_version: number(attr::WORKFLOW_VERSION).and_then(|v| u32::try_from(v).ok()),
            correlation_id: text(attr::CORRELATION_ID),
            status: ExecutionStatus::parse(&text(attr::STATUS)?)?,
            tracked: item.contains_key(attr::TRACKED_STATUS),
            start_time: number(attr::START_TIME).unwrap_or_default(),
            stop_time: number(attr::STOP_TIME),
            input: text(attr::INPUT),
            output: text(attr::OUTPUT),
            error: text(attr::ERROR),
            cause: text(attr::CAUSE),
        })
    }

    /// The row updated with what DescribeExecution says.
    fn described(mut self, description: &ExecutionDescription) -> Row {
        self.status = description.status;
        self.start_time = description.start_time;
        self.stop_time = description.stop_time;
        self.input = description.input.clone().or(self.input);
        self.output = description.output.clone();
        self.error = description.error.clone();
        self.cause = description.cause.clone();
        self
    }

    fn record(&self) -> ExecutionRecord {
        ExecutionRecord {
            id: self.workflow_id.clone(),
            machine: self.workflow_name.clone(),
            definition: Arc::new(Value::Null),
            input: json_or_empty(self.input.as_deref()),
            status: engine_status(self.status),
            start_time: self.start_time,
            end_time: self.stop_time.filter(|_| self.status.is_terminal()),
            output: self.output.as_deref().map(|o| json_or_empty(Some(o))),
            error: self.error.clone(),
            cause: self.cause.clone(),
            parent_id: None,
            correlation_id: self.correlation_id.clone(),
        }
    }

    /// The Conductor view, with the tasks `history` and `task_map` give.
    fn workflow(
        &self,
        history: &[ocflow_engine::history::HistoryEvent],
        task_map: &TaskMap,
    ) -> Workflow {
        let stub;
        let task_map = if task_map.workflow_name.is_empty() {
            stub = TaskMap {
                workflow_name: self.workflow_name.clone(),
                workflow_version: self.workflow_version.unwrap_or(1),
                ..TaskMap::default()
            };
            &stub
        } else {
            task_map
        };
        conductor::workflow(&self.record(), history, task_map)
    }
}

impl AwsWorkflowService {
    /// The service over the clients `sdk` configures.
    pub fn new(sdk: &SdkConfig, settings: ApiSettings) -> Self {
        let sfn = aws_sdk_sfn::Client::new(sdk);
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let step_functions = StepFunctionsClient::new(sfn.clone());
        let table = DynamoExecutionTable::new(dynamodb.clone(), &settings.executions_table);
        AwsWorkflowService {
            sqs: aws_sdk_sqs::Client::new(sdk),
            starter: Starter::new(
                settings.directory.clone(),
                step_functions.clone(),
                table.clone(),
                settings.retention,
            ),
            metadata: Metadata::new(dynamodb, &settings.executions_table),
            sfn,
            step_functions,
            table,
            settings,
            queues: Mutex::new(HashMap::new()),
        }
    }

    async fn row(&self, workflow_id: &str) -> ApiResult<Row> {
        let missing = || ApiError::not_found(format!("no workflow '{workflow_id}'"));
        if !metadata::is_execution_id(workflow_id) {
            return Err(missing());
        }
        let item = self.table.get(workflow_id).await.map_err(internal)?;
        let item = item.ok_or_else(missing)?;
        Row::read(&item).ok_or_else(|| {
            ApiError::internal(format!("the row of workflow '{workflow_id}' is incomplete"))
        })
    }

    /// The row, brought up to date from DescribeExecution for a Standard execution; a row that
    /// was behind is updated in the table too (the reconciler's forward-only write).
    async fn fresh_row(&self, row: Row) -> ApiResult<Row> {
        if !row.tracked {
            return Ok(row);
        }
        let description = self
            .step_functions
            .describe_execution(&row.execution_arn)
            .await
            .map_err(internal)?;
        if description.status != row.status || row.status == ExecutionStatus::Running {
            let change = change_from_description(
                &description,
                &self.settings.directory,
                self.settings.retention,
                now_millis(),
            );
            self.table.apply(&change).await.map_err(internal)?;
        }
        Ok(row.described(&description))
    }

    async fn history(
        &self,
        execution_arn: &str,
    ) -> ApiResult<Vec<ocflow_engine::history::HistoryEvent>> {
        let mut events = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .sfn
                .get_execution_history()
                .execution_arn(execution_arn)
                .include_execution_data(true)
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error("GetExecutionHistory", e))?;
            events.extend(page.events);
            match page.next_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => break,
            }
        }
        Ok(history::engine_history(&events))
    }

    fn registration(&self) -> ApiResult<&Registration> {
        self.settings.registration.as_ref().ok_or_else(|| {
            ApiError::conflict(
                "registering workflows through the API is off in this deployment: deploy them \
                 with `ocflow synth`, or deploy the template with ApiRegistration=true",
            )
        })
    }

    /// The stack part of machine names: the ARN prefix after `:stateMachine:`.
    fn machine_prefix(&self) -> ApiResult<(&str, &str)> {
        let arn_prefix = self
            .settings
            .state_machine_arn_prefix
            .as_deref()
            .ok_or_else(|| {
                ApiError::conflict(format!(
                    "{} is not set: machines cannot be named",
                    env::STATE_MACHINE_ARN_PREFIX
                ))
            })?;
        let stack = arn_prefix.rsplit(':').next().unwrap_or(arn_prefix);
        Ok((arn_prefix, stack))
    }

    /// The URL of the worker queue of `task_type` (its substitution key suffix), found by name.
    async fn queue_url(&self, task_type: &str) -> ApiResult<String> {
        let key = placeholders::sanitize(task_type);
        if let Some(url) = self.queues.lock().map_err(internal)?.get(&key) {
            return Ok(url.clone());
        }
        let prefix = self
            .settings
            .worker_queue_prefix
            .as_deref()
            .ok_or_else(|| {
                ApiError::conflict(format!(
                    "{} is not set: worker queues cannot be found",
                    env::WORKER_QUEUE_PREFIX
                ))
            })?;
        let name = format!("{prefix}{key}");
        let url = match self.sqs.get_queue_url().queue_name(&name).send().await {
            Ok(output) => output.queue_url.unwrap_or_default(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_queue_does_not_exist()) =>
            {
                return Err(ApiError::not_found(format!(
                    "task type '{task_type}' has no worker queue ('{name}') in this deployment"
                )));
            }
            Err(e) => return Err(sdk_error("GetQueueUrl", e)),
        };
        self.queues
            .lock()
            .map_err(internal)?
            .insert(key, url.clone());
        Ok(url)
    }

    /// The ASL text of a compiled machine with its placeholders filled in.
    async fn substituted(
        &self,
        compiled: &CompiledWorkflow,
        machine_parts: &BTreeMap<String, String>,
    ) -> ApiResult<String> {
        let registration = self.registration()?;
        let (arn_prefix, _) = self.machine_prefix()?;
        let text = serde_json::to_string(&compiled.machine).map_err(internal)?;
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at..];
            let end = after.find('}').map_or(after.len(), |e| e + 1);
            let Some(key) = placeholders::key(&after[..end]) else {
                out.push_str("${");
                rest = &after[2..];
                continue;
            };
            let setting = |value: &Option<String>, variable: &str| {
                value.clone().ok_or_else(|| {
                    ApiError::conflict(format!(
                        "workflow '{}' needs ${{{key}}}, but {variable} is not set",
                        compiled.name
                    ))
                })
            };
            let value = match key.split_once('_') {
                _ if Some(key) == placeholders::key(placeholders::HTTP_TASK_FUNCTION) => setting(
                    &registration.http_task_function_arn,
                    env::HTTP_TASK_FUNCTION_ARN,
                )?,
                _ if Some(key) == placeholders::key(placeholders::SCRIPT_TASK_FUNCTION) => setting(
                    &registration.script_task_function_arn,
                    env::SCRIPT_TASK_FUNCTION_ARN,
                )?,
                _ if Some(key) == placeholders::key(placeholders::EXTERNAL_TASK_QUEUE_URL) => {
                    setting(
                        &registration.external_task_queue_url,
                        env::EXTERNAL_TASK_QUEUE_URL,
                    )?
                }
                Some(("WorkerQueueUrl", task_type)) => self.queue_url(task_type).await?,
                Some(("StateMachineArn", machine)) => {
                    let part = machine_parts
                        .get(machine)
                        .cloned()
                        .unwrap_or_else(|| machine.to_owned());
                    deployment::state_machine_name(arn_prefix, &part)
                }
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "workflow '{}' uses ${{{key}}}, which only a deployment through \
                         `ocflow synth` provides (EVENT sinks)",
                        compiled.name
                    )));
                }
            };
            // The value goes into a JSON string: escape it as one.
            let quoted = serde_json::to_string(&value).map_err(internal)?;
            out.push_str(&quoted[1..quoted.len() - 1]);
            rest = &after[end..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Creates the Standard machine of `compiled`, or updates it when it exists; its ARN.
    async fn deploy_machine(
        &self,
        compiled: &CompiledWorkflow,
        definition: String,
    ) -> ApiResult<String> {
        let role_arn = &self.registration()?.role_arn;
        let (arn_prefix, stack) = self.machine_prefix()?;
        let part = machine_name_part(&compiled.name);
        let created = self
            .sfn
            .create_state_machine()
            .name(deployment::state_machine_name(stack, &part))
            .definition(&definition)
            .role_arn(role_arn)
            .r#type(StateMachineType::Standard)
            .send()
            .await;
        match created {
            Ok(output) => Ok(output.state_machine_arn),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_state_machine_already_exists()) =>
            {
                let arn = deployment::state_machine_name(arn_prefix, &part);
                self.sfn
                    .update_state_machine()
                    .state_machine_arn(&arn)
                    .definition(definition)
                    .role_arn(role_arn)
                    .send()
                    .await
                    .map_err(|e| match e.code() {
                        Some("InvalidDefinition") => ApiError::bad_request(format!(
                            "Step Functions refused the machine of '{}': {}",
                            compiled.name,
                            DisplayErrorContext(&e)
                        )),
                        _ => sdk_error("UpdateStateMachine", e),
                    })?;
                Ok(arn)
            }
            Err(e) if e.code() == Some("InvalidDefinition") => Err(ApiError::bad_request(format!(
                "Step Functions refused the machine of '{}': {}",
                compiled.name,
                DisplayErrorContext(&e)
            ))),
            Err(e) => Err(sdk_error("CreateStateMachine", e)),
        }
    }

    /// The summaries of rows, refreshing RUNNING Standard ones (Step Functions may have
    /// finished them since) and keeping those still matching `status`.
    async fn summaries(
        &self,
        rows: Vec<Row>,
        status: Option<ExecutionStatus>,
    ) -> ApiResult<Vec<WorkflowSummary>> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let row = if row.status == ExecutionStatus::Running {
                self.fresh_row(row).await?
            } else {
                row
            };
            if status.is_none_or(|s| s == row.status) {
                out.push(WorkflowSummary::from(
                    &row.workflow(&[], &TaskMap::default()),
                ));
            }
        }
        Ok(out)
    }

    /// Rows a search selects, through the index that serves it best.
    async fn search_rows(
        &self,
        search: &WorkflowSearch,
        status: Option<ExecutionStatus>,
    ) -> ApiResult<Vec<Row>> {
        let after = search
            .started_after
            .map_or(0, |t| t.saturating_add(1))
            .max(0);
        let before = search
            .started_before
            .map_or(999_999_999_999_999, |t| t.saturating_sub(1));
        let mut q = Expression::default();
        q.number(":after", after);
        q.number(":before", before);
        q.name("#t", attr::START_TIME);
        let time_range = "#t BETWEEN :after AND :before";
        let (index_name, key) = if let Some(correlation_id) = &search.correlation_id {
            q.equals("c", attr::CORRELATION_ID, correlation_id);
            if let Some(name) = &search.workflow_type {
                let clause = q.equals("w", attr::WORKFLOW_NAME, name);
                q.filters.push(clause);
            }
            if let Some(status) = status {
                let clause = q.equals("s", attr::STATUS, status.as_str());
                q.filters.push(clause);
            }
            (
                Some(index::BY_CORRELATION_ID),
                format!("#c = :c AND {time_range}"),
            )
        } else if let Some(name) = &search.workflow_type {
            q.equals("w", attr::WORKFLOW_NAME, name);
            match status {
                Some(status) => {
                    q = Expression::default();
                    q.equals("w", attr::WORKFLOW_NAME, name);
                    q.name("#st", attr::STATUS_START_TIME);
                    q.values.insert(
                        ":lo".into(),
                        AttributeValue::S(status_start_time(status, after)),
                    );
                    q.values.insert(
                        ":hi".into(),
                        AttributeValue::S(status_start_time(status, before)),
                    );
                    (
                        Some(index::BY_WORKFLOW),
                        "#w = :w AND #st BETWEEN :lo AND :hi".to_owned(),
                    )
                }
                None => {
                    q.filters.push(time_range.to_owned());
                    (Some(index::BY_WORKFLOW), "#w = :w".to_owned())
                }
            }
        } else if let Some(status) = status {
            q.equals("s", attr::STATUS, status.as_str());
            (Some(index::BY_STATUS), format!("#s = :s AND {time_range}"))
        } else {
            q.name("#arn", attr::EXECUTION_ARN);
            q.filters.push(time_range.to_owned());
            q.filters.push("attribute_exists(#arn)".into());
            (None, String::new())
        };
        let Expression {
            names,
            values,
            filters,
        } = q;
        let filter_expression = (!filters.is_empty()).then(|| filters.join(" AND "));
        let client = self.table.client();
        let mut rows = Vec::new();
        let mut start_key = None;
        loop {
            let (items, last_key) = match index_name {
                Some(index_name) => {
                    let output = client
                        .query()
                        .table_name(self.table.table_name())
                        .index_name(index_name)
                        .key_condition_expression(&key)
                        .set_filter_expression(filter_expression.clone())
                        .set_expression_attribute_names(Some(names.clone()))
                        .set_expression_attribute_values(Some(values.clone()))
                        .set_exclusive_start_key(start_key.take())
                        .send()
                        .await
                        .map_err(|e| sdk_error("Query", e))?;
                    (output.items.unwrap_or_default(), output.last_evaluated_key)
                }
                None => {
                    let output = client
                        .scan()
                        .table_name(self.table.table_name())
                        .set_filter_expression(filter_expression.clone())
                        .set_expression_attribute_names(Some(names.clone()))
                        .set_expression_attribute_values(Some(values.clone()))
                        .set_exclusive_start_key(start_key.take())
                        .send()
                        .await
                        .map_err(|e| sdk_error("Scan", e))?;
                    (output.items.unwrap_or_default(), output.last_evaluated_key)
                }
            };
            rows.extend(
                items
                    .iter()
                    .filter_map(Row::read)
                    .filter(|r| metadata::is_execution_id(&r.workflow_id)),
            );
            match last_key {
                Some(key) if !key.is_empty() && rows.len() < MAX_SEARCH_ROWS => {
                    start_key = Some(key)
                }
                _ => break,
            }
        }
        rows.sort_by(|a, b| {
            b.start_time
                .cmp(&a.start_time)
                .then(b.workflow_id.cmp(&a.workflow_id))
        });
        Ok(rows)
    }

    /// Records the input of an execution the API started (the start record has none, and an
    /// Express execution gets no other), unless something recorded it already.
    async fn record_input(&self, workflow_id: &str, input: &str) -> ApiResult<()> {
        if input.len() > ocflow_control::tracker::MAX_STORED_PAYLOAD_BYTES {
            return Ok(());
        }
        self.table
            .client()
            .update_item()
            .table_name(self.table.table_name())
            .key(attr::WORKFLOW_ID, AttributeValue::S(workflow_id.to_owned()))
            .update_expression("SET #i = if_not_exists(#i, :i)")
            .expression_attribute_names("#i", attr::INPUT)
            .expression_attribute_values(":i", AttributeValue::S(input.to_owned()))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", e))?;
        Ok(())
    }

    fn worker(&self, queue_url: &str) -> WorkerClient {
        WorkerClient::new(self.sqs.clone(), self.sfn.clone(), queue_url)
    }
}

/// A query's expression attribute names and values, and its filter clauses.
#[derive(Debug, Default)]
struct Expression {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    filters: Vec<String>,
}

impl Expression {
    fn name(&mut self, alias: &str, attribute: &str) {
        self.names.insert(alias.to_owned(), attribute.to_owned());
    }

    fn number(&mut self, alias: &str, value: i64) {
        self.values
            .insert(alias.to_owned(), AttributeValue::N(value.to_string()));
    }

    /// Binds `#field` and `:field`; the clause comparing them.
    fn equals(&mut self, field: &str, attribute: &str, value: &str) -> String {
        self.name(&format!("#{field}"), attribute);
        self.values
            .insert(format!(":{field}"), AttributeValue::S(value.to_owned()));
        format!("#{field} = :{field}")
    }
}

fn starter_error(error: starter::Error) -> ApiError {
    match error {
        starter::Error::Resolve(ResolveError::UnknownWorkflow(name)) => {
            ApiError::not_found(format!("no workflow '{name}' is deployed"))
        }
        starter::Error::Port(port) => ApiError::internal(port.to_string()),
        other => ApiError::bad_request(other.to_string()),
    }
}

fn worker_error(error: Error) -> ApiError {
    match error {
        Error::TaskGone { .. } => ApiError::conflict(error.to_string()),
        Error::Result(_) => ApiError::bad_request(error.to_string()),
        Error::Service { .. } => ApiError::internal(error.to_string()),
    }
}

impl AwsWorkflowService {
    /// Tasks of `task_type` waiting in its queue (SQS's approximate count); 0 without a queue.
    async fn queue_size(&self, task_type: &str) -> ApiResult<u64> {
        let queue_url = match self.queue_url(task_type).await {
            Ok(url) => url,
            Err(e) if e.status.as_u16() == 404 => return Ok(0),
            Err(e) => return Err(e),
        };
        let output = self
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|e| sdk_error("GetQueueAttributes", e))?;
        Ok(output
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0))
    }
}

impl WorkflowService for AwsWorkflowService {
    async fn start(&self, request: StartWorkflowRequest) -> ApiResult<String> {
        let latest = self.metadata.workflow(&request.name, None).await?;
        let latest_version = latest.as_ref().map(|(def, _)| def.version());
        if let (Some(asked), Some(latest)) = (request.version, latest_version)
            && asked != latest
        {
            return Err(ApiError::bad_request(format!(
                "workflow '{}' version {asked}: only the latest registered version ({latest}) \
                 is deployed",
                request.name
            )));
        }
        let key = request.idempotency_key.as_deref().filter(|k| !k.is_empty());
        if let Some(key) = key {
            let name = execution_name(&request.name, NameSource::IdempotencyKey(key));
            if self
                .table
                .recorded_start(&name)
                .await
                .map_err(internal)?
                .is_some()
            {
                return match request.idempotency_strategy {
                    IdempotencyStrategy::ReturnExisting => Ok(name),
                    IdempotencyStrategy::Fail => Err(ApiError::conflict(format!(
                        "a workflow with idempotency key '{key}' exists already: {name}"
                    ))),
                };
            }
        }
        let input = Value::Object(request.input).to_string();
        let version = request.version.or(latest_version);
        let body = json!({
            "name": request.name,
            "version": version.and_then(|v| u32::try_from(v).ok()),
            "input": serde_json::from_str::<Value>(&input).map_err(internal)?,
            "correlationId": request.correlation_id,
            "idempotencyKey": key,
            "priority": request.priority.map(|p| p.clamp(0, 99)),
        });
        let message = SqsMessage {
            message_id: format!("api-{:032x}", rand::random::<u128>()),
            body: body.to_string(),
            attributes: HashMap::from([("SentTimestamp".to_owned(), now_millis().to_string())]),
        };
        let started = self.starter.start(&message).await.map_err(starter_error)?;
        if started.already_existed
            && request.idempotency_strategy == IdempotencyStrategy::Fail
            && let Some(key) = key
        {
            return Err(ApiError::conflict(format!(
                "a workflow with idempotency key '{key}' exists already: {}",
                started.workflow_id
            )));
        }
        self.record_input(&started.workflow_id, &input).await?;
        Ok(started.workflow_id)
    }

    async fn workflow(&self, workflow_id: &str, include_tasks: bool) -> ApiResult<Workflow> {
        let row = self.row(workflow_id).await?;
        let row = self.fresh_row(row).await?;
        if !include_tasks {
            return Ok(row.workflow(&[], &TaskMap::default()));
        }
        let version = row.workflow_version.map(i64::from);
        let task_map = self
            .metadata
            .workflow(&row.workflow_name, version)
            .await?
            .map(|(_, map)| map)
            .unwrap_or_default();
        let history = if row.tracked {
            self.history(&row.execution_arn).await?
        } else {
            Vec::new()
        };
        Ok(row.workflow(&history, &task_map))
    }

    async fn terminate(&self, workflow_id: &str, reason: &str) -> ApiResult<()> {
        let row = self.fresh_row(self.row(workflow_id).await?).await?;
        if !row.tracked {
            return Err(ApiError::conflict(format!(
                "workflow '{workflow_id}' runs on an Express state machine, which Step \
                 Functions cannot stop"
            )));
        }
        if row.status.is_terminal() {
            return Err(ApiError::conflict(format!(
                "workflow '{workflow_id}' has ended ({})",
                row.status
            )));
        }
        self.sfn
            .stop_execution()
            .execution_arn(&row.execution_arn)
            .cause(reason)
            .send()
            .await
            .map_err(|e| sdk_error("StopExecution", e))?;
        self.fresh_row(row).await?;
        Ok(())
    }

    async fn retry(&self, workflow_id: &str, resume_subworkflow_tasks: bool) -> ApiResult<()> {
        // A redrive re-runs what did not succeed; child executions run again as new children.
        let _ = resume_subworkflow_tasks;
        let row = self.fresh_row(self.row(workflow_id).await?).await?;
        if !row.tracked {
            return Err(ApiError::conflict(format!(
                "workflow '{workflow_id}' runs on an Express state machine, which Step \
                 Functions cannot redrive"
            )));
        }
        match row.status {
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive => {
                return Err(ApiError::conflict(format!(
                    "Workflow is still running.  status={}",
                    row.status
                )));
            }
            ExecutionStatus::Succeeded => {
                return Err(ApiError::conflict(format!(
                    "workflow '{workflow_id}' has completed: nothing to retry"
                )));
            }
            _ => {}
        }
        self.sfn
            .redrive_execution()
            .execution_arn(&row.execution_arn)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|e| e.is_execution_not_redrivable())
                {
                    ApiError::conflict(format!(
                        "workflow '{workflow_id}' cannot be retried: {}",
                        DisplayErrorContext(&e)
                    ))
                } else {
                    sdk_error("RedriveExecution", e)
                }
            })?;
        self.fresh_row(row).await?;
        Ok(())
    }

    async fn restart(&self, workflow_id: &str, use_latest_definitions: bool) -> ApiResult<()> {
        let _ = use_latest_definitions;
        let row = self.row(workflow_id).await?;
        Err(ApiError::conflict(format!(
            "workflow '{workflow_id}' cannot be restarted under the same id on AWS: its id is \
             the Step Functions execution name, which stays taken for 90 days; start \
             '{}' again with the same input (a new id), or retry it",
            row.workflow_name
        )))
    }

    async fn search(&self, search: &WorkflowSearch) -> ApiResult<SearchResult<WorkflowSummary>> {
        let status = search
            .status
            .as_deref()
            .map(step_functions_status)
            .transpose()?;
        let rows = self.search_rows(search, status).await?;
        let total = rows.len();
        let page: Vec<Row> = rows
            .into_iter()
            .skip(search.start)
            .take(search.size)
            .collect();
        Ok(SearchResult {
            total_hits: u64::try_from(total).unwrap_or(u64::MAX),
            results: self.summaries(page, status).await?,
        })
    }

    async fn register_workflow(&self, def: WorkflowDef, overwrite: bool) -> ApiResult<()> {
        self.registration()?;
        let errors: Vec<String> = ocflow_dsl::validate(&def)
            .iter()
            .filter(|d| d.is_error())
            .map(ToString::to_string)
            .collect();
        if !errors.is_empty() {
            return Err(ApiError::bad_request(format!(
                "workflow '{}' is invalid: {}",
                def.name,
                errors.join("; ")
            )));
        }
        if !overwrite && self.metadata.has_workflow(&def.name, def.version()).await? {
            return Err(ApiError::conflict(format!(
                "workflow '{}' version {} is registered already; use overwrite=true or PUT",
                def.name,
                def.version()
            )));
        }
        let mut compile_env = CompileEnv::new();
        for task_def in self.metadata.task_defs().await? {
            compile_env.add_task_def(task_def);
        }
        let registered = self.metadata.workflows().await?;
        let mut machine_parts: BTreeMap<String, String> = BTreeMap::new();
        for known in registered
            .iter()
            .map(|d| d.name.as_str())
            .chain([def.name.as_str()])
        {
            machine_parts.insert(placeholders::sanitize(known), machine_name_part(known));
        }
        for known in registered {
            compile_env.add_workflow(known);
        }
        compile_env.add_workflow(def.clone());
        let compiled = compile(&def, &compile_env).map_err(|errors| {
            let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
            ApiError::bad_request(format!(
                "workflow '{}' does not compile: {}",
                def.name,
                messages.join("; ")
            ))
        })?;
        for child in compiled.children.values() {
            machine_parts.insert(
                placeholders::sanitize(&child.name),
                machine_name_part(&child.name),
            );
        }
        // Children first: the parent's role may start them as soon as it exists.
        for child in compiled.children.values() {
            let definition = self.substituted(child, &machine_parts).await?;
            self.deploy_machine(child, definition).await?;
        }
        let definition = self.substituted(&compiled, &machine_parts).await?;
        let arn = self.deploy_machine(&compiled, definition).await?;
        self.metadata
            .put_workflow(&def, &compiled.task_map, &arn)
            .await
    }

    async fn workflow_def(&self, name: &str, version: Option<i64>) -> ApiResult<WorkflowDef> {
        self.metadata
            .workflow(name, version)
            .await?
            .map(|(def, _)| def)
            .ok_or_else(|| ApiError::not_found(format!("no workflow definition '{name}'")))
    }

    async fn workflow_defs(&self) -> ApiResult<Vec<WorkflowDef>> {
        self.metadata.workflows().await
    }

    async fn register_task_defs(&self, defs: Vec<TaskDef>) -> ApiResult<()> {
        if let Some(unnamed) = defs.iter().position(|d| d.name.is_empty()) {
            return Err(ApiError::bad_request(format!(
                "task definition {unnamed} has no name"
            )));
        }
        for def in &defs {
            self.metadata.put_task_def(def).await?;
        }
        Ok(())
    }

    async fn task_def(&self, name: &str) -> ApiResult<TaskDef> {
        self.metadata
            .task_def(name)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no task definition '{name}'")))
    }

    async fn task_defs(&self) -> ApiResult<Vec<TaskDef>> {
        self.metadata.task_defs().await
    }

    async fn remove_task_def(&self, name: &str) -> ApiResult<()> {
        if self.metadata.remove_task_def(name).await? {
            Ok(())
        } else {
            Err(ApiError::not_found(format!("no task definition '{name}'")))
        }
    }

    async fn poll(
        &self,
        task_type: &str,
        worker_id: Option<&str>,
        count: usize,
        timeout: Duration,
    ) -> ApiResult<Vec<Value>> {
        let queue_url = self.queue_url(task_type).await?;
        let worker = self.worker(&queue_url);
        let mut tasks = Vec::new();
        let mut wait = timeout;
        while tasks.len() < count {
            let want = u8::try_from((count - tasks.len()).min(10)).unwrap_or(10);
            let polled = worker
                .poll(want, wait, worker_id)
                .await
                .map_err(worker_error)?;
            if polled.is_empty() {
                break;
            }
            let now = now_millis();
            for task in polled {
                let pending = PendingTask {
                    message: task.message,
                    receipt_handle: task.receipt_handle,
                    queue_url: queue_url.clone(),
                };
                self.metadata.put_task(&pending, now).await?;
                tasks.push(task.task);
            }
            wait = Duration::ZERO;
        }
        Ok(tasks)
    }

    async fn task(&self, task_id: &str) -> ApiResult<Task> {
        let unknown = || ApiError::not_found(format!("no task '{task_id}'"));
        let id = TaskId::parse(task_id).ok_or_else(unknown)?;
        let workflow = match WorkflowService::workflow(self, id.workflow_id(), true).await {
            Err(e) if e.status.as_u16() == 404 => return Err(unknown()),
            other => other?,
        };
        let reference = match id {
            TaskId::Polled { state, .. } => self
                .metadata
                .workflow(
                    &workflow.workflow_name,
                    Some(i64::from(workflow.workflow_version)),
                )
                .await?
                .and_then(|(_, map)| map.task(state).map(|t| t.reference_task_name.clone())),
            TaskId::Listed { .. } => None,
        };
        find_task(&workflow, task_id, reference.as_deref()).ok_or_else(unknown)
    }

    async fn remove(&self, workflow_id: &str, _archive: bool) -> ApiResult<()> {
        let row = self.fresh_row(self.row(workflow_id).await?).await?;
        if !row.status.is_terminal() {
            return Err(ApiError::conflict(format!(
                "workflow '{workflow_id}' is running: terminate it first"
            )));
        }
        self.table
            .client()
            .delete_item()
            .table_name(self.table.table_name())
            .key(attr::WORKFLOW_ID, AttributeValue::S(workflow_id.to_owned()))
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem", e))?;
        Ok(())
    }

    async fn remove_workflow_def(&self, name: &str, version: i64) -> ApiResult<()> {
        // A redeploy may follow: unregistering changes the deployment as registering does.
        self.registration()?;
        let latest = self
            .metadata
            .workflow(name, None)
            .await?
            .map(|(def, _)| def.version());
        if !self.metadata.remove_workflow(name, version).await? {
            return Err(ApiError::not_found(format!(
                "no workflow definition '{name}' version {version}"
            )));
        }
        if latest == Some(version)
            && let Some((previous, _)) = self.metadata.workflow(name, None).await?
        {
            self.register_workflow(previous, true).await?;
        }
        Ok(())
    }

    async fn queue_sizes(&self, task_types: &[String]) -> ApiResult<BTreeMap<String, u64>> {
        let mut sizes = BTreeMap::new();
        for task_type in task_types {
            sizes.insert(task_type.clone(), self.queue_size(task_type).await?);
        }
        Ok(sizes)
    }

    async fn health(&self) -> ApiResult<()> {
        self.metadata.ping().await.map_err(|e| {
            ApiError::internal(format!(
                "the executions table does not answer: {}",
                e.message
            ))
        })
    }

    async fn add_task_logs(&self, task_id: &str, logs: Vec<TaskExecLog>) -> ApiResult<()> {
        let expires_at = self.settings.retention.expires_at(now_millis());
        self.metadata
            .add_task_logs(task_id, &logs, expires_at)
            .await
    }

    async fn task_logs(&self, task_id: &str) -> ApiResult<Vec<TaskExecLog>> {
        self.metadata.task_logs(task_id).await
    }

    async fn rerun(&self, workflow_id: &str, request: RerunWorkflowRequest) -> ApiResult<String> {
        let _ = request;
        let row = self.row(workflow_id).await?;
        Err(ApiError::conflict(format!(
            "workflow '{workflow_id}' cannot be rerun under the same id on AWS: its id is the \
             Step Functions execution name, which stays taken for 90 days; start '{}' again \
             (a new id), or retry it",
            row.workflow_name
        )))
    }

    async fn update_task(&self, update: TaskUpdate) -> ApiResult<()> {
        let pending = self.metadata.task(&update.task_id).await?.ok_or_else(|| {
            ApiError::not_found(format!(
                "task '{}' is not waiting for an answer here (poll it first)",
                update.task_id
            ))
        })?;
        let polled = PolledTask {
            task: Value::Null,
            message: pending.message,
            receipt_handle: pending.receipt_handle,
        };
        let answered = self
            .worker(&pending.queue_url)
            .update(&polled, &update.result)
            .await;
        let finished = update.result.status != ResultStatus::InProgress;
        if finished || matches!(answered, Err(Error::TaskGone { .. })) {
            self.metadata.remove_task(&update.task_id).await?;
        }
        answered.map_err(worker_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn settings_turn_registration_on_with_a_role() {
        let base = [
            (env::EXECUTIONS_TABLE, "t"),
            (
                env::STATE_MACHINE_ARN_PREFIX,
                "arn:aws:states:r:1:stateMachine:stack",
            ),
        ];
        let settings = ApiSettings::from_env(env(&base)).unwrap();
        assert_eq!(settings.registration, None);
        assert_eq!(settings.executions_table, "t");
        let with_role = [
            base[0],
            base[1],
            (env::STATE_MACHINE_ROLE_ARN, "arn:aws:iam::1:role/machines"),
            (
                env::HTTP_TASK_FUNCTION_ARN,
                "arn:aws:lambda:r:1:function:http",
            ),
        ];
        let registration = ApiSettings::from_env(env(&with_role))
            .unwrap()
            .registration
            .unwrap();
        assert_eq!(registration.role_arn, "arn:aws:iam::1:role/machines");
        assert_eq!(registration.script_task_function_arn, None);
        assert!(matches!(
            ApiSettings::from_env(env(&base[1..])),
            Err(SettingsError::Setting(_))
        ));
    }

    #[test]
    fn conductor_statuses_map_to_step_functions_statuses() {
        assert_eq!(
            step_functions_status("TERMINATED").unwrap(),
            ExecutionStatus::Aborted
        );
        assert_eq!(
            step_functions_status("COMPLETED").unwrap(),
            ExecutionStatus::Succeeded
        );
        assert_eq!(
            step_functions_status("PAUSED").unwrap_err().status.as_u16(),
            400
        );
    }

    #[test]
    fn rows_read_as_conductor_workflows() {
        let item = HashMap::from([
            (
                attr::WORKFLOW_ID.to_owned(),
                AttributeValue::S("wf-1".into()),
            ),
            (
                attr::EXECUTION_ARN.to_owned(),
                AttributeValue::S("arn:x".into()),
            ),
            (
                attr::WORKFLOW_NAME.to_owned(),
                AttributeValue::S("media".into()),
            ),
            (
                attr::WORKFLOW_VERSION.to_owned(),
                AttributeValue::N("3".into()),
            ),
            (attr::STATUS.to_owned(), AttributeValue::S("ABORTED".into())),
            (
                attr::START_TIME.to_owned(),
                AttributeValue::N("1000".into()),
            ),
            (attr::STOP_TIME.to_owned(), AttributeValue::N("4000".into())),
            (
                attr::INPUT.to_owned(),
                AttributeValue::S("{\"a\":1}".into()),
            ),
            (
                attr::CAUSE.to_owned(),
                AttributeValue::S("stopped by ops".into()),
            ),
            (
                attr::CORRELATION_ID.to_owned(),
                AttributeValue::S("c-1".into()),
            ),
        ]);
        let row = Row::read(&item).unwrap();
        assert!(!row.tracked);
        let summary = WorkflowSummary::from(&row.workflow(&[], &TaskMap::default()));
        assert_eq!(summary.workflow_type, "media");
        assert_eq!(summary.version, 3);
        assert_eq!(summary.status, "TERMINATED");
        assert_eq!(
            summary.reason_for_incompletion.as_deref(),
            Some("stopped by ops")
        );
        assert_eq!(summary.execution_time, 3000);
        assert_eq!(summary.input, "{\"a\":1}");
        assert_eq!(summary.correlation_id.as_deref(), Some("c-1"));
    }
}
