//! The embedded host: compiled workflows run on the local engine, with the very task handlers
//! the Lambda functions wrap called in-process, and executions kept in SQLite.
//!
//! `ocflow run` and the end-to-end tests use it; what it wires:
//!
//! | placeholder in the ASL | locally |
//! |---|---|
//! | `${HttpTaskFunctionArn}` | [`ocflow_tasks::http::handle`] |
//! | `${ScriptTaskFunctionArn}` | [`ocflow_tasks::script::handle`] (on a blocking thread) |
//! | `${StateMachineArn_<name>}` | the compiled child machine, run by the same engine |
//! | `${WorkerQueueUrl_<type>}`, `${ExternalTaskQueueUrl}` | with [`LocalOptions::worker_queues`] (`ocflow serve`): queued in [`WorkerQueues`] for workers to poll and complete ([`LocalHost::poll_tasks`], [`LocalHost::update_task`]); without (a one-shot run): the task fails with `States.Runtime` saying so |
//! | `${EventQueueUrl_*}`, `${EventTopicArn_*}`, `${EventBusArn_*}`, `${EventTaskFunctionArn}` | published to the local event log ([`LocalHost::events`]) |
//!
//! Definitions registered through [`LocalHost::register_definition`] are kept in the same SQLite
//! file ([`Catalog`]) and compiled again by [`LocalHost::load_definitions`] after a restart.
//!
//! ```no_run
//! # async fn example(compiled: ocflow_compiler::CompiledWorkflow) -> Result<(), ocflow_local::Error> {
//! use ocflow_local::{LocalHost, LocalOptions};
//!
//! let host = LocalHost::open(LocalOptions::default())?;
//! host.register(&compiled)?;
//! let execution = host.run(&compiled.name, serde_json::json!({"orderId": "o-1"}), Default::default()).await?;
//! println!("{} {}", execution.status, execution.output);
//! # Ok(()) }
//! ```

mod catalog;
pub mod defs;
mod logs;
mod queues;
mod sidecar;

pub use catalog::Catalog;
pub use logs::{LogLine, MAX_LINES_PER_TASK, TaskLogs};
pub use queues::{DEFAULT_VISIBILITY, PolledTask, WorkerQueues};
pub use sidecar::TableError;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocflow_compiler::{CompileEnv, CompiledWorkflow};
use ocflow_control::worker::{Answer, TaskResult};
use ocflow_dsl::model::WorkflowDef;
use ocflow_engine::conductor::Workflow;
use ocflow_engine::{
    BoxFuture, Clock, Engine, Failure, Invocation, LambdaInvoker, MachineDefinition,
    ResourceInvoker, StartOptions, SystemClock,
};
use ocflow_protocol::payload::{ScriptRequest, WorkerMessage};
use ocflow_protocol::placeholders::{self, HTTP_TASK_FUNCTION, SCRIPT_TASK_FUNCTION};
use ocflow_store::{Outbox, OutboxWrite, SqliteStore};
use ocflow_tasks::TaskFailure;
use ocflow_tasks::http::{self, HttpContext};
use ocflow_tasks::registry::Registry;
use ocflow_tasks::script::{self, ScriptContext};
use serde_json::{Value, json};

/// How long [`LocalHost::answer_task`] waits for a resuming run to wait on its task again.
const RESUMING_PATIENCE: Duration = Duration::from_secs(10);

/// Local names the placeholders resolve to.
const HTTP_FUNCTION: &str = "http-task";
const SCRIPT_FUNCTION: &str = "script-task";
const EVENT_FUNCTION: &str = "event-task";

/// Errors of the embedded host.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQLite store could not be opened.
    #[error("cannot open the execution store: {0}")]
    Store(#[from] ocflow_store::Error),
    /// A compiled machine could not be prepared for the engine.
    #[error("cannot prepare the state machine: {0}")]
    Machine(String),
    /// The engine refused a machine or an execution.
    #[error(transparent)]
    Engine(#[from] ocflow_engine::Error),
    /// The host's own tables (worker queues, definitions) failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// A workflow definition does not compile; one message per diagnostic.
    #[error("workflow '{name}' does not compile: {}", messages.join("; "))]
    Compile {
        /// The workflow.
        name: String,
        /// The compiler's diagnostics.
        messages: Vec<String>,
    },
    /// A workflow definition is invalid; one message per error.
    #[error("workflow '{name}' is invalid: {}", messages.join("; "))]
    Invalid {
        /// The workflow.
        name: String,
        /// The validator's errors.
        messages: Vec<String>,
    },
    /// This host was opened without worker queues (a one-shot run).
    #[error("this host has no worker queues; open it with `worker_queues` set")]
    NoWorkerQueues,
    /// No queued task has this id: unknown, or already completed.
    #[error("no pending task '{0}'")]
    UnknownTask(String),
    /// A worker's result cannot be sent.
    #[error(transparent)]
    Result(#[from] ocflow_control::worker::Error),
    /// A completed workflow whose definition says `"restartable": false` cannot be restarted.
    #[error("Workflow: {0} is non-restartable")]
    NotRestartable(String),
}

/// How the embedded host is set up.
#[derive(Clone)]
pub struct LocalOptions {
    /// The SQLite file; an in-memory store when absent.
    pub db: Option<PathBuf>,
    /// The OCF service registry `ocf://` URIs resolve through.
    pub registry: Registry,
    /// Refuse hosts outside the registry and allowlist, as on Lambda.
    pub strict_hosts: bool,
    /// The clock (a virtual one in tests).
    pub clock: Arc<dyn Clock>,
    /// Queue worker tasks for workers to poll (`ocflow serve`), instead of failing them as a
    /// one-shot run without workers must.
    pub worker_queues: bool,
    /// How long a polled worker task stays hidden before it is handed out again.
    pub visibility_timeout: Duration,
    /// Definitions compilations may refer to besides the registered ones (`--defs`).
    pub definitions: CompileEnv,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            db: None,
            registry: Registry::default(),
            strict_hosts: false,
            clock: Arc::new(SystemClock),
            worker_queues: false,
            visibility_timeout: DEFAULT_VISIBILITY,
            definitions: CompileEnv::new(),
        }
    }
}

/// A workflow [`LocalHost::load_definitions`] compiled and registered, or why it could not.
pub type LoadedDefinition = (String, Result<(), Error>);

/// One message published by an EVENT task.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedEvent {
    /// The placeholder key of the sink (`EventQueueUrl_orders`, ...).
    pub sink: String,
    /// What was published (the Task's `Arguments`).
    pub message: Value,
}

/// The local engine wired to the in-process task handlers.
pub struct LocalHost {
    engine: Engine,
    events: Arc<Mutex<Vec<PublishedEvent>>>,
    store: Arc<SqliteStore>,
    catalog: Catalog,
    queues: Option<WorkerQueues>,
    logs: TaskLogs,
    definitions: CompileEnv,
    /// Workflows whose every version was unregistered: their machines stay with the engine
    /// (running executions need them) but new starts are refused.
    retired: Mutex<HashSet<String>>,
}

impl LocalHost {
    /// Opens the store and wires the handlers.
    pub fn open(options: LocalOptions) -> Result<LocalHost, Error> {
        http::install_tls_provider();
        let store = Arc::new(match &options.db {
            Some(path) => SqliteStore::open(path)?,
            None => SqliteStore::in_memory()?,
        });
        let http_context = Arc::new(
            HttpContext::builder()
                .registry(options.registry.clone())
                .strict_hosts(options.strict_hosts)
                .build(),
        );
        let script_context = Arc::new(ScriptContext::default());
        let events = Arc::new(Mutex::new(Vec::new()));
        let tables = sidecar::Tables::in_store(&store)?;
        let queues = options.worker_queues.then(|| {
            WorkerQueues::new(
                tables.clone(),
                Arc::clone(&options.clock),
                options.visibility_timeout,
            )
        });
        if let (Some(queues), true) = (&queues, tables.in_store_file()) {
            // A fresh store: no outbox set yet.
            let _ = store.set_outbox(Arc::new(QueueOutbox(queues.clone())));
        }
        let invoker = LambdaInvoker::new()
            .function(HTTP_FUNCTION, move |payload| {
                let context = Arc::clone(&http_context);
                async move { http::handle(&context, payload).await.map_err(failure) }
            })
            .function(SCRIPT_FUNCTION, move |payload| {
                let context = Arc::clone(&script_context);
                async move { run_script(context, payload).await }
            })
            .with_fallback(Arc::new(LocalResources {
                events: Arc::clone(&events),
                queues: queues.clone(),
            }));
        let engine = Engine::builder()
            .store(Arc::clone(&store) as Arc<dyn ocflow_engine::store::ExecutionStore>)
            .clock(options.clock)
            .invoker(Arc::new(invoker))
            .substitutions(fixed_substitutions())
            .build();
        Ok(LocalHost {
            engine,
            events,
            store,
            catalog: Catalog::new(tables.clone()),
            queues,
            logs: TaskLogs::new(tables),
            definitions: options.definitions,
            retired: Mutex::new(HashSet::new()),
        })
    }

    /// Registers a compiled workflow and every child machine it starts, under their machine
    /// names; `${StateMachineArn_<name>}` placeholders are replaced by those names.
    pub fn register(&self, compiled: &CompiledWorkflow) -> Result<(), Error> {
        let all: Vec<&CompiledWorkflow> = std::iter::once(compiled)
            .chain(compiled.children.values())
            .collect();
        let children: Vec<(String, String)> = all
            .iter()
            .map(|m| (placeholders::state_machine_arn(&m.name), m.name.clone()))
            .collect();
        for machine in all {
            let mut text = serde_json::to_string(&machine.machine).map_err(machine_error)?;
            for (placeholder, name) in &children {
                text = text.replace(placeholder.as_str(), name);
            }
            let asl = serde_json::from_str(&text).map_err(machine_error)?;
            let definition = MachineDefinition::new(asl).with_task_map(machine.task_map.clone());
            self.engine.register(&machine.name, definition)?;
        }
        Ok(())
    }

    /// Starts `workflow` and returns its execution id.
    pub fn start(
        &self,
        workflow: &str,
        input: Value,
        options: StartOptions,
    ) -> Result<String, Error> {
        self.startable(workflow)?;
        Ok(self.engine.start(workflow, input, options)?)
    }

    /// Starts `workflow` as [`start`](Self::start) does, but writes the execution with its
    /// first events in one write ([`Engine::launch`]): returns its id once that write is done.
    pub async fn launch(
        &self,
        workflow: &str,
        input: Value,
        options: StartOptions,
    ) -> Result<String, Error> {
        self.startable(workflow)?;
        Ok(self.engine.launch(workflow, input, options).await?)
    }

    /// Runs `workflow` to its end and returns the execution as Conductor shows it.
    pub async fn run(
        &self,
        workflow: &str,
        input: Value,
        options: StartOptions,
    ) -> Result<Workflow, Error> {
        let id = self.start(workflow, input, options)?;
        self.engine.wait(&id).await?;
        self.workflow(&id)
    }

    /// Conductor's retry: a failed, timed out or terminated workflow runs again from the tasks
    /// that did not complete, under the same id (a Step Functions redrive, see
    /// [`Engine::redrive`]); a retried worker task is queued again with a new task token.
    /// Returns how many times the workflow has been retried.
    pub fn retry(&self, execution_id: &str) -> Result<u32, Error> {
        Ok(self.engine.redrive(execution_id)?)
    }

    /// Conductor's restart: an ended workflow runs again from the beginning with its input,
    /// under the same id ([`Engine::restart`]); with `use_latest_definition`, on the latest
    /// registered version of its definition.
    /// A COMPLETED workflow whose definition (the latest one with `use_latest_definition`)
    /// says `"restartable": false` is refused ([`Error::NotRestartable`]), as in Conductor.
    pub fn restart(&self, execution_id: &str, use_latest_definition: bool) -> Result<(), Error> {
        let workflow = self.workflow(execution_id)?;
        if workflow.status == "COMPLETED" {
            let version = (!use_latest_definition).then_some(i64::from(workflow.workflow_version));
            let def = self.catalog.workflow(&workflow.workflow_name, version)?;
            if def.is_some_and(|def| !def.restartable()) {
                return Err(Error::NotRestartable(execution_id.to_owned()));
            }
        }
        Ok(self.engine.restart(execution_id, use_latest_definition)?)
    }

    /// The execution as Conductor shows it, now.
    pub fn workflow(&self, execution_id: &str) -> Result<Workflow, Error> {
        Ok(self.engine.conductor_workflow(execution_id)?)
    }

    /// The engine, for what this host does not wrap (tokens, history, stop).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The execution store, for search and counts.
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    /// The registered definitions.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The task logs.
    pub fn task_logs(&self) -> &TaskLogs {
        &self.logs
    }

    /// Refuses a start of a workflow whose every version was unregistered.
    fn startable(&self, workflow: &str) -> Result<(), Error> {
        if self.retired().contains(workflow) {
            return Err(ocflow_engine::Error::UnknownMachine(workflow.to_owned()).into());
        }
        Ok(())
    }

    fn retired(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.retired.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Unregisters the workflow `name` at `version`; `false` if it was not registered.
    /// Running executions keep their machine. When it was the latest version, the version
    /// now latest is compiled and registered again (it is what starts run); when it was the
    /// last one, starts of `name` are refused until a definition is registered again.
    pub fn unregister_definition(&self, name: &str, version: i64) -> Result<bool, Error> {
        let latest = self.catalog.workflow(name, None)?.map(|d| d.version());
        if !self.catalog.remove_workflow(name, version)? {
            return Ok(false);
        }
        if latest == Some(version) {
            match self.catalog.workflow(name, None)? {
                Some(previous) => {
                    self.register_definition(&previous)?;
                }
                None => {
                    self.retired().insert(name.to_owned());
                }
            }
        }
        Ok(true)
    }

    /// The worker queues, when the host was opened with [`LocalOptions::worker_queues`].
    pub fn worker_queues(&self) -> Option<&WorkerQueues> {
        self.queues.as_ref()
    }

    /// Compiles a workflow definition against the registered definitions (and
    /// [`LocalOptions::definitions`]), registers its machines, and keeps the definition. A
    /// definition that is invalid or does not compile is neither registered nor kept.
    pub fn register_definition(&self, def: &WorkflowDef) -> Result<CompiledWorkflow, Error> {
        let errors: Vec<String> = ocflow_dsl::validate(def)
            .iter()
            .filter(|d| d.is_error())
            .map(ToString::to_string)
            .collect();
        if !errors.is_empty() {
            return Err(Error::Invalid {
                name: def.name.clone(),
                messages: errors,
            });
        }
        let mut env = self.catalog.compile_env(&self.definitions)?;
        env.add_workflow(def.clone());
        let compiled = compile(def, &env)?;
        self.register(&compiled)?;
        self.catalog.put_workflow(def)?;
        self.retired().remove(&def.name);
        Ok(compiled)
    }

    /// Compiles and registers the latest version of every kept workflow definition (on start,
    /// before resuming executions). Returns each workflow's name with its outcome: one broken
    /// definition does not keep the others from loading.
    pub fn load_definitions(&self) -> Result<Vec<LoadedDefinition>, Error> {
        let env = self.catalog.compile_env(&self.definitions)?;
        let mut names: Vec<String> = self
            .catalog
            .workflows()?
            .into_iter()
            .map(|d| d.name)
            .collect();
        names.dedup();
        Ok(names
            .into_iter()
            .map(|name| {
                let outcome = match env.workflow(&name, None) {
                    Some(def) => compile(def, &env).and_then(|c| self.register(&c)),
                    None => Ok(()),
                };
                (name, outcome)
            })
            .collect())
    }

    /// Hands out up to `count` queued tasks of `task_type`, waiting up to `timeout` for one.
    /// Tasks whose execution no longer waits on them (stopped, timed out) are dropped.
    pub async fn poll_tasks(
        &self,
        task_type: &str,
        count: usize,
        worker_id: Option<&str>,
        timeout: Duration,
    ) -> Result<Vec<PolledTask>, Error> {
        let queues = self.queues.as_ref().ok_or(Error::NoWorkerQueues)?;
        let store = Arc::clone(self.engine.store());
        let in_store_file = self.store.path().is_some();
        let is_live = move |conn: &rusqlite::Connection, message: &WorkerMessage| {
            if in_store_file {
                // The poll runs in the store's writing transaction, which may hold the task's
                // token uncommitted (the outbox writes both at once): the store's own reads
                // would not see it yet, this connection does.
                return SqliteStore::token_pending_in(conn, &message.task_token).unwrap_or(true);
            }
            store
                .pending_tokens(&message.workflow_id)
                .map(|tokens| tokens.iter().any(|t| t.token == message.task_token))
                .unwrap_or(true)
        };
        Ok(queues
            .poll_wait(task_type, count, worker_id, timeout, &is_live)
            .await?)
    }

    /// Applies a worker's result to the queued task `task_id`: completes or fails its state,
    /// or (`IN_PROGRESS`) records a heartbeat and hands the task out again after
    /// `callbackAfterSeconds`.
    pub fn update_task(&self, task_id: &str, result: &TaskResult) -> Result<(), Error> {
        let queues = self.queues.as_ref().ok_or(Error::NoWorkerQueues)?;
        let message = queues
            .find(task_id)?
            .ok_or_else(|| Error::UnknownTask(task_id.to_owned()))?;
        let token = &message.task_token;
        let sent = match Answer::from_result(result)? {
            Answer::Success { output } => {
                let output = serde_json::from_str(&output).unwrap_or(Value::Null);
                self.engine.send_task_success(token, output)
            }
            Answer::Failure { error, cause } => self.engine.send_task_failure(token, error, &cause),
            Answer::Heartbeat { visibility_seconds } => {
                let beat = self.engine.send_task_heartbeat(token);
                if beat.is_ok() {
                    queues.hide(token, Duration::from_secs(visibility_seconds))?;
                    return Ok(());
                }
                beat
            }
        };
        match sent {
            // Its execution is unfinished but its run does not wait here (yet): the task stays
            // queued, so that the answer is not lost and can be given again.
            Err(e @ ocflow_engine::Error::NotRunning(_)) => Err(e.into()),
            sent => {
                // Answered, or no longer awaited: either way the task leaves its queue.
                queues.remove(token)?;
                match sent {
                    Err(ocflow_engine::Error::UnknownToken) => {
                        Err(Error::UnknownTask(task_id.to_owned()))
                    }
                    other => Ok(other?),
                }
            }
        }
    }

    /// As [`LocalHost::update_task`], for an answer that may come while its execution is being
    /// resumed here (after `ocflow serve` restarted, say): it waits, up to
    /// `RESUMING_PATIENCE`, for the resumed run to wait on the task again, then applies it.
    pub async fn answer_task(&self, task_id: &str, result: &TaskResult) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + RESUMING_PATIENCE;
        loop {
            match self.update_task(task_id, result) {
                Err(Error::Engine(ocflow_engine::Error::NotRunning(id)))
                    if self.engine.is_running_here(&id)
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                other => return other,
            }
        }
    }

    /// Everything EVENT tasks published so far.
    pub fn events(&self) -> Vec<PublishedEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Substitutions for the function placeholders. Child machine ARNs are filled in by
/// [`LocalHost::register`]; queue and sink placeholders stay as they are and are recognised by
/// [`LocalResources`].
fn fixed_substitutions() -> BTreeMap<String, String> {
    let key = |placeholder: &str| {
        placeholders::key(placeholder)
            .unwrap_or_default()
            .to_owned()
    };
    BTreeMap::from([
        (key(HTTP_TASK_FUNCTION), HTTP_FUNCTION.to_owned()),
        (key(SCRIPT_TASK_FUNCTION), SCRIPT_FUNCTION.to_owned()),
        (
            key(placeholders::EVENT_TASK_FUNCTION),
            EVENT_FUNCTION.to_owned(),
        ),
    ])
}

fn compile(def: &WorkflowDef, env: &CompileEnv) -> Result<CompiledWorkflow, Error> {
    ocflow_compiler::compile(def, env).map_err(|errors| Error::Compile {
        name: def.name.clone(),
        messages: errors.iter().map(ToString::to_string).collect(),
    })
}

fn machine_error(e: serde_json::Error) -> Error {
    Error::Machine(e.to_string())
}

fn failure(task_failure: TaskFailure) -> Failure {
    Failure::new(task_failure.error, task_failure.cause)
}

/// Runs a script request on a blocking thread (scripts are CPU-bound).
async fn run_script(context: Arc<ScriptContext>, payload: Value) -> Result<Value, Failure> {
    let request: ScriptRequest = serde_json::from_value(payload).map_err(|e| {
        Failure::new(
            ocflow_protocol::errors::BAD_INPUT,
            format!("invalid script request: {e}"),
        )
    })?;
    tokio::task::spawn_blocking(move || script::handle(&context, request))
        .await
        .map_err(|e| {
            Failure::new(
                ocflow_engine::names::RUNTIME,
                format!("script evaluation stopped: {e}"),
            )
        })?
        .map_err(failure)
}

/// Resources other than the task functions: worker and external queues (queued with worker
/// queues, refused in a one-shot run) and event sinks (recorded).
struct LocalResources {
    events: Arc<Mutex<Vec<PublishedEvent>>>,
    queues: Option<WorkerQueues>,
}

impl ResourceInvoker for LocalResources {
    fn invoke(&self, invocation: Invocation) -> BoxFuture<'static, Result<Value, Failure>> {
        let result = self.handle(&invocation);
        Box::pin(async move { result })
    }
}

impl LocalResources {
    fn handle(&self, invocation: &Invocation) -> Result<Value, Failure> {
        let (target, key) = target_of(invocation);
        if let (Some(queues), true) = (&self.queues, is_worker_queue(key)) {
            return queue_message(queues, invocation);
        }
        if let Some(task_type) = key.strip_prefix("WorkerQueueUrl_") {
            return Err(Failure::new(
                ocflow_engine::names::RUNTIME,
                format!(
                    "state '{}' is a worker task (type '{task_type}'): `ocflow run` has no workers; \
                 run the workflow with `ocflow serve` and let a worker poll /api/tasks/poll/{task_type}",
                    invocation.state
                ),
            ));
        }
        if key == "ExternalTaskQueueUrl" {
            return Err(Failure::new(
                ocflow_engine::names::RUNTIME,
                format!(
                    "state '{}' waits for an external signal (WAIT without duration, HUMAN or \
                 asyncComplete): `ocflow run` cannot complete it; use `ocflow serve`",
                    invocation.state
                ),
            ));
        }
        let is_event_sink = ["EventQueueUrl_", "EventTopicArn_", "EventBusArn_"]
            .iter()
            .any(|p| key.starts_with(p))
            || target == EVENT_FUNCTION;
        if is_event_sink {
            self.events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(PublishedEvent {
                    sink: key.to_owned(),
                    message: invocation.arguments.clone(),
                });
            return Ok(
                json!({ "MessageId": format!("local-{}-{}", invocation.execution_id, invocation.state) }),
            );
        }
        Err(Failure::new(
            ocflow_engine::names::RUNTIME,
            format!(
                "state '{}': resource '{}' is not available locally",
                invocation.state, invocation.resource
            ),
        ))
    }
}

/// What a resource call targets (its queue, topic, function or event bus), and that target's
/// placeholder name without `${...}` (`WorkerQueueUrl_<type>`, ...) or the target itself.
fn target_of(invocation: &Invocation) -> (&str, &str) {
    let target = ["QueueUrl", "TopicArn", "FunctionName"]
        .iter()
        .find_map(|k| invocation.arguments.get(*k).and_then(Value::as_str))
        .or_else(|| invocation.arguments["Entries"][0]["EventBusName"].as_str())
        .unwrap_or_default();
    let key = target
        .strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(target);
    (target, key)
}

/// Whether a target's placeholder name is a worker (or external task) queue.
fn is_worker_queue(key: &str) -> bool {
    key.starts_with("WorkerQueueUrl_") || key == "ExternalTaskQueueUrl"
}

/// The host's worker queues as the store's outbox: a worker task is queued in the same write
/// as its token (one write fewer per task, and no token without its task after a crash).
struct QueueOutbox(WorkerQueues);

impl Outbox for QueueOutbox {
    fn prepare(&self, message: &Invocation) -> Option<OutboxWrite> {
        if !is_worker_queue(target_of(message).1) {
            return None;
        }
        // A message that is not one ocflow sends goes to the invoker, which says so.
        let message = worker_message(message).ok()?;
        Some(Box::new(self.0.prepare_push(&message)))
    }

    fn committed(&self) {
        self.0.wake_pollers();
    }
}

/// Queues the message of a worker (or external) task state.
fn queue_message(queues: &WorkerQueues, invocation: &Invocation) -> Result<Value, Failure> {
    let message = worker_message(invocation)?;
    queues.push(&message).map_err(|e| {
        Failure::new(
            ocflow_engine::names::RUNTIME,
            format!("state '{}': {e}", invocation.state),
        )
    })?;
    Ok(json!({ "MessageId": message.task_token }))
}

/// The worker task message a worker (or external) task state sends.
fn worker_message(invocation: &Invocation) -> Result<WorkerMessage, Failure> {
    let body = &invocation.arguments["MessageBody"];
    let parsed = match body {
        Value::String(text) => serde_json::from_str::<WorkerMessage>(text),
        other => serde_json::from_value::<WorkerMessage>(other.clone()),
    };
    parsed.map_err(|e| {
        Failure::new(
            ocflow_engine::names::RUNTIME,
            format!(
                "state '{}': the worker task message is not one ocflow sends: {e}",
                invocation.state
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn media() -> WorkflowDef {
        serde_json::from_value(json!({
            "name": "media", "version": 1, "schemaVersion": 2,
            "tasks": [{"name": "encode", "taskReferenceName": "enc", "type": "SIMPLE",
                       "inputParameters": {"file": "${workflow.input.file}"}}],
            "outputParameters": {"size": "${enc.output.size}"}
        }))
        .unwrap()
    }

    fn serving(db: Option<PathBuf>) -> LocalHost {
        LocalHost::open(LocalOptions {
            db,
            worker_queues: true,
            ..LocalOptions::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_worker_completes_a_queued_task() {
        let host = serving(None);
        host.register_definition(&media()).unwrap();
        let id = host
            .start("media", json!({"file": "a.mp4"}), StartOptions::default())
            .unwrap();
        let polled = host
            .poll_tasks("encode", 5, Some("w-1"), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(polled.len(), 1);
        let message = &polled[0].message;
        assert_eq!(message.workflow_id, id);
        assert_eq!(message.input_data["file"], "a.mp4");
        let progress: TaskResult =
            serde_json::from_value(json!({"status": "IN_PROGRESS", "callbackAfterSeconds": 60}))
                .unwrap();
        host.update_task(&message.task_id, &progress).unwrap();
        let done: TaskResult =
            serde_json::from_value(json!({"status": "COMPLETED", "outputData": {"size": 7}}))
                .unwrap();
        host.update_task(&message.task_id, &done).unwrap();
        host.engine().wait(&id).await.unwrap();
        let workflow = host.workflow(&id).unwrap();
        assert_eq!(workflow.status, "COMPLETED");
        assert_eq!(workflow.output["size"], 7);
        assert!(matches!(
            host.update_task(&message.task_id, &done),
            Err(Error::UnknownTask(_))
        ));
    }

    #[tokio::test]
    async fn a_one_shot_host_fails_worker_tasks_and_a_restart_keeps_definitions() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("host.db");
        let one_shot = LocalHost::open(LocalOptions {
            db: Some(db.clone()),
            ..LocalOptions::default()
        })
        .unwrap();
        one_shot.register_definition(&media()).unwrap();
        let run = one_shot
            .run("media", json!({}), StartOptions::default())
            .await
            .unwrap();
        assert_eq!(run.status, "FAILED");
        assert!(
            run.reason_for_incompletion
                .unwrap_or_default()
                .contains("ocflow serve")
        );
        drop(one_shot);

        let restarted = serving(Some(db));
        let loaded = restarted.load_definitions().unwrap();
        assert_eq!(loaded.len(), 1);
        assert!(loaded[0].1.is_ok());
        assert!(
            restarted
                .start("media", json!({}), StartOptions::default())
                .is_ok()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_a_file_a_worker_task_is_queued_with_its_token_for_a_waiting_poll() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("host.db");
        let host = Arc::new(serving(Some(db.clone())));
        host.register_definition(&media()).unwrap();
        let poll = {
            let host = Arc::clone(&host);
            tokio::spawn(async move {
                host.poll_tasks("encode", 1, Some("w-1"), Duration::from_secs(10))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let id = host
            .start("media", json!({"file": "b.mp4"}), StartOptions::default())
            .unwrap();
        let polled = poll.await.unwrap().unwrap();
        assert_eq!(polled.len(), 1);
        assert_eq!(polled[0].message.workflow_id, id);
        // The token and its task, as another process sees the file.
        let file = rusqlite::Connection::open(&db).unwrap();
        let count = |sql: &str| -> i64 { file.query_row(sql, [], |row| row.get(0)).unwrap() };
        assert_eq!(count("SELECT count(*) FROM tokens"), 1);
        assert_eq!(count("SELECT count(*) FROM local_worker_tasks"), 1);
        let token: String = file
            .query_row("SELECT token FROM tokens", [], |row| row.get(0))
            .unwrap();
        assert_eq!(polled[0].message.task_token, token);
    }

    #[tokio::test]
    async fn a_decision_task_shows_its_case_as_conductor_does() {
        let host = LocalHost::open(LocalOptions::default()).unwrap();
        let def: WorkflowDef = serde_json::from_value(json!({
            "name": "decide", "version": 1, "schemaVersion": 2,
            "tasks": [{
                "name": "decide", "taskReferenceName": "decide", "type": "DECISION",
                "caseValueParam": "kind",
                "inputParameters": {"kind": "${workflow.input.kind}", "note": "fixed"},
                "decisionCases": {
                    "a": [{"name": "set_a", "taskReferenceName": "set_a", "type": "SET_VARIABLE",
                           "inputParameters": {"picked": "a"}}],
                    "b": []
                },
                "defaultCase": []
            }],
            "outputParameters": {"picked": "${workflow.variables.picked}"}
        }))
        .unwrap();
        host.register_definition(&def).unwrap();
        let runs = [
            (
                "a",
                json!({"kind": "a", "note": "fixed", "case": "a", "hasChildren": "true"}),
            ),
            ("b", json!({"kind": "b", "note": "fixed", "case": "b"})),
            ("z", json!({"kind": "z", "note": "fixed", "case": "z"})),
        ];
        for (kind, input) in runs {
            let workflow = host
                .run("decide", json!({"kind": kind}), StartOptions::default())
                .await
                .unwrap();
            assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
            let decide = workflow
                .tasks
                .iter()
                .find(|t| t.reference_task_name == "decide")
                .unwrap();
            assert_eq!(decide.task_type, "DECISION");
            assert_eq!(decide.input_data, input, "{kind}");
            assert_eq!(decide.output_data, json!({"caseOutput": [kind]}), "{kind}");
        }
    }

    #[tokio::test]
    async fn a_last_set_variable_or_noop_outputs_nothing_as_in_conductor() {
        let host = LocalHost::open(LocalOptions::default()).unwrap();
        for last in ["SET_VARIABLE", "NOOP"] {
            let def: WorkflowDef = serde_json::from_value(json!({
                "name": format!("last_{last}"), "version": 1, "schemaVersion": 2,
                "tasks": [
                    {"name": "calc", "taskReferenceName": "calc", "type": "INLINE",
                     "inputParameters": {"evaluatorType": "javascript", "expression": "1 + 2"}},
                    {"name": "last", "taskReferenceName": "last", "type": last,
                     "inputParameters": {"x": "${calc.output.result}"}}
                ],
                "outputParameters": {"r": "${calc.output.result}"}
            }))
            .unwrap();
            host.register_definition(&def).unwrap();
            let workflow = host
                .run(&def.name, json!({}), StartOptions::default())
                .await
                .unwrap();
            assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
            assert_eq!(workflow.output, json!({"r": 3}));
            assert_eq!(workflow.tasks[0].output_data, json!({"result": 3}));
            assert_eq!(
                workflow.tasks[0].input_data,
                json!({"evaluatorType": "javascript", "expression": "1 + 2"}),
                "an INLINE task's input is its inputParameters, not the script request"
            );
            assert_eq!(workflow.tasks[1].task_type, last);
            assert_eq!(workflow.tasks[1].output_data, json!({}), "{last}");
            assert_eq!(workflow.tasks[1].input_data, json!({"x": 3}), "{last}");
        }
    }

    #[tokio::test]
    async fn scripts_read_the_whole_task_input_as_in_conductor() {
        let host = LocalHost::open(LocalOptions::default()).unwrap();
        let def: WorkflowDef = serde_json::from_value(json!({
            "name": "whole_input", "version": 1, "schemaVersion": 2,
            "tasks": [
                {"name": "jq", "taskReferenceName": "jq", "type": "JSON_JQ_TRANSFORM",
                 "inputParameters": {"queryExpression": "keys", "a": 1}},
                {"name": "js", "taskReferenceName": "js", "type": "INLINE",
                 "inputParameters": {"evaluatorType": "graaljs",
                                     "expression": "Object.keys($).sort().join(',')", "a": 1}}
            ],
            "outputParameters": {"jq": "${jq.output.result}", "js": "${js.output.result}"}
        }))
        .unwrap();
        host.register_definition(&def).unwrap();
        let workflow = host
            .run("whole_input", json!({}), StartOptions::default())
            .await
            .unwrap();
        assert_eq!(
            workflow.output,
            json!({"jq": ["a", "queryExpression"], "js": "a,evaluatorType,expression"})
        );
        assert_eq!(
            workflow.tasks[0].input_data,
            json!({"queryExpression": "keys", "a": 1})
        );
    }

    #[tokio::test]
    async fn a_failed_branch_leaves_the_fork_completed_and_its_join_canceled() {
        let host = LocalHost::open(LocalOptions::default()).unwrap();
        let def: WorkflowDef = serde_json::from_value(json!({
            "name": "fork_fails", "version": 1, "schemaVersion": 2,
            "tasks": [
                {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [
                    [{"name": "ok", "taskReferenceName": "ok", "type": "INLINE",
                      "inputParameters": {"evaluatorType": "javascript", "expression": "1"}}],
                    [{"name": "bad", "taskReferenceName": "bad", "type": "INLINE",
                      "inputParameters": {"evaluatorType": "javascript",
                                          "expression": "(function () { throw new Error('boom'); })()"}}]
                ]},
                {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["ok", "bad"]}
            ]
        }))
        .unwrap();
        host.register_definition(&def).unwrap();
        let workflow = host
            .run("fork_fails", json!({}), StartOptions::default())
            .await
            .unwrap();
        assert_eq!(workflow.status, "FAILED");
        let status = |reference: &str| {
            let task = workflow
                .tasks
                .iter()
                .find(|t| t.reference_task_name == reference)
                .unwrap_or_else(|| panic!("no task {reference}: {:#?}", workflow.tasks));
            (task.task_type.as_str(), task.status.as_str())
        };
        assert_eq!(status("fork"), ("FORK_JOIN", "COMPLETED"));
        // The other branch completed, or was canceled if the failure came first.
        assert!(matches!(status("ok"), ("INLINE", "COMPLETED" | "CANCELED")));
        assert_eq!(status("bad"), ("INLINE", "FAILED"));
        assert_eq!(status("join"), ("JOIN", "CANCELED"));
    }

    #[tokio::test]
    async fn a_terminate_task_shows_its_input_and_the_output_it_ended_with() {
        let host = LocalHost::open(LocalOptions::default()).unwrap();
        let def: WorkflowDef = serde_json::from_value(json!({
            "name": "ends_early", "version": 1, "schemaVersion": 2,
            "tasks": [
                {"name": "stop", "taskReferenceName": "stop", "type": "TERMINATE",
                 "inputParameters": {"terminationStatus": "FAILED",
                                     "terminationReason": "no luck",
                                     "workflowOutput": {"n": "${workflow.input.n}"}}},
                {"name": "never", "taskReferenceName": "never", "type": "INLINE",
                 "inputParameters": {"evaluatorType": "javascript", "expression": "1"}}
            ]
        }))
        .unwrap();
        host.register_definition(&def).unwrap();
        let workflow = host
            .run("ends_early", json!({"n": 7}), StartOptions::default())
            .await
            .unwrap();
        assert_eq!(workflow.status, "FAILED");
        assert_eq!(workflow.reason_for_incompletion.as_deref(), Some("no luck"));
        assert_eq!(workflow.tasks.len(), 1, "{:#?}", workflow.tasks);
        let stop = &workflow.tasks[0];
        assert_eq!(stop.status, "COMPLETED");
        assert_eq!(
            stop.input_data,
            json!({"terminationStatus": "FAILED", "terminationReason": "no luck",
                   "workflowOutput": {"n": 7}})
        );
        assert_eq!(stop.output_data, json!({"n": 7}));
    }

    #[tokio::test]
    async fn an_answer_that_comes_while_its_execution_resumes_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("host.db");
        let (id, task_id) = {
            let host = serving(Some(db.clone()));
            host.register_definition(&media()).unwrap();
            let id = host
                .start("media", json!({"file": "c.mp4"}), StartOptions::default())
                .unwrap();
            let polled = host
                .poll_tasks("encode", 1, Some("w-1"), Duration::from_secs(5))
                .await
                .unwrap();
            (id, polled[0].message.task_id.clone())
        };
        // Restarted: the run is resumed here, but (on this one-thread runtime) it has not yet
        // run back to its wait when the worker's answer comes.
        let host = serving(Some(db));
        assert_eq!(
            host.engine().resume_all().unwrap().resumed,
            std::slice::from_ref(&id)
        );
        assert!(host.engine().is_running_here(&id));
        let done: TaskResult =
            serde_json::from_value(json!({"status": "COMPLETED", "outputData": {"size": 9}}))
                .unwrap();
        assert!(
            matches!(
                host.update_task(&task_id, &done),
                Err(Error::Engine(ocflow_engine::Error::NotRunning(_)))
            ),
            "not waiting yet"
        );
        host.answer_task(&task_id, &done).await.unwrap();
        host.engine().wait(&id).await.unwrap();
        let workflow = host.workflow(&id).unwrap();
        assert_eq!(workflow.status, "COMPLETED");
        assert_eq!(workflow.output["size"], 9);
    }

    #[tokio::test]
    async fn a_running_fork_shows_its_fork_completed_and_its_join_waiting() {
        let host = serving(None);
        let def: WorkflowDef = serde_json::from_value(json!({
            "name": "fork_waits", "version": 1, "schemaVersion": 2,
            "tasks": [
                {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [
                    [{"name": "left", "taskReferenceName": "l", "type": "SIMPLE"}],
                    [{"name": "right", "taskReferenceName": "r", "type": "SIMPLE"}]
                ]},
                {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["l", "r"]}
            ]
        }))
        .unwrap();
        host.register_definition(&def).unwrap();
        let id = host
            .start("fork_waits", json!({}), StartOptions::default())
            .unwrap();
        let mut polled = Vec::new();
        for task_type in ["left", "right"] {
            let tasks = host
                .poll_tasks(task_type, 1, None, Duration::from_secs(5))
                .await
                .unwrap();
            polled.push(tasks[0].message.task_id.clone());
        }
        // (reference, type, status) of each task, the two branches' in reference order.
        let rows = |workflow: &Workflow| -> Vec<[String; 3]> {
            let mut rows: Vec<[String; 3]> = workflow
                .tasks
                .iter()
                .map(|t| [&t.reference_task_name, &t.task_type, &t.status].map(String::clone))
                .collect();
            rows[1..3].sort();
            rows
        };
        let expected = |branches: &str, join: &str| {
            [
                ["fork", "FORK_JOIN", "COMPLETED"],
                ["l", "left", branches],
                ["r", "right", branches],
                ["join", "JOIN", join],
            ]
            .map(|row| row.map(str::to_owned))
        };
        assert_eq!(
            rows(&host.workflow(&id).unwrap()),
            expected("IN_PROGRESS", "IN_PROGRESS")
        );
        let done: TaskResult = serde_json::from_value(json!({"status": "COMPLETED"})).unwrap();
        for task_id in &polled {
            host.update_task(task_id, &done).unwrap();
        }
        host.engine().wait(&id).await.unwrap();
        let ended = host.workflow(&id).unwrap();
        assert_eq!(ended.status, "COMPLETED");
        assert_eq!(rows(&ended), expected("COMPLETED", "COMPLETED"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 8)]
    async fn polls_beside_many_starts_hand_out_every_task() {
        // Polls and starts share the store's group commit: a poll may run in the transaction
        // that is writing a task with its token, before that commits. Every task must still be
        // handed out, none dropped as if its execution no longer waited.
        let dir = tempfile::tempdir().unwrap();
        let host = Arc::new(serving(Some(dir.path().join("host.db"))));
        host.register_definition(&media()).unwrap();
        const STARTS: usize = 300;
        let total = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let pollers: Vec<_> = (0..4)
            .map(|_| {
                let (host, total) = (Arc::clone(&host), Arc::clone(&total));
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
                    while tokio::time::Instant::now() < deadline
                        && total.load(std::sync::atomic::Ordering::SeqCst) < STARTS
                    {
                        let polled = host
                            .poll_tasks("encode", 10, None, Duration::from_millis(50))
                            .await
                            .unwrap();
                        total.fetch_add(polled.len(), std::sync::atomic::Ordering::SeqCst);
                        seen.extend(polled.into_iter().map(|t| t.message.workflow_id));
                    }
                    seen
                })
            })
            .collect();
        let starts: Vec<_> = (0..STARTS)
            .map(|i| {
                let host = Arc::clone(&host);
                tokio::spawn(async move {
                    host.launch(
                        "media",
                        json!({"file": format!("{i}.mp4")}),
                        StartOptions::default(),
                    )
                    .await
                    .unwrap()
                })
            })
            .collect();
        let mut started = Vec::new();
        for start in starts {
            started.push(start.await.unwrap());
        }
        let mut handed_out = Vec::new();
        for poller in pollers {
            handed_out.extend(poller.await.unwrap());
        }
        // What the pollers missed at the end is still queued, not dropped.
        loop {
            let polled = host
                .poll_tasks("encode", 100, None, Duration::from_millis(100))
                .await
                .unwrap();
            if polled.is_empty() {
                break;
            }
            handed_out.extend(polled.into_iter().map(|t| t.message.workflow_id));
        }
        started.sort();
        handed_out.sort();
        assert_eq!(handed_out.len(), STARTS, "every task handed out once");
        assert_eq!(handed_out, started);
    }
}
