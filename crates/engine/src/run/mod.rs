//! The interpreter: one execution's states, run as async code on tokio (Task states in
//! `task`, Parallel and Map in `fanout`).
//!
//! Every step is recorded as a [`HistoryEvent`] and appended to the store as it happens. When an
//! execution resumes, the recorded events of each scope are replayed in order: a recorded task
//! outcome, fired timer, retry delay or token is taken from the history instead of running again.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use ocflow_asl::{JitterStrategy, Retrier};
use ocflow_jsonata::Bindings;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot, watch};

use crate::clock::{BoxFuture, Clock};
use crate::error::{Failure, names};
use crate::history::{EventKind, HistoryEvent, Millis};
use crate::invoker::{Invocation, ResourceInvoker};
use crate::limits;
use crate::machine::{Field, Kind, Machine, Node, Scope};
use crate::store::{ExecutionRecord, ExecutionStore, PendingToken, StoreError, TokenIssue};
use crate::time::format_rfc3339;

mod fanout;
mod task;

/// The ARN prefix of local state machines and executions.
pub(crate) const ARN_PREFIX: &str = "arn:aws:states:local:000000000000";

/// The longest task token Step Functions issues.
pub const MAX_TOKEN_LEN: usize = 1024;

/// The most events a Standard execution's history may hold; past it the execution fails with
/// `States.Runtime`, as on AWS (which keeps a runaway loop from running forever).
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a callback sends to a waiting task.
#[derive(Debug)]
pub(crate) enum TokenMessage {
    Success(Value),
    Failure(Failure),
    Heartbeat,
}

/// State shared by the engine handle and every running execution.
pub(crate) struct Shared {
    pub store: Arc<dyn ExecutionStore>,
    pub clock: Arc<dyn Clock>,
    pub invoker: Arc<dyn ResourceInvoker>,
    pub substitutions: BTreeMap<String, String>,
    pub machines: RwLock<HashMap<String, Arc<Machine>>>,
    pub runs: Mutex<HashMap<String, Arc<Run>>>,
    pub waiters: Mutex<HashMap<String, mpsc::UnboundedSender<TokenMessage>>>,
}

/// How a run ended, as its driver reports it.
#[derive(Debug)]
pub(crate) enum Outcome {
    Succeeded(Value),
    Failed(Failure),
    TimedOut,
    Aborted(String),
}

/// One running execution.
pub(crate) struct Run {
    pub id: String,
    pub machine: Arc<Machine>,
    pub input: Value,
    /// Where the machine's `TimeoutSeconds` counts from: the start, or the latest redrive or
    /// restart.
    pub timeout_from: Millis,
    execution_context: Value,
    log: Mutex<Log>,
    tokens: AtomicU64,
    children: AtomicU64,
    pub done: watch::Sender<bool>,
    pub stop: watch::Sender<Option<String>>,
    pub sync_children: Mutex<Vec<String>>,
    pub task: Mutex<Option<tokio::task::AbortHandle>>,
    /// Whether the execution's record is in the store yet.
    start: Mutex<Start>,
}

/// Whether a run's execution is in the store: [launched](crate::Engine::launch) executions
/// are written with the run's first write, not before it starts.
enum Start {
    Written,
    /// Waits for the run's first write, which creates it.
    Pending(Box<PendingStart>),
    /// The first write could not create it (its id is taken, say): the run must not touch the
    /// store, where that id may be another execution's.
    Refused(StoreError),
}

/// A launched execution's record, and who waits to hear that it is written.
struct PendingStart {
    record: ExecutionRecord,
    written: oneshot::Sender<Result<(), StoreError>>,
}

struct Log {
    next_id: u64,
    /// Recorded events not yet replayed, by scope.
    replay: HashMap<String, VecDeque<HistoryEvent>>,
    /// Events not yet written: states entered and exited (see [`Ctx::exit`]), and a callback
    /// task's schedule and token, which go with the pending token. They are written with the
    /// next event that reaches outside the run, so a run of Pass, Choice and other states that
    /// only compute costs one store call. Losing them in a crash is harmless: nothing outside
    /// the run saw them (every task, timer, token, child and end is written first, with them),
    /// and replay runs those states again.
    unsaved: Vec<HistoryEvent>,
}

impl Run {
    pub(crate) fn new(
        id: String,
        machine: Arc<Machine>,
        input: Value,
        start_time: Millis,
        history: Vec<HistoryEvent>,
    ) -> Self {
        let next_id = history.last().map_or(1, |e| e.id + 1);
        let mut timeout_from = start_time;
        let mut replay: HashMap<String, VecDeque<HistoryEvent>> = HashMap::new();
        for event in history {
            match event.kind {
                EventKind::ExecutionStarted { .. } => timeout_from = event.timestamp,
                EventKind::ExecutionRestarted => {
                    timeout_from = event.timestamp;
                    replay.clear();
                }
                EventKind::ExecutionRedriven { .. } => {
                    timeout_from = event.timestamp;
                    for queue in replay.values_mut() {
                        cut_unfinished(queue);
                    }
                    replay.retain(|_, queue| !queue.is_empty());
                }
                _ => replay
                    .entry(event.scope.clone())
                    .or_default()
                    .push_back(event),
            }
        }
        let execution_context = json!({
            "Id": format!("{ARN_PREFIX}:execution:{}:{id}", machine.name),
            "Input": input,
            "Name": id,
            "RoleArn": format!("arn:aws:iam::000000000000:role/{}", machine.name),
            "StartTime": format_rfc3339(start_time),
        });
        Run {
            machine,
            input,
            timeout_from,
            execution_context,
            log: Mutex::new(Log {
                next_id,
                replay,
                unsaved: Vec::new(),
            }),
            tokens: AtomicU64::new(next_id),
            children: AtomicU64::new(next_id),
            done: watch::channel(false).0,
            stop: watch::channel(None).0,
            sync_children: Mutex::new(Vec::new()),
            task: Mutex::new(None),
            start: Mutex::new(Start::Written),
            id,
        }
    }

    /// Leaves the execution's record, with its first event `started`, to the run's first
    /// write; `written` hears how that write went.
    pub(crate) fn defer_start(
        &self,
        record: ExecutionRecord,
        started: HistoryEvent,
        written: oneshot::Sender<Result<(), StoreError>>,
    ) {
        lock(&self.log).unsaved.push(started);
        *lock(&self.start) = Start::Pending(Box::new(PendingStart { record, written }));
    }
}

/// Prepares one scope's recorded events for a redrive: the execution's ending goes, and so do
/// the events of the state that was unfinished when it ended (the last one entered and not
/// exited), so that replay enters that state again, live, with the input it had. A scope that
/// finished keeps everything: a Parallel branch or Map iteration that succeeded is replayed,
/// not run again.
fn cut_unfinished(queue: &mut VecDeque<HistoryEvent>) {
    queue.retain(|e| {
        !matches!(
            e.kind,
            EventKind::ExecutionSucceeded { .. }
                | EventKind::ExecutionFailed { .. }
                | EventKind::ExecutionTimedOut
                | EventKind::ExecutionAborted { .. }
        )
    });
    let last_entered = queue
        .iter()
        .rposition(|e| matches!(e.kind, EventKind::StateEntered { .. }));
    if let Some(at) = last_entered {
        let exited = queue
            .iter()
            .skip(at)
            .any(|e| matches!(e.kind, EventKind::StateExited { .. }));
        if !exited {
            queue.truncate(at);
        }
    }
}

/// The most deferred events a run holds before writing them anyway, so that a long loop of
/// states that only compute still shows its progress in the history.
const MAX_UNSAVED: usize = 64;

/// A recorded step: when it happened and, when replayed, the event as recorded.
struct Recorded {
    timestamp: Millis,
    replayed: Option<EventKind>,
}

/// Variables visible in a scope: the enclosing scopes' (read-only) and the scope's own.
#[derive(Debug, Default, Clone)]
pub(crate) struct Vars {
    outer: Arc<Map<String, Value>>,
    local: Map<String, Value>,
}

impl Vars {
    fn get(&self, name: &str) -> Option<&Value> {
        self.local.get(name).or_else(|| self.outer.get(name))
    }

    /// Everything visible here, for a nested scope to read.
    fn snapshot(&self) -> Arc<Map<String, Value>> {
        if self.local.is_empty() {
            return self.outer.clone();
        }
        let mut all = (*self.outer).clone();
        all.extend(self.local.iter().map(|(k, v)| (k.clone(), v.clone())));
        Arc::new(all)
    }

    fn nested(outer: Arc<Map<String, Value>>) -> Self {
        Vars {
            outer,
            local: Map::new(),
        }
    }
}

/// What a state sees while it runs.
struct Env<'a> {
    node: &'a Node,
    path: &'a str,
    input: Value,
    entered: Millis,
    retry_count: u32,
    token: Option<String>,
}

enum Step {
    Next(usize, Value),
    End(Value),
}

/// An execution's handle on the engine; cheap to clone into spawned branches.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub shared: Arc<Shared>,
    pub run: Arc<Run>,
}

fn child_path(path: &str, state: &str, index: usize) -> String {
    if path.is_empty() {
        format!("{state}/{index}")
    } else {
        format!("{path}/{state}/{index}")
    }
}

fn eval(field: &Field, state: &str, bindings: &Bindings) -> Result<Value, Failure> {
    field
        .evaluate(bindings)
        .map_err(|e| Failure::query(&e, state, field.name))
}

fn as_u64(value: &Value, state: &str, field: &str) -> Result<u64, Failure> {
    value
        .as_u64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                .map(|f| f as u64)
        })
        .ok_or_else(|| {
            Failure::new(
                names::QUERY_EVALUATION_ERROR,
                format!(
                    "state '{state}', field {field}: expected a non-negative integer, got {value}"
                ),
            )
        })
}

/// The delay before retry number `count` (from 0) under `retrier`, or `None` when its attempts
/// are spent: `IntervalSeconds × BackoffRate^count`, capped by `MaxDelaySeconds`, and with
/// `JitterStrategy: FULL` drawn uniformly from zero to that.
pub fn retry_delay_ms(retrier: &Retrier, count: u32) -> Option<u64> {
    let max_attempts = retrier.max_attempts.unwrap_or(3).max(0);
    if i64::from(count) >= max_attempts {
        return None;
    }
    let interval = retrier.interval_seconds.unwrap_or(1).max(0) as f64;
    let rate = retrier.backoff_rate.unwrap_or(2.0).max(1.0);
    let mut seconds = interval * rate.powi(i32::try_from(count).unwrap_or(i32::MAX));
    if let Some(max) = retrier.max_delay_seconds {
        seconds = seconds.min(max.max(0) as f64);
    }
    let ms = (seconds * 1000.0).round().min(u64::MAX as f64) as u64;
    Some(match retrier.jitter_strategy {
        Some(JitterStrategy::Full) => rand::random_range(0..=ms),
        _ => ms,
    })
}

impl Ctx {
    fn clock(&self) -> &dyn Clock {
        &*self.shared.clock
    }

    /// Records an event, or replays the next recorded one of this scope. A `StateEntered`
    /// waits to be written with the next event.
    fn record(&self, path: &str, kind: EventKind) -> Result<Recorded, Failure> {
        let deferred = matches!(kind, EventKind::StateEntered { .. });
        self.record_deferred(path, kind, deferred)
    }

    /// [`record`](Self::record), where `deferred` says whether the event may wait in
    /// [`Log::unsaved`] to be written with the next one.
    fn record_deferred(
        &self,
        path: &str,
        kind: EventKind,
        deferred: bool,
    ) -> Result<Recorded, Failure> {
        let mut log = lock(&self.run.log);
        if let Some(queue) = log.replay.get_mut(path)
            && let Some(recorded) = queue.pop_front()
        {
            if queue.is_empty() {
                log.replay.remove(path);
            }
            let same = std::mem::discriminant(&recorded.kind) == std::mem::discriminant(&kind)
                && recorded.kind.state() == kind.state();
            if !same {
                log.replay.clear();
                return Err(Failure::runtime(format!(
                    "the recorded history diverges from the machine at event {} (recorded {:?}, now {:?})",
                    recorded.id,
                    recorded.kind.state(),
                    kind.state()
                )));
            }
            return Ok(Recorded {
                timestamp: recorded.timestamp,
                replayed: Some(recorded.kind),
            });
        }
        let ending = matches!(
            kind,
            EventKind::ExecutionSucceeded { .. }
                | EventKind::ExecutionFailed { .. }
                | EventKind::ExecutionTimedOut
                | EventKind::ExecutionAborted { .. }
        );
        if log.next_id > MAX_HISTORY_EVENTS && !ending {
            return Err(Failure::runtime(format!(
                "the execution history reached Step Functions' limit of {MAX_HISTORY_EVENTS} events"
            )));
        }
        let event = HistoryEvent {
            id: log.next_id,
            timestamp: self.clock().now(),
            scope: path.to_owned(),
            kind,
        };
        let timestamp = event.timestamp;
        log.next_id += 1;
        log.unsaved.push(event);
        if !deferred || log.unsaved.len() >= MAX_UNSAVED {
            let events = std::mem::take(&mut log.unsaved);
            self.store_write(|store, create| match create {
                Some(record) => store.create_execution_with_events(record, &events),
                None => store.append_events(&self.run.id, &events),
            })
            .map_err(|e| Failure::runtime(format!("could not record history: {e}")))?;
        }
        Ok(Recorded {
            timestamp,
            replayed: None,
        })
    }

    /// Keeps a callback task's pending token, writing the events waiting in the log with it,
    /// and `message` (the call that hands the token out) when there is one to send; whether
    /// the store delivered that message.
    fn put_token(
        &self,
        token: &PendingToken,
        message: Option<&Invocation>,
    ) -> Result<bool, Failure> {
        let mut log = lock(&self.run.log);
        let events = std::mem::take(&mut log.unsaved);
        self.store_write(|store, create| {
            store.issue_token(&TokenIssue {
                execution_id: &self.run.id,
                create,
                events: &events,
                token,
                message,
            })
        })
        .map_err(|e| Failure::runtime(format!("could not store the task token: {e}")))
    }

    /// Runs one of the run's writes; for a launched execution whose record is not written yet,
    /// `write` gets that record to create it with. The launcher hears how that went, and once
    /// a creation was refused every write of the run is. Callers hold the run's log, so its
    /// writes go one at a time: none finds the record written before the write creating it
    /// has returned.
    fn store_write<T>(
        &self,
        write: impl FnOnce(&dyn ExecutionStore, Option<&ExecutionRecord>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let store = self.shared.store.as_ref();
        let pending = {
            let mut start = lock(&self.run.start);
            match std::mem::replace(&mut *start, Start::Written) {
                Start::Written => None,
                Start::Pending(pending) => Some(pending),
                Start::Refused(error) => {
                    *start = Start::Refused(error.clone());
                    return Err(error);
                }
            }
        };
        let Some(pending) = pending else {
            return write(store, None);
        };
        let written = write(store, Some(&pending.record));
        if let Err(error) = &written {
            *lock(&self.run.start) = Start::Refused(error.clone());
        }
        let _ = pending
            .written
            .send(written.as_ref().map(|_| ()).map_err(Clone::clone));
        written
    }

    /// Records (or replays) an event of the top-level scope.
    pub(crate) fn record_top(&self, kind: EventKind) -> Result<(), Failure> {
        self.record("", kind).map(|_| ())
    }

    /// The next recorded event of this scope, if replay has one.
    fn peek(&self, path: &str) -> Option<EventKind> {
        lock(&self.run.log)
            .replay
            .get(path)
            .and_then(|q| q.front())
            .map(|e| e.kind.clone())
    }

    /// Runs the states of `scope` from its start; the output of its last state.
    pub(crate) fn run_scope<'a>(
        &'a self,
        scope: &'a Arc<Scope>,
        path: &'a str,
        input: Value,
        vars: &'a mut Vars,
    ) -> BoxFuture<'a, Result<Value, Failure>> {
        Box::pin(async move {
            let mut index = scope.start;
            let mut input = input;
            loop {
                // A loop of states that never wait must still let other tasks (and `stop`) run.
                tokio::task::consume_budget().await;
                let node = &scope.nodes[index];
                match self.run_state(node, path, input, vars).await? {
                    Step::Next(next, output) => {
                        index = next;
                        input = output;
                    }
                    Step::End(output) => return Ok(output),
                }
            }
        })
    }

    fn bindings(
        &self,
        env: &Env<'_>,
        vars: &Vars,
        result: Option<&Value>,
        error_output: Option<&Value>,
        item: Option<(usize, &Value)>,
    ) -> Bindings {
        let mut states = Map::with_capacity(4);
        states.insert("input".into(), env.input.clone());
        if let Some(result) = result {
            states.insert("result".into(), result.clone());
        }
        if let Some(error_output) = error_output {
            states.insert("errorOutput".into(), error_output.clone());
        }
        if env.node.reads_context {
            let mut context = Map::with_capacity(5);
            context.insert("Execution".into(), self.run.execution_context.clone());
            context.insert(
                "State".into(),
                json!({
                    "EnteredTime": format_rfc3339(env.entered),
                    "Name": env.node.name,
                    "RetryCount": env.retry_count,
                }),
            );
            context.insert(
                "StateMachine".into(),
                json!({
                    "Id": format!("{ARN_PREFIX}:stateMachine:{}", self.run.machine.name),
                    "Name": self.run.machine.name,
                }),
            );
            if let Some(token) = &env.token {
                context.insert("Task".into(), json!({ "Token": token }));
            }
            if let Some((index, value)) = item {
                context.insert(
                    "Map".into(),
                    json!({"Item": {"Index": index, "Value": value}}),
                );
            }
            states.insert("context".into(), Value::Object(context));
        }
        let mut bindings = Bindings::with_states(Value::Object(states));
        for name in &env.node.variables {
            if let Some(value) = vars.get(name) {
                bindings.insert(name.clone(), value.clone());
            }
        }
        bindings
    }

    /// Evaluates `Output` (default: `fallback`) and `Assign` with the same bindings.
    fn output_and_assign(
        &self,
        env: &Env<'_>,
        output: Option<&Field>,
        assign: Option<&Field>,
        bindings: &Bindings,
        fallback: Value,
    ) -> Result<(Value, Map<String, Value>), Failure> {
        let name = &env.node.name;
        let assigned = match assign {
            None => Map::new(),
            Some(field) => match eval(field, name, bindings)? {
                Value::Object(map) => map,
                other => {
                    return Err(Failure::new(
                        names::QUERY_EVALUATION_ERROR,
                        format!("state '{name}', field Assign: expected an object, got {other}"),
                    ));
                }
            },
        };
        for (variable, value) in &assigned {
            limits::check(value, || {
                format!("variable '{variable}' assigned by state '{name}'")
            })?;
        }
        let output = match output {
            Some(field) => eval(field, name, bindings)?,
            None => fallback,
        };
        limits::check(&output, || format!("the output of state '{name}'"))?;
        Ok((output, assigned))
    }

    fn exit(
        &self,
        env: &Env<'_>,
        vars: &mut Vars,
        output: Value,
        assigned: Map<String, Value>,
        next: Option<usize>,
    ) -> Result<Step, Failure> {
        let kind = EventKind::StateExited {
            state: env.node.name.clone(),
            output: output.clone(),
            assigned: assigned.clone(),
        };
        // The exit waits to be written with the next event, unless it ends a Parallel branch or
        // a Map iteration (the run may then wait long for the others) or is larger than a store
        // may take (written at once, a refusal fails this state as it would undeferred).
        let deferred = (next.is_some() || env.path.is_empty())
            && limits::encoded_size(&kind) <= limits::MAX_PAYLOAD_BYTES;
        let recorded = self.record_deferred(env.path, kind, deferred)?;
        // When replaying, what the state produced before is what it produces now, even if an
        // expression is not deterministic ($random, $uuid, $now).
        let (output, assigned) = match recorded.replayed {
            Some(EventKind::StateExited {
                output, assigned, ..
            }) => (output, assigned),
            _ => (output, assigned),
        };
        vars.local.extend(assigned);
        Ok(match next {
            Some(next) => Step::Next(next, output),
            None => Step::End(output),
        })
    }

    async fn run_state(
        &self,
        node: &Node,
        path: &str,
        input: Value,
        vars: &mut Vars,
    ) -> Result<Step, Failure> {
        limits::check(&input, || format!("the input of state '{}'", node.name))?;
        let entered = self
            .record(
                path,
                EventKind::StateEntered {
                    state: node.name.clone(),
                    input: input.clone(),
                },
            )?
            .timestamp;
        let mut env = Env {
            node,
            path,
            input,
            entered,
            retry_count: 0,
            token: None,
        };
        match &node.kind {
            Kind::Pass => {
                let bindings = self.bindings(&env, vars, None, None, None);
                let fallback = env.input.clone();
                let (output, assigned) = self.output_and_assign(
                    &env,
                    node.output.as_ref(),
                    node.assign.as_ref(),
                    &bindings,
                    fallback,
                )?;
                self.exit(&env, vars, output, assigned, node.next)
            }
            Kind::Succeed => {
                let bindings = self.bindings(&env, vars, None, None, None);
                let fallback = env.input.clone();
                let (output, _) =
                    self.output_and_assign(&env, node.output.as_ref(), None, &bindings, fallback)?;
                self.exit(&env, vars, output, Map::new(), None)
            }
            Kind::Fail { error, cause } => {
                let bindings = self.bindings(&env, vars, None, None, None);
                let text = |field: &Option<Field>| -> Result<String, Failure> {
                    Ok(match field {
                        None => String::new(),
                        Some(field) => match eval(field, &node.name, &bindings)? {
                            Value::String(s) => s,
                            other => other.to_string(),
                        },
                    })
                };
                Err(Failure::new(text(error)?, text(cause)?))
            }
            Kind::Choice(choice) => {
                let bindings = self.bindings(&env, vars, None, None, None);
                let mut chosen = None;
                for rule in &choice.rules {
                    match eval(&rule.condition, &node.name, &bindings)? {
                        Value::Bool(true) => {
                            chosen = Some(rule);
                            break;
                        }
                        Value::Bool(false) => {}
                        other => {
                            return Err(Failure::new(
                                names::QUERY_EVALUATION_ERROR,
                                format!(
                                    "state '{}', field Condition: expected a boolean, got {other}",
                                    node.name
                                ),
                            ));
                        }
                    }
                }
                // The state's `Assign` applies whichever way the Choice goes; a matching rule's
                // own `Assign` adds to it (and wins on a shared name), its `Output` replaces
                // the state's.
                let (next, output, rule_assign) = match chosen {
                    Some(rule) => (
                        rule.next,
                        rule.output.as_ref().or(node.output.as_ref()),
                        rule.assign.as_ref(),
                    ),
                    None => match choice.default {
                        Some(default) => (default, node.output.as_ref(), None),
                        None => {
                            return Err(Failure::new(
                                names::NO_CHOICE_MATCHED,
                                format!("no Choice rule of state '{}' matched", node.name),
                            ));
                        }
                    },
                };
                let fallback = env.input.clone();
                let (output, mut assigned) = self.output_and_assign(
                    &env,
                    output,
                    node.assign.as_ref(),
                    &bindings,
                    fallback,
                )?;
                if rule_assign.is_some() {
                    let (_, by_rule) =
                        self.output_and_assign(&env, None, rule_assign, &bindings, Value::Null)?;
                    assigned.extend(by_rule);
                }
                self.exit(&env, vars, output, assigned, Some(next))
            }
            Kind::Wait { seconds, timestamp } => {
                let bindings = self.bindings(&env, vars, None, None, None);
                let until = match (seconds, timestamp) {
                    (Some(seconds), _) => {
                        let seconds = as_u64(
                            &eval(seconds, &node.name, &bindings)?,
                            &node.name,
                            "Seconds",
                        )?;
                        env.entered.saturating_add(
                            i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX),
                        )
                    }
                    (None, Some(timestamp)) => {
                        let value = eval(timestamp, &node.name, &bindings)?;
                        value
                            .as_str()
                            .and_then(crate::time::parse_rfc3339)
                            .ok_or_else(|| {
                                Failure::new(
                                    names::QUERY_EVALUATION_ERROR,
                                    format!(
                                        "state '{}', field Timestamp: expected an RFC 3339 timestamp, got {value}",
                                        node.name
                                    ),
                                )
                            })?
                    }
                    (None, None) => env.entered,
                };
                self.timer(path, &node.name, until).await?;
                let fallback = env.input.clone();
                let (output, assigned) = self.output_and_assign(
                    &env,
                    node.output.as_ref(),
                    node.assign.as_ref(),
                    &bindings,
                    fallback,
                )?;
                self.exit(&env, vars, output, assigned, node.next)
            }
            Kind::Task(_) | Kind::Parallel { .. } | Kind::Map(_) => {
                self.run_with_retry(&mut env, vars).await
            }
        }
    }

    /// Starts a timer, or replays it: sleeps only when the history has not seen it fire.
    async fn timer(&self, path: &str, state: &str, until: Millis) -> Result<(), Failure> {
        let recorded = self.record(
            path,
            EventKind::TimerStarted {
                state: state.to_owned(),
                until,
            },
        )?;
        let until = match recorded.replayed {
            Some(EventKind::TimerStarted { until, .. }) => until,
            _ => until,
        };
        if !matches!(self.peek(path), Some(EventKind::TimerFired { .. })) {
            self.clock().sleep_until(until).await;
        }
        self.record(
            path,
            EventKind::TimerFired {
                state: state.to_owned(),
            },
        )?;
        Ok(())
    }

    /// Task, Parallel and Map: attempts under `Retry`, then `Catch`.
    async fn run_with_retry(&self, env: &mut Env<'_>, vars: &mut Vars) -> Result<Step, Failure> {
        let node = env.node;
        let mut counts = vec![0_u32; node.retry.len()];
        loop {
            let failure = match self.attempt(env, vars).await {
                Ok((output, assigned)) => return self.exit(env, vars, output, assigned, node.next),
                Err(failure) => failure,
            };
            let retrier = node
                .retry
                .iter()
                .position(|r| failure.matches(&r.error_equals));
            if let Some(index) = retrier
                && let Some(delay) = retry_delay_ms(&node.retry[index], counts[index])
            {
                counts[index] += 1;
                env.retry_count += 1;
                let recorded = self.record(
                    env.path,
                    EventKind::RetryScheduled {
                        state: node.name.clone(),
                        attempt: env.retry_count,
                        delay_ms: delay,
                    },
                )?;
                let delay = match recorded.replayed {
                    Some(EventKind::RetryScheduled { delay_ms, .. }) => delay_ms,
                    _ => delay,
                };
                let until = recorded
                    .timestamp
                    .saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
                self.timer(env.path, &node.name, until).await?;
                continue;
            }
            let Some(catcher) = node.catch.iter().find(|c| failure.matches(&c.error_equals)) else {
                return Err(failure);
            };
            let error_output = failure.to_error_output();
            let bindings = self.bindings(env, vars, None, Some(&error_output), None);
            let (output, assigned) = self.output_and_assign(
                env,
                catcher.output.as_ref(),
                catcher.assign.as_ref(),
                &bindings,
                error_output.clone(),
            )?;
            self.record(
                env.path,
                EventKind::ErrorCaught {
                    state: node.name.clone(),
                    error: failure.error,
                    cause: failure.cause,
                    next: catcher.target.clone(),
                },
            )?;
            return self.exit(env, vars, output, assigned, Some(catcher.next));
        }
    }

    /// One attempt of a Task, Parallel or Map state: its result, then `Output` and `Assign`.
    async fn attempt(
        &self,
        env: &mut Env<'_>,
        vars: &Vars,
    ) -> Result<(Value, Map<String, Value>), Failure> {
        let node = env.node;
        let result = match &node.kind {
            Kind::Task(task) => self.task(env, vars, task).await?,
            Kind::Parallel {
                arguments,
                branches,
            } => {
                let bindings = self.bindings(env, vars, None, None, None);
                let input = match arguments {
                    Some(field) => eval(field, &node.name, &bindings)?,
                    None => env.input.clone(),
                };
                self.parallel(env, vars, branches, input).await?
            }
            Kind::Map(map) => self.map(env, vars, map).await?,
            _ => return Err(Failure::runtime("not a retriable state")),
        };
        limits::check(&result, || format!("the result of state '{}'", node.name))?;
        let bindings = self.bindings(env, vars, Some(&result), None, None);
        self.output_and_assign(
            env,
            node.output.as_ref(),
            node.assign.as_ref(),
            &bindings,
            result.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_are_capped() {
        let retrier = Retrier::new(["States.ALL"])
            .with_interval_seconds(2)
            .with_backoff_rate(3.0)
            .with_max_attempts(4)
            .with_max_delay_seconds(10);
        let delays: Vec<Option<u64>> = (0..5).map(|n| retry_delay_ms(&retrier, n)).collect();
        assert_eq!(
            delays,
            [Some(2_000), Some(6_000), Some(10_000), Some(10_000), None]
        );
        let defaults = Retrier::new(["X"]);
        assert_eq!(retry_delay_ms(&defaults, 0), Some(1_000));
        assert_eq!(retry_delay_ms(&defaults, 2), Some(4_000));
        assert_eq!(
            retry_delay_ms(&defaults, 3),
            None,
            "three attempts by default"
        );
        assert_eq!(
            retry_delay_ms(&Retrier::new(["X"]).with_max_attempts(0), 0),
            None
        );
    }

    #[test]
    fn full_jitter_stays_within_the_computed_delay() {
        let retrier = Retrier::new(["X"])
            .with_interval_seconds(1)
            .with_backoff_rate(2.0)
            .with_max_attempts(10)
            .with_jitter(JitterStrategy::Full);
        for _ in 0..200 {
            let delay = retry_delay_ms(&retrier, 3).unwrap_or(u64::MAX);
            assert!(delay <= 8_000, "{delay}");
        }
    }
}
