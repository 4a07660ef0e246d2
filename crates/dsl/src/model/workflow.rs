//! `WorkflowDef` and `WorkflowTask`: a workflow definition and the tree of tasks in it.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{JsonMap, SchemaDef, TaskDef, TaskType};

/// What happens when a whole workflow exceeds `timeoutSeconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowTimeoutPolicy {
    /// Time the workflow out.
    TimeOutWf,
    /// Only raise an alert.
    AlertOnly,
}

/// Limits how many executions of a workflow run at once, per key.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitConfig {
    /// Key (may hold `${...}` references) that groups executions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_key: Option<String>,
    /// Executions allowed at once per key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_exec_limit: Option<i64>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// Caches a task's or workflow's output under a key.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheConfig {
    /// Cache key (may hold `${...}` references).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Time to live in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_in_second: Option<i64>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// An event a task emits when its state changes (`onStateChange`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateChangeEvent {
    /// Event type (sink).
    #[serde(rename = "type", default)]
    pub event_type: String,
    /// Event payload; values may hold `${...}` references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<JsonMap>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// A workflow definition (Conductor's `WorkflowDef`).
///
/// Fields hold what the document says; `None` means absent, and the methods give the value
/// Conductor uses. Unknown fields are kept in `extra` and written back.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowDef {
    /// Workflow name (required).
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Version (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// The top-level task list (required, non-empty).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub tasks: Vec<WorkflowTask>,
    /// Documented input parameter names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_parameters: Option<Vec<String>>,
    /// Workflow output; values may hold `${...}` references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_parameters: Option<JsonMap>,
    /// Name of the workflow started when this one fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_workflow: Option<String>,
    /// DSL schema version (Conductor accepts only 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<i64>,
    /// Whether a completed execution may be restarted (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restartable: Option<bool>,
    /// Whether status changes are published to the status listener (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_status_listener_enabled: Option<bool>,
    /// Owner's e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_email: Option<String>,
    /// What a workflow timeout does (default `ALERT_ONLY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_policy: Option<WorkflowTimeoutPolicy>,
    /// Time limit of the whole workflow, 0 for none (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    /// Initial workflow variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<JsonMap>,
    /// Default input merged under the start input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_template: Option<JsonMap>,
    /// Sink of the status listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_status_listener_sink: Option<String>,
    /// Concurrency limit per key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_config: Option<RateLimitConfig>,
    /// Schema of the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<SchemaDef>,
    /// Schema of the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<SchemaDef>,
    /// Whether the schemas are enforced (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_schema: Option<bool>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<JsonMap>,
    /// Output cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_config: Option<CacheConfig>,
    /// Fields masked in logs and the UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked_fields: Option<Vec<String>>,
    /// Owning application (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_app: Option<String>,
    /// Creation time, epoch milliseconds (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// Last update time, epoch milliseconds (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<i64>,
    /// Creator (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Last updater (audit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl WorkflowDef {
    /// The version Conductor uses.
    pub fn version(&self) -> i64 {
        self.version.unwrap_or(1)
    }

    /// What a workflow timeout does.
    pub fn timeout_policy(&self) -> WorkflowTimeoutPolicy {
        self.timeout_policy
            .unwrap_or(WorkflowTimeoutPolicy::AlertOnly)
    }

    /// Time limit of the whole workflow; 0 means none.
    pub fn timeout_seconds(&self) -> i64 {
        self.timeout_seconds.unwrap_or(0)
    }

    /// Whether a completed execution may be restarted.
    pub fn restartable(&self) -> bool {
        self.restartable.unwrap_or(true)
    }
}

/// One task of a workflow (Conductor's `WorkflowTask`); control-flow tasks hold nested task lists.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowTask {
    /// Task name; for worker tasks, the task definition it uses (required).
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub name: String,
    /// Reference name, unique in the workflow; `${ref.output...}` names it (required).
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub task_reference_name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Task input, raw; read it with [`crate::params::Param::parse`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_parameters: Option<JsonMap>,
    /// Task type as written (default `SIMPLE`); see [`WorkflowTask::task_type`].
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<TaskType>,
    /// DYNAMIC: the input parameter holding the task name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_task_name_param: Option<String>,
    /// DECISION: the input parameter whose value picks the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_value_param: Option<String>,
    /// DECISION: a JavaScript expression whose value picks the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_expression: Option<String>,
    /// LAMBDA: the JavaScript to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_expression: Option<String>,
    /// SWITCH/DECISION: task lists by case value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_cases: Option<IndexMap<String, Vec<WorkflowTask>>>,
    /// FORK_JOIN_DYNAMIC (deprecated spelling): the input parameter holding the tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_fork_join_tasks_param: Option<String>,
    /// FORK_JOIN_DYNAMIC: the input parameter holding the tasks to fork.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_fork_tasks_param: Option<String>,
    /// FORK_JOIN_DYNAMIC: the input parameter holding each forked task's input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_fork_tasks_input_param_name: Option<String>,
    /// SWITCH/DECISION: the tasks run when no case matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_case: Option<Vec<WorkflowTask>>,
    /// FORK_JOIN: the parallel branches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_tasks: Option<Vec<Vec<WorkflowTask>>>,
    /// Delay before the task is queued, seconds (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_delay: Option<i64>,
    /// SUB_WORKFLOW: the workflow to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_workflow_param: Option<SubWorkflowParams>,
    /// JOIN: the references it waits for (empty: all forked branches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_on: Option<Vec<String>>,
    /// EVENT: where the event goes (`sqs:name`, `conductor:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sink: Option<String>,
    /// Whether the workflow continues when this task fails (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    /// An inline task definition, used instead of a registered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<TaskDef>,
    /// Whether the task is rate limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limited: Option<bool>,
    /// EXCLUSIVE_JOIN: the references joined when no decision branch ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_exclusive_join_task: Option<Vec<String>>,
    /// Whether a system task is completed from outside (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub async_complete: Option<bool>,
    /// DO_WHILE: the JavaScript condition evaluated after each iteration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_condition: Option<String>,
    /// DO_WHILE: the loop body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_over: Option<Vec<WorkflowTask>>,
    /// Overrides the task definition's `retryCount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i64>,
    /// SWITCH (and INLINE input): `value-param`, `javascript` or `graaljs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluator_type: Option<String>,
    /// SWITCH: the parameter name or script that picks the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Events emitted on state changes, by state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_state_change: Option<IndexMap<String, Vec<StateChangeEvent>>>,
    /// JOIN: a script deciding the join's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_status: Option<String>,
    /// Output cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_config: Option<CacheConfig>,
    /// Whether later tasks run when this one fails, the failure reported at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissive: Option<bool>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

impl WorkflowTask {
    /// The task type Conductor uses (`SIMPLE` when absent).
    pub fn task_type(&self) -> TaskType {
        self.type_.clone().unwrap_or(TaskType::Simple)
    }

    /// Whether the workflow continues when this task fails.
    pub fn is_optional(&self) -> bool {
        self.optional.unwrap_or(false)
    }

    /// Whether a system task is completed from outside.
    pub fn is_async_complete(&self) -> bool {
        self.async_complete.unwrap_or(false)
    }

    /// The input parameters (empty when absent).
    pub fn inputs(&self) -> &JsonMap {
        static EMPTY: std::sync::OnceLock<JsonMap> = std::sync::OnceLock::new();
        self.input_parameters
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(JsonMap::new))
    }

    /// The DO_WHILE body (empty when absent).
    pub fn loop_body(&self) -> &[WorkflowTask] {
        self.loop_over.as_deref().unwrap_or(&[])
    }

    /// The default branch of a SWITCH/DECISION (empty when absent).
    pub fn default_branch(&self) -> &[WorkflowTask] {
        self.default_case.as_deref().unwrap_or(&[])
    }

    /// The FORK_JOIN branches (empty when absent).
    pub fn fork_branches(&self) -> &[Vec<WorkflowTask>] {
        self.fork_tasks.as_deref().unwrap_or(&[])
    }

    /// The references a JOIN waits for (empty when absent).
    pub fn join_refs(&self) -> &[String] {
        self.join_on.as_deref().unwrap_or(&[])
    }

    /// The SWITCH/DECISION cases in document order.
    pub fn cases(&self) -> impl Iterator<Item = (&str, &[WorkflowTask])> {
        self.decision_cases
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The FORK_JOIN_DYNAMIC tasks parameter, under either spelling.
    pub fn dynamic_fork_param(&self) -> Option<&str> {
        self.dynamic_fork_tasks_param
            .as_deref()
            .or(self.dynamic_fork_join_tasks_param.as_deref())
    }

    /// Every nested task list with its JSON pointer suffix relative to this task
    /// (`/decisionCases/a`, `/defaultCase`, `/forkTasks/0`, `/loopOver`), in document order.
    pub fn child_lists(&self) -> Vec<(String, &[WorkflowTask])> {
        let mut lists = Vec::new();
        for (case, tasks) in self.cases() {
            lists.push((
                format!("/decisionCases/{}", crate::pointer::escape(case)),
                tasks,
            ));
        }
        if let Some(tasks) = &self.default_case {
            lists.push(("/defaultCase".to_owned(), tasks.as_slice()));
        }
        for (i, branch) in self.fork_branches().iter().enumerate() {
            lists.push((format!("/forkTasks/{i}"), branch.as_slice()));
        }
        if let Some(tasks) = &self.loop_over {
            lists.push(("/loopOver".to_owned(), tasks.as_slice()));
        }
        lists
    }
}

/// SUB_WORKFLOW parameters: which workflow to run, or its inline definition.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubWorkflowParams {
    /// Name of a registered workflow (may hold `${...}` references).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its version (latest when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Task-to-domain mapping for the child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_to_domain: Option<IndexMap<String, String>>,
    /// An inline definition, or a `${...}` expression that yields one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_definition: Option<InlineWorkflow>,
    /// Idempotency key of the child start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// `RETURN_EXISTING` or `FAIL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_strategy: Option<String>,
    /// Child priority: 0-99 or a `${...}` expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Value>,
    /// Fields this model does not know, kept as written.
    #[serde(flatten)]
    pub extra: JsonMap,
}

/// `subWorkflowParam.workflowDefinition`: an inline definition or an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum InlineWorkflow {
    /// A definition written in place.
    Definition(Box<WorkflowDef>),
    /// A string such as `${workflow.input.def}` resolved at run time.
    Expression(String),
}

impl Serialize for InlineWorkflow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            InlineWorkflow::Definition(def) => def.serialize(serializer),
            InlineWorkflow::Expression(expr) => serializer.serialize_str(expr),
        }
    }
}

impl<'de> Deserialize<'de> for InlineWorkflow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match Value::deserialize(deserializer)? {
            Value::String(expr) => Ok(InlineWorkflow::Expression(expr)),
            value @ Value::Object(_) => serde_path_to_error::deserialize(value)
                .map(|def| InlineWorkflow::Definition(Box::new(def)))
                .map_err(|e| {
                    let path = crate::pointer::from_serde_path(e.path());
                    D::Error::custom(format_args!("at {path}: {}", e.inner()))
                }),
            other => Err(D::Error::custom(format_args!(
                "expected a workflow definition object or a string, found {}",
                crate::pointer::kind(&other)
            ))),
        }
    }
}
