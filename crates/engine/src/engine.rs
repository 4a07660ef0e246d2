//! The engine handle: register machines, start, wait, stop, resume, and complete callbacks.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use ocflow_asl::StateMachine;
use ocflow_protocol::task_map::TaskMap;
use serde_json::{Value, json};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Failure, names};
use crate::history::{EventKind, HistoryEvent};
use crate::invoker::{NoResources, ResourceInvoker};
use crate::limits::{self, MAX_PAYLOAD_BYTES};
use crate::machine::{self, Machine};
use crate::run::{Ctx, MAX_HISTORY_EVENTS, Outcome, Run, Shared, TokenMessage, Vars, lock};
use crate::store::{
    ExecutionEnd, ExecutionRecord, ExecutionReopen, ExecutionStatus, ExecutionStore, MemoryStore,
    StoreError,
};

/// A state machine to register: its ASL and, for compiled Conductor workflows, the task map.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineDefinition {
    /// The ASL document (JSONata mode).
    pub asl: StateMachine,
    /// Which state is which Conductor task, for Conductor-shaped records.
    pub task_map: Option<TaskMap>,
}

impl MachineDefinition {
    /// A definition without a task map.
    pub fn new(asl: StateMachine) -> Self {
        MachineDefinition {
            asl,
            task_map: None,
        }
    }

    /// Parses an ASL document.
    pub fn from_json(asl: &Value) -> Result<Self, serde_json::Error> {
        Ok(Self::new(serde_json::from_value(asl.clone())?))
    }

    /// Adds the compiler's task map.
    pub fn with_task_map(mut self, task_map: TaskMap) -> Self {
        self.task_map = Some(task_map);
        self
    }

    /// The form kept in [`ExecutionRecord::definition`]: `{"asl": ..., "taskMap"?: ...}`.
    pub fn to_stored(&self) -> Value {
        let mut stored = json!({"asl": self.asl});
        if let Some(task_map) = &self.task_map {
            stored["taskMap"] = serde_json::to_value(task_map).unwrap_or(Value::Null);
        }
        stored
    }

    /// Reads the form kept in [`ExecutionRecord::definition`].
    pub fn from_stored(stored: &Value) -> Result<Self, serde_json::Error> {
        let asl = serde_json::from_value(stored["asl"].clone())?;
        let task_map = match stored.get("taskMap") {
            Some(value) if !value.is_null() => Some(serde_json::from_value(value.clone())?),
            _ => None,
        };
        Ok(MachineDefinition { asl, task_map })
    }
}

/// What [`Engine::resume_all`] did.
#[derive(Debug, Default)]
pub struct Resumed {
    /// The executions resumed, oldest first.
    pub resumed: Vec<String>,
    /// The executions that could not resume, with why; they are left as they were.
    pub failed: Vec<(String, Error)>,
}

/// Options of [`Engine::start`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartOptions {
    /// The execution's name, which is its id (a Conductor workflowId); generated when absent.
    pub name: Option<String>,
    /// Conductor's correlationId.
    pub correlation_id: Option<String>,
    /// The execution that starts this one, for child executions.
    pub parent: Option<String>,
}

impl StartOptions {
    /// Options naming the execution.
    pub fn named(name: impl Into<String>) -> Self {
        StartOptions {
            name: Some(name.into()),
            ..StartOptions::default()
        }
    }
}

/// Builds an [`Engine`].
pub struct EngineBuilder {
    store: Arc<dyn ExecutionStore>,
    clock: Arc<dyn Clock>,
    invoker: Arc<dyn ResourceInvoker>,
    substitutions: BTreeMap<String, String>,
}

impl EngineBuilder {
    /// Where executions and their histories are kept (default: a [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn ExecutionStore>) -> Self {
        self.store = store;
        self
    }

    /// The clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Who runs Task resources (default: none, every call fails).
    pub fn invoker(mut self, invoker: Arc<dyn ResourceInvoker>) -> Self {
        self.invoker = invoker;
        self
    }

    /// Values for `${Key}` placeholders in registered machines, as SAM's
    /// `DefinitionSubstitutions`.
    pub fn substitutions(mut self, substitutions: BTreeMap<String, String>) -> Self {
        self.substitutions = substitutions;
        self
    }

    /// The engine.
    pub fn build(self) -> Engine {
        Engine {
            shared: Arc::new(Shared {
                store: self.store,
                clock: self.clock,
                invoker: self.invoker,
                substitutions: self.substitutions,
                machines: RwLock::new(HashMap::new()),
                runs: Mutex::new(HashMap::new()),
                waiters: Mutex::new(HashMap::new()),
            }),
        }
    }
}

/// Runs state machines in-process. Executions run as tokio tasks of the current runtime; dropping
/// the engine aborts them where they stand (their history stays in the store, ready for
/// [`Engine::resume`]).
pub struct Engine {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let machines = self
            .shared
            .machines
            .read()
            .map(|m| m.len())
            .unwrap_or_default();
        f.debug_struct("Engine")
            .field("machines", &machines)
            .field("running", &lock(&self.shared.runs).len())
            .finish()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let runs: Vec<Arc<Run>> = lock(&self.shared.runs).drain().map(|(_, r)| r).collect();
        for run in runs {
            if let Some(handle) = lock(&run.task).take() {
                handle.abort();
            }
        }
        lock(&self.shared.waiters).clear();
    }
}

impl Engine {
    /// A builder with a memory store, the system clock and no resources.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(SystemClock),
            invoker: Arc::new(NoResources),
            substitutions: BTreeMap::new(),
        }
    }

    /// Registers (or replaces) a machine under `name`, checking and pre-compiling it.
    pub fn register(&self, name: &str, definition: MachineDefinition) -> Result<(), Error> {
        let machine = prepare(&self.shared, name, &definition)?;
        self.shared
            .machines
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), Arc::new(machine));
        Ok(())
    }

    /// Starts an execution of a registered machine (by name or ARN); returns its id.
    pub fn start(
        &self,
        machine: &str,
        input: Value,
        options: StartOptions,
    ) -> Result<String, Error> {
        let found = find_machine(&self.shared, machine)
            .ok_or_else(|| Error::UnknownMachine(machine.to_owned()))?;
        start_run(&self.shared, found, input, options)
    }

    /// Starts an execution like [`start`](Self::start), but writes it with its run's first
    /// events, in one store write instead of two: resolves with its id once that write is done
    /// (the run then waits at its first task, timer or token, or has ended), or with what
    /// refused it: an id taken already ([`StoreError::AlreadyExists`](crate::store::StoreError)),
    /// a store failure. Before then, nothing of it is stored.
    pub async fn launch(
        &self,
        machine: &str,
        input: Value,
        options: StartOptions,
    ) -> Result<String, Error> {
        let found = find_machine(&self.shared, machine)
            .ok_or_else(|| Error::UnknownMachine(machine.to_owned()))?;
        launch_run(&self.shared, found, input, options).await
    }

    /// Waits for an execution to end and returns its final record.
    pub async fn wait(&self, execution_id: &str) -> Result<ExecutionRecord, Error> {
        wait_run(&self.shared, execution_id).await
    }

    /// Starts an execution and waits for it.
    pub async fn run(
        &self,
        machine: &str,
        input: Value,
        options: StartOptions,
    ) -> Result<ExecutionRecord, Error> {
        let id = self.start(machine, input, options)?;
        self.wait(&id).await
    }

    /// The execution's record as stored now.
    pub fn describe(&self, execution_id: &str) -> Result<ExecutionRecord, Error> {
        self.shared
            .store
            .execution(execution_id)?
            .ok_or_else(|| Error::UnknownExecution(execution_id.to_owned()))
    }

    /// The execution's history so far.
    pub fn history(&self, execution_id: &str) -> Result<Vec<HistoryEvent>, Error> {
        self.describe(execution_id)?;
        Ok(self.shared.store.history(execution_id)?)
    }

    /// Completes a `.waitForTaskToken` task with `output` as its result.
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), Error> {
        if limits::json_size(&output) > MAX_PAYLOAD_BYTES {
            return self.send_task_failure(
                token,
                names::DATA_LIMIT_EXCEEDED,
                "the task output is above Step Functions' limit of 262144 bytes",
            );
        }
        complete(&self.shared, token, TokenMessage::Success(output))
    }

    /// Fails a `.waitForTaskToken` task with an error name and cause.
    pub fn send_task_failure(&self, token: &str, error: &str, cause: &str) -> Result<(), Error> {
        complete(
            &self.shared,
            token,
            TokenMessage::Failure(Failure::new(error, cause)),
        )
    }

    /// Reports that the worker holding `token` is still at it (resets `HeartbeatSeconds`).
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), Error> {
        let sender = lock(&self.shared.waiters).get(token).cloned();
        match sender {
            Some(sender) => sender
                .send(TokenMessage::Heartbeat)
                .map_err(|_| Error::UnknownToken),
            None => Err(Error::UnknownToken),
        }
    }

    /// Stops a running execution (`ABORTED`), and the `.sync` children it waits on.
    pub async fn stop(&self, execution_id: &str, cause: &str) -> Result<ExecutionRecord, Error> {
        stop_run(&self.shared, execution_id, cause)?;
        self.wait(execution_id).await
    }

    /// Whether the execution runs in this engine now (started or resumed here and not ended). A
    /// resumed run re-arms its waits as its replay reaches them, so an answer to one of its
    /// tokens may come before the wait is back ([`Error::NotRunning`]); it succeeds once it is.
    pub fn is_running_here(&self, execution_id: &str) -> bool {
        lock(&self.shared.runs).contains_key(execution_id)
    }

    /// Resumes an unfinished execution found in the store, replaying its history: recorded task
    /// results, fired timers, retry delays and tokens are taken from it, then the run continues
    /// live. A no-op for an execution already running here.
    pub fn resume(&self, execution_id: &str) -> Result<(), Error> {
        resume_run(&self.shared, execution_id)
    }

    /// Redrives a `FAILED`, `TIMED_OUT` or `ABORTED` execution, as Step Functions'
    /// `RedriveExecution` does: the same execution (same id, input and stored definition) runs
    /// again from what did not succeed. `ExecutionRedriven` is appended to its history and the
    /// history is replayed: states that succeeded are not run again (their results, outputs and
    /// variables come from the history), and every state that was unfinished when the execution
    /// ended is entered again, live, with its original input and its `Retry` counters at zero.
    /// Inside a Parallel or Map only the branches and iterations that failed or were cut short
    /// run again. The machine's `TimeoutSeconds` counts from the redrive. Returns the new
    /// redrive count.
    ///
    /// Errors: [`Error::UnknownExecution`]; [`Error::StillRunning`] for an execution that has
    /// not ended; [`Error::NotRedrivable`] for a `SUCCEEDED` one, or one whose history is full.
    pub fn redrive(&self, execution_id: &str) -> Result<u32, Error> {
        redrive_run(&self.shared, execution_id)
    }

    /// Restarts an ended execution (any final status) from the beginning with its original
    /// input, under the same id, as Conductor's restart does. `ExecutionRestarted` is appended
    /// to the history, which is kept for the record; replay ignores every event before it, so
    /// every state runs again. With `use_latest_definition`, the execution runs the machine
    /// registered now under its name (and stores that definition), else the definition it ran
    /// with. The machine's `TimeoutSeconds` counts from the restart; the record's start time
    /// stays the original one.
    ///
    /// Errors: [`Error::UnknownExecution`]; [`Error::StillRunning`]; with
    /// `use_latest_definition`, [`Error::UnknownMachine`] when no machine of that name is
    /// registered.
    pub fn restart(&self, execution_id: &str, use_latest_definition: bool) -> Result<(), Error> {
        restart_run(&self.shared, execution_id, use_latest_definition)
    }

    /// Resumes every unfinished execution of the store, oldest first. One that cannot resume
    /// (its stored definition no longer parses, say) is reported in the answer and left as it
    /// is, so that it keeps none of the others from resuming. Errors only when the store
    /// cannot list the unfinished executions.
    pub fn resume_all(&self) -> Result<Resumed, Error> {
        let mut report = Resumed::default();
        for id in self.shared.store.unfinished_executions()? {
            match resume_run(&self.shared, &id) {
                Ok(()) => report.resumed.push(id),
                Err(e) => report.failed.push((id, e)),
            }
        }
        Ok(report)
    }

    /// The execution as Conductor shows a workflow, built from its history and the task map of
    /// its machine (an empty map when it has none: no tasks are listed).
    pub fn conductor_workflow(
        &self,
        execution_id: &str,
    ) -> Result<crate::conductor::Workflow, Error> {
        let record = self.describe(execution_id)?;
        let history = self.shared.store.history(execution_id)?;
        let task_map = find_machine(&self.shared, &record.machine)
            .filter(|m| m.definition == record.definition)
            .and_then(|m| m.task_map.clone())
            .or_else(|| {
                MachineDefinition::from_stored(&record.definition)
                    .ok()
                    .and_then(|d| d.task_map)
            })
            .unwrap_or_default();
        Ok(crate::conductor::workflow(&record, &history, &task_map))
    }

    /// The store this engine writes to.
    pub fn store(&self) -> &Arc<dyn ExecutionStore> {
        &self.shared.store
    }
}

fn prepare(shared: &Shared, name: &str, definition: &MachineDefinition) -> Result<Machine, Error> {
    let stored = definition.to_stored();
    let mut asl = serde_json::to_value(&definition.asl).unwrap_or(Value::Null);
    machine::substitute(&mut asl, &shared.substitutions);
    let asl: StateMachine = serde_json::from_value(asl).map_err(|e| Error::Definition {
        machine: name.to_owned(),
        message: format!("after substitution: {e}"),
    })?;
    machine::compile(name, stored, &asl, definition.task_map.clone())
}

/// A registered machine by name, by ARN (`...:stateMachine:<name>`), or by the placeholder
/// the compiler writes for it (`${StateMachineArn_<name>}`).
pub(crate) fn find_machine(shared: &Shared, target: &str) -> Option<Arc<Machine>> {
    let machines = shared.machines.read().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = machines.get(target) {
        return Some(found.clone());
    }
    if let Some((_, name)) = target.rsplit_once(":stateMachine:") {
        let name = name.split(':').next().unwrap_or(name);
        return machines.get(name).cloned();
    }
    let key = ocflow_protocol::placeholders::key(target)?;
    let wanted = key.strip_prefix("StateMachineArn_")?;
    machines
        .iter()
        .find(|(name, _)| ocflow_protocol::placeholders::sanitize(name) == wanted)
        .map(|(_, m)| m.clone())
}

/// A new execution id: a UUID version 7 (RFC 9562), the Unix time in milliseconds then random
/// bits. Ids that grow with time keep the store's indexes on them (executions, tokens, queued
/// tasks) growing at one end, where the writes of a commit share pages, instead of touching a
/// random page per start; being random below the millisecond, they stay unguessable.
fn new_execution_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let random: u128 = rand::random();
    // 48 bits of time, version 7, 12 random bits, variant 0b10, 62 random bits.
    let bits = ((millis & 0xffff_ffff_ffff) << 80)
        | (0x7 << 76)
        | (((random >> 64) & 0xfff) << 64)
        | (0b10 << 62)
        | (random & 0x3fff_ffff_ffff_ffff);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

pub(crate) fn start_run(
    shared: &Arc<Shared>,
    machine: Arc<Machine>,
    input: Value,
    options: StartOptions,
) -> Result<String, Error> {
    let (record, started) = new_execution(shared, &machine, input, options)?;
    shared
        .store
        .create_execution_with_events(&record, std::slice::from_ref(&started))?;
    let id = record.id;
    let run = Arc::new(Run::new(
        id.clone(),
        machine,
        record.input,
        record.start_time,
        vec![started],
    ));
    spawn(shared, run);
    Ok(id)
}

/// Starts an execution whose record is written with the run's first write; see
/// [`Engine::launch`].
async fn launch_run(
    shared: &Arc<Shared>,
    machine: Arc<Machine>,
    input: Value,
    options: StartOptions,
) -> Result<String, Error> {
    let (record, started) = new_execution(shared, &machine, input, options)?;
    let id = record.id.clone();
    let run = Arc::new(Run::new(
        id.clone(),
        machine,
        record.input.clone(),
        record.start_time,
        vec![started.clone()],
    ));
    let (sender, written) = tokio::sync::oneshot::channel();
    run.defer_start(record, started, sender);
    {
        let mut runs = lock(&shared.runs);
        // The store refuses a taken id at the first write; one running here is refused now,
        // before its run is replaced.
        if runs.contains_key(&id) {
            return Err(StoreError::AlreadyExists(id).into());
        }
        runs.insert(id.clone(), Arc::clone(&run));
    }
    spawn_task(shared, run);
    match written.await {
        Ok(Ok(())) => Ok(id),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(Error::Store(StoreError::Backend(format!(
            "the engine stopped before execution '{id}' was written"
        )))),
    }
}

/// A new execution's record and first event, after the checks every start makes.
fn new_execution(
    shared: &Shared,
    machine: &Machine,
    input: Value,
    options: StartOptions,
) -> Result<(ExecutionRecord, HistoryEvent), Error> {
    tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
    let size = limits::json_size(&input);
    if size > MAX_PAYLOAD_BYTES {
        return Err(Error::InputTooLarge { size });
    }
    let id = options.name.unwrap_or_else(new_execution_id);
    let start_time = shared.clock.now();
    let started = HistoryEvent {
        id: 1,
        timestamp: start_time,
        scope: String::new(),
        kind: EventKind::ExecutionStarted {
            input: input.clone(),
        },
    };
    let record = ExecutionRecord {
        id,
        machine: machine.name.clone(),
        definition: machine.definition.clone(),
        input,
        status: ExecutionStatus::Running,
        start_time,
        end_time: None,
        output: None,
        error: None,
        cause: None,
        parent_id: options.parent,
        correlation_id: options.correlation_id,
    };
    Ok((record, started))
}

/// The machine an execution runs: the registered one if its definition is the stored one, else
/// the stored definition prepared again.
fn stored_machine(shared: &Shared, record: &ExecutionRecord) -> Result<Arc<Machine>, Error> {
    let registered =
        find_machine(shared, &record.machine).filter(|m| m.definition == record.definition);
    if let Some(machine) = registered {
        return Ok(machine);
    }
    let definition =
        MachineDefinition::from_stored(&record.definition).map_err(|e| Error::Definition {
            machine: record.machine.clone(),
            message: format!("stored definition: {e}"),
        })?;
    Ok(Arc::new(prepare(shared, &record.machine, &definition)?))
}

/// An ended execution, for a redrive or a restart; refuses one that is still running.
fn ended_execution(shared: &Shared, execution_id: &str) -> Result<ExecutionRecord, Error> {
    let record = shared
        .store
        .execution(execution_id)?
        .ok_or_else(|| Error::UnknownExecution(execution_id.to_owned()))?;
    if !record.status.is_final() || lock(&shared.runs).contains_key(execution_id) {
        return Err(Error::StillRunning(execution_id.to_owned()));
    }
    Ok(record)
}

/// Reopens an ended execution with `kind` as its next event and runs it on `machine`.
fn rerun(
    shared: &Arc<Shared>,
    record: &ExecutionRecord,
    machine: Arc<Machine>,
    kind: EventKind,
    reopen: &ExecutionReopen,
) -> Result<(), Error> {
    tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
    let mut history = shared.store.history(&record.id)?;
    let event = HistoryEvent {
        id: history.last().map_or(1, |e| e.id + 1),
        timestamp: shared.clock.now(),
        scope: String::new(),
        kind,
    };
    if !shared.store.reopen_execution(&record.id, reopen, &event)? {
        return Err(Error::StillRunning(record.id.clone()));
    }
    history.push(event);
    let run = Arc::new(Run::new(
        record.id.clone(),
        machine,
        record.input.clone(),
        record.start_time,
        history,
    ));
    spawn(shared, run);
    Ok(())
}

pub(crate) fn redrive_run(shared: &Arc<Shared>, execution_id: &str) -> Result<u32, Error> {
    let record = ended_execution(shared, execution_id)?;
    let refuse = |reason: &str| Error::NotRedrivable {
        id: execution_id.to_owned(),
        reason: reason.to_owned(),
    };
    if record.status == ExecutionStatus::Succeeded {
        return Err(refuse("it succeeded"));
    }
    let history = shared.store.history(execution_id)?;
    if history.len() as u64 >= MAX_HISTORY_EVENTS {
        return Err(refuse("its history reached the event limit"));
    }
    let redrive_count = history
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ExecutionRedriven { .. }))
        .count();
    let redrive_count = u32::try_from(redrive_count).unwrap_or(u32::MAX - 1) + 1;
    let machine = stored_machine(shared, &record)?;
    rerun(
        shared,
        &record,
        machine,
        EventKind::ExecutionRedriven { redrive_count },
        &ExecutionReopen::default(),
    )?;
    Ok(redrive_count)
}

pub(crate) fn restart_run(
    shared: &Arc<Shared>,
    execution_id: &str,
    use_latest_definition: bool,
) -> Result<(), Error> {
    let record = ended_execution(shared, execution_id)?;
    let (machine, reopen) = if use_latest_definition {
        let latest = find_machine(shared, &record.machine)
            .ok_or_else(|| Error::UnknownMachine(record.machine.clone()))?;
        let changed = latest.definition != record.definition;
        let definition = changed.then(|| latest.definition.clone());
        (latest, ExecutionReopen { definition })
    } else {
        (stored_machine(shared, &record)?, ExecutionReopen::default())
    };
    rerun(
        shared,
        &record,
        machine,
        EventKind::ExecutionRestarted,
        &reopen,
    )
}

pub(crate) fn resume_run(shared: &Arc<Shared>, execution_id: &str) -> Result<(), Error> {
    if lock(&shared.runs).contains_key(execution_id) {
        return Ok(());
    }
    tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
    let record = shared
        .store
        .execution(execution_id)?
        .ok_or_else(|| Error::UnknownExecution(execution_id.to_owned()))?;
    if record.status.is_final() {
        return Err(Error::AlreadyEnded(execution_id.to_owned()));
    }
    let machine = stored_machine(shared, &record)?;
    let history = shared.store.history(execution_id)?;
    let run = Arc::new(Run::new(
        record.id.clone(),
        machine,
        record.input.clone(),
        record.start_time,
        history,
    ));
    spawn(shared, run);
    Ok(())
}

fn spawn(shared: &Arc<Shared>, run: Arc<Run>) {
    lock(&shared.runs).insert(run.id.clone(), run.clone());
    spawn_task(shared, run);
}

/// Drives a run that is in the engine's runs already.
fn spawn_task(shared: &Arc<Shared>, run: Arc<Run>) {
    let ctx = Ctx {
        shared: shared.clone(),
        run: run.clone(),
    };
    let handle = tokio::spawn(drive(ctx));
    *lock(&run.task) = Some(handle.abort_handle());
}

/// Runs an execution to its end and records how it ended.
async fn drive(ctx: Ctx) {
    let run = ctx.run.clone();
    let mut stop = run.stop.subscribe();
    let deadline = run.machine.timeout_seconds.map(|s| {
        run.timeout_from
            .saturating_add(i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX))
    });
    let timeout = async {
        match deadline {
            Some(at) => ctx.shared.clock.sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    let root = run.machine.root.clone();
    let outcome = tokio::select! {
        result = async {
            let mut vars = Vars::default();
            ctx.run_scope(&root, "", run.input.clone(), &mut vars).await
        } => match result {
            Ok(output) => Outcome::Succeeded(output),
            Err(failure) => Outcome::Failed(failure),
        },
        cause = async {
            loop {
                if let Some(cause) = stop.borrow_and_update().clone() {
                    return cause;
                }
                if stop.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        } => Outcome::Aborted(cause),
        () = timeout => Outcome::TimedOut,
    };
    finish(&ctx, outcome);
}

fn finish(ctx: &Ctx, outcome: Outcome) {
    let shared = &ctx.shared;
    let run = &ctx.run;
    let now = shared.clock.now();
    let (kind, end) = match outcome {
        Outcome::Succeeded(output) => (
            EventKind::ExecutionSucceeded {
                output: output.clone(),
            },
            ExecutionEnd {
                status: ExecutionStatus::Succeeded,
                end_time: now,
                output: Some(output),
                error: None,
                cause: None,
            },
        ),
        Outcome::Failed(failure) => (
            EventKind::ExecutionFailed {
                error: failure.error.clone(),
                cause: failure.cause.clone(),
            },
            ExecutionEnd {
                status: ExecutionStatus::Failed,
                end_time: now,
                output: None,
                error: Some(failure.error),
                cause: Some(failure.cause),
            },
        ),
        Outcome::TimedOut => (
            EventKind::ExecutionTimedOut,
            ExecutionEnd {
                status: ExecutionStatus::TimedOut,
                end_time: now,
                output: None,
                error: Some(names::TIMEOUT.to_owned()),
                cause: Some("the execution ran past the machine's TimeoutSeconds".to_owned()),
            },
        ),
        Outcome::Aborted(cause) => (
            EventKind::ExecutionAborted {
                cause: cause.clone(),
            },
            ExecutionEnd {
                status: ExecutionStatus::Aborted,
                end_time: now,
                output: None,
                error: None,
                cause: Some(cause),
            },
        ),
    };
    // A failure to record the end leaves the execution unfinished in the store, to resume.
    // Replay may hold the final event already (a crash between recording and finishing).
    let recorded = ctx.record_top(kind);
    if recorded.is_ok() {
        let _ = shared.store.finish_execution(&run.id, &end);
    }
    let children: Vec<String> = lock(&run.sync_children).drain(..).collect();
    for child in children {
        let _ = stop_run(shared, &child, "the parent execution ended");
    }
    {
        let mut runs = lock(&shared.runs);
        // A redrive may have put a new run under this id once this one was recorded as ended.
        if runs.get(&run.id).is_some_and(|r| Arc::ptr_eq(r, run)) {
            runs.remove(&run.id);
        }
    }
    run.done.send_replace(true);
}

pub(crate) async fn wait_run(
    shared: &Arc<Shared>,
    execution_id: &str,
) -> Result<ExecutionRecord, Error> {
    let run = lock(&shared.runs).get(execution_id).cloned();
    if let Some(run) = run {
        let mut done = run.done.subscribe();
        while !*done.borrow_and_update() {
            if done.changed().await.is_err() {
                break;
            }
        }
    }
    let record = shared
        .store
        .execution(execution_id)?
        .ok_or_else(|| Error::UnknownExecution(execution_id.to_owned()))?;
    if record.status.is_final() {
        Ok(record)
    } else {
        Err(Error::NotRunning(execution_id.to_owned()))
    }
}

fn stop_run(shared: &Arc<Shared>, execution_id: &str, cause: &str) -> Result<(), Error> {
    let run = lock(&shared.runs).get(execution_id).cloned();
    if let Some(run) = run {
        run.stop.send_replace(Some(cause.to_owned()));
        return Ok(());
    }
    let record = shared
        .store
        .execution(execution_id)?
        .ok_or_else(|| Error::UnknownExecution(execution_id.to_owned()))?;
    if record.status.is_final() {
        return Err(Error::AlreadyEnded(execution_id.to_owned()));
    }
    // Unfinished but not running here: end it in the store.
    let now = shared.clock.now();
    let next_id = shared
        .store
        .history(execution_id)?
        .last()
        .map_or(1, |e| e.id + 1);
    shared.store.append_events(
        execution_id,
        &[HistoryEvent {
            id: next_id,
            timestamp: now,
            scope: String::new(),
            kind: EventKind::ExecutionAborted {
                cause: cause.to_owned(),
            },
        }],
    )?;
    shared.store.finish_execution(
        execution_id,
        &ExecutionEnd {
            status: ExecutionStatus::Aborted,
            end_time: now,
            output: None,
            error: None,
            cause: Some(cause.to_owned()),
        },
    )?;
    Ok(())
}

fn complete(shared: &Shared, token: &str, message: TokenMessage) -> Result<(), Error> {
    let pending = shared.store.take_token(token)?.ok_or(Error::UnknownToken)?;
    let sender = lock(&shared.waiters).get(token).cloned();
    match sender {
        Some(sender) if sender.send(message).is_ok() => Ok(()),
        _ => {
            // Its execution is not running here: keep the token for when it resumes.
            shared.store.put_token(&pending)?;
            Err(Error::NotRunning(pending.execution_id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starting_outside_a_runtime_is_an_error_not_a_panic() {
        let engine = Engine::builder().build();
        let asl = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}});
        let definition = MachineDefinition::from_json(&asl).expect("valid");
        engine.register("m", definition).expect("registers");
        let err = engine
            .start("m", json!({}), StartOptions::named("x"))
            .unwrap_err();
        assert!(matches!(err, Error::NoRuntime), "{err}");
        assert!(matches!(
            engine.describe("x"),
            Err(Error::UnknownExecution(_))
        ));
    }

    #[test]
    fn stored_definitions_round_trip() {
        let asl = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}});
        let definition = MachineDefinition::from_json(&asl)
            .expect("valid")
            .with_task_map(TaskMap::default());
        let stored = definition.to_stored();
        assert_eq!(stored["asl"]["StartAt"], json!("A"));
        assert_eq!(
            MachineDefinition::from_stored(&stored).expect("reads"),
            definition
        );
    }

    #[test]
    fn execution_ids_are_uuid_v7_that_grow_with_time() {
        let first = new_execution_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_execution_id();
        for id in [&first, &second] {
            let groups: Vec<&str> = id.split('-').collect();
            let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
            assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{id}"
            );
            assert!(groups[2].starts_with('7'), "version 7: {id}");
            assert!(
                matches!(&groups[3][..1], "8" | "9" | "a" | "b"),
                "RFC variant: {id}"
            );
        }
        assert!(first < second, "{first} then {second}");
        let millis = u64::from_str_radix(&second.replace('-', "")[..12], 16).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(now - millis < 60_000, "the id carries the time it was made");
    }
}
