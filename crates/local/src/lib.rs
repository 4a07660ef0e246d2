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
//! | `${WorkerQueueUrl_<type>}`, `${ExternalTaskQueueUrl}` | no worker in a one-shot run: the task fails with `States.Runtime` saying so |
//! | `${EventQueueUrl_*}`, `${EventTopicArn_*}`, `${EventBusArn_*}`, `${EventTaskFunctionArn}` | published to the local event log ([`LocalHost::events`]) |
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

pub mod defs;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ocflow_compiler::CompiledWorkflow;
use ocflow_engine::conductor::Workflow;
use ocflow_engine::{
    BoxFuture, Clock, Engine, Failure, Invocation, LambdaInvoker, MachineDefinition,
    ResourceInvoker, StartOptions, SystemClock,
};
use ocflow_protocol::payload::ScriptRequest;
use ocflow_protocol::placeholders::{self, HTTP_TASK_FUNCTION, SCRIPT_TASK_FUNCTION};
use ocflow_store::SqliteStore;
use ocflow_tasks::TaskFailure;
use ocflow_tasks::http::{self, HttpContext};
use ocflow_tasks::registry::Registry;
use ocflow_tasks::script::{self, ScriptContext};
use serde_json::{Value, json};

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
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            db: None,
            registry: Registry::default(),
            strict_hosts: false,
            clock: Arc::new(SystemClock),
        }
    }
}

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
}

impl LocalHost {
    /// Opens the store and wires the handlers.
    pub fn open(options: LocalOptions) -> Result<LocalHost, Error> {
        http::install_tls_provider();
        let store = match &options.db {
            Some(path) => SqliteStore::open(path)?,
            None => SqliteStore::in_memory()?,
        };
        let http_context = Arc::new(
            HttpContext::builder()
                .registry(options.registry.clone())
                .strict_hosts(options.strict_hosts)
                .build(),
        );
        let script_context = Arc::new(ScriptContext::default());
        let events = Arc::new(Mutex::new(Vec::new()));
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
            }));
        let engine = Engine::builder()
            .store(Arc::new(store))
            .clock(options.clock)
            .invoker(Arc::new(invoker))
            .substitutions(fixed_substitutions())
            .build();
        Ok(LocalHost { engine, events })
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
        Ok(self.engine.start(workflow, input, options)?)
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

    /// The execution as Conductor shows it, now.
    pub fn workflow(&self, execution_id: &str) -> Result<Workflow, Error> {
        Ok(self.engine.conductor_workflow(execution_id)?)
    }

    /// The engine, for what this host does not wrap (tokens, history, stop).
    pub fn engine(&self) -> &Engine {
        &self.engine
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

/// Resources other than the task functions: worker and external queues (refused in a
/// one-shot run) and event sinks (recorded).
struct LocalResources {
    events: Arc<Mutex<Vec<PublishedEvent>>>,
}

impl ResourceInvoker for LocalResources {
    fn invoke(&self, invocation: Invocation) -> BoxFuture<'static, Result<Value, Failure>> {
        let result = self.handle(&invocation);
        Box::pin(async move { result })
    }
}

impl LocalResources {
    fn handle(&self, invocation: &Invocation) -> Result<Value, Failure> {
        let target = ["QueueUrl", "TopicArn", "FunctionName"]
            .iter()
            .find_map(|k| invocation.arguments.get(*k).and_then(Value::as_str))
            .or_else(|| invocation.arguments["Entries"][0]["EventBusName"].as_str())
            .unwrap_or_default();
        let key = target
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(target);
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
