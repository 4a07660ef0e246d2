//! Task states: invoking a resource, waiting for a callback token, starting a child execution.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{ARN_PREFIX, Ctx, Env, MAX_TOKEN_LEN, Shared, TokenMessage, Vars, as_u64, eval, lock};
use crate::error::{Failure, names};
use crate::history::{EventKind, Millis};
use crate::invoker::Invocation;
use crate::limits;
use crate::machine::{Field, Pattern, Task};
use crate::store::PendingToken;

impl Ctx {
    pub(super) async fn task(
        &self,
        env: &mut Env<'_>,
        vars: &Vars,
        task: &Task,
    ) -> Result<Value, Failure> {
        let node = env.node;
        let name = &node.name;
        env.token = match task.pattern {
            Pattern::WaitForTaskToken => Some(self.next_token(env.path, name)),
            _ => None,
        };
        let bindings = self.bindings(env, vars, None, None, None);
        let arguments = match &task.arguments {
            Some(field) => eval(field, name, &bindings)?,
            None => env.input.clone(),
        };
        limits::check(&arguments, || format!("the arguments of state '{name}'"))?;
        let seconds = |field: &Option<Field>, label: &str| -> Result<Option<u64>, Failure> {
            field
                .as_ref()
                .map(|f| as_u64(&eval(f, name, &bindings)?, name, label))
                .transpose()
        };
        let timeout = seconds(&task.timeout, "TimeoutSeconds")?;
        let heartbeat = seconds(&task.heartbeat, "HeartbeatSeconds")?;
        drop(bindings);
        // A callback task records its token next, before anything leaves the run: the schedule
        // can wait to be written with it.
        let scheduled = self.record_deferred(
            env.path,
            EventKind::TaskScheduled {
                state: name.clone(),
                resource: task.resource.clone(),
                arguments: arguments.clone(),
                attempt: env.retry_count,
            },
            task.pattern == Pattern::WaitForTaskToken,
        )?;
        let deadline =
            timeout.map(|s| scheduled.timestamp + i64::try_from(s * 1000).unwrap_or(i64::MAX));
        let outcome = match self.recorded_outcome(env.path, name) {
            Some(outcome) => {
                // The history has the outcome; the token or child before it is replayed too.
                match self.peek(env.path) {
                    Some(kind @ EventKind::TaskTokenIssued { .. })
                    | Some(kind @ EventKind::ChildExecutionStarted { .. }) => {
                        self.record(env.path, kind)?;
                    }
                    _ => {}
                }
                outcome
            }
            None => {
                let invocation = Invocation {
                    resource: task.resource.clone(),
                    arguments,
                    execution_id: self.run.id.clone(),
                    state: name.clone(),
                    attempt: env.retry_count,
                    task_token: env.token.clone(),
                };
                let work = async {
                    match task.pattern {
                        Pattern::RequestResponse => self.shared.invoker.invoke(invocation).await,
                        Pattern::WaitForTaskToken => {
                            self.callback(env.path, name, invocation, heartbeat, deadline)
                                .await
                        }
                        Pattern::StartExecution { sync, v2 } => {
                            self.start_child(env.path, name, &invocation.arguments, sync, v2)
                                .await
                        }
                    }
                };
                match deadline {
                    // A callback watches its own deadline, so that it can drop its token.
                    None => work.await,
                    Some(_) if task.pattern == Pattern::WaitForTaskToken => work.await,
                    Some(deadline) => {
                        tokio::select! {
                            outcome = work => outcome,
                            () = self.clock().sleep_until(deadline) => Err(Failure::new(
                                names::TIMEOUT,
                                format!("state '{name}' ran past its TimeoutSeconds"),
                            )),
                        }
                    }
                }
            }
        };
        self.finish_task(env.path, name, outcome)
    }

    fn finish_task(
        &self,
        path: &str,
        state: &str,
        outcome: Result<Value, Failure>,
    ) -> Result<Value, Failure> {
        match outcome {
            Ok(result) => {
                self.record(
                    path,
                    EventKind::TaskSucceeded {
                        state: state.to_owned(),
                        result: result.clone(),
                    },
                )?;
                Ok(result)
            }
            Err(failure) => {
                self.record(
                    path,
                    EventKind::TaskFailed {
                        state: state.to_owned(),
                        error: failure.error.clone(),
                        cause: failure.cause.clone(),
                    },
                )?;
                Err(failure)
            }
        }
    }

    /// The outcome of the task attempt being replayed, when the history has it (possibly after
    /// the token it issued or the child it started).
    fn recorded_outcome(&self, path: &str, state: &str) -> Option<Result<Value, Failure>> {
        let log = lock(&self.run.log);
        let queue = log.replay.get(path)?;
        for event in queue.iter().take(3) {
            match &event.kind {
                EventKind::TaskSucceeded { state: s, result } if s == state => {
                    return Some(Ok(result.clone()));
                }
                EventKind::TaskFailed {
                    state: s,
                    error,
                    cause,
                } if s == state => return Some(Err(Failure::new(error, cause))),
                EventKind::TaskTokenIssued { .. } | EventKind::ChildExecutionStarted { .. } => {}
                _ => return None,
            }
        }
        None
    }

    /// The token for the next callback task: the recorded one when replaying, else a new one.
    fn next_token(&self, path: &str, state: &str) -> String {
        {
            let log = lock(&self.run.log);
            if let Some(queue) = log.replay.get(path) {
                for event in queue.iter().take(2) {
                    if let EventKind::TaskTokenIssued { state: s, token } = &event.kind
                        && s == state
                    {
                        return token.clone();
                    }
                }
            }
        }
        let n = self.run.tokens.fetch_add(1, Ordering::Relaxed);
        let mut token = format!("{n}.{}", self.run.id);
        token.truncate(MAX_TOKEN_LEN);
        token
    }

    /// `.waitForTaskToken`: issues the token, delivers it through the invoker (unless the
    /// history shows it was), then waits for a callback, a missed heartbeat or the deadline.
    async fn callback(
        &self,
        path: &str,
        state: &str,
        invocation: Invocation,
        heartbeat: Option<u64>,
        deadline: Option<Millis>,
    ) -> Result<Value, Failure> {
        let token = invocation.task_token.clone().unwrap_or_default();
        // Written with the token itself, below, before the invoker hands it out.
        let issued = self.record_deferred(
            path,
            EventKind::TaskTokenIssued {
                state: state.to_owned(),
                token: token.clone(),
            },
            true,
        )?;
        let heartbeat_ms = heartbeat.map(|s| i64::try_from(s * 1000).unwrap_or(i64::MAX));
        let mut pending = PendingToken {
            token: token.clone(),
            execution_id: self.run.id.clone(),
            scope: path.to_owned(),
            state: state.to_owned(),
            issued_at: issued.timestamp,
            heartbeat_deadline: heartbeat_ms.map(|h| issued.timestamp + h),
        };
        if issued.replayed.is_some() {
            // Heartbeats are not history events: the stored token knows the latest deadline.
            let stored = self
                .shared
                .store
                .pending_tokens(&self.run.id)
                .unwrap_or_default();
            if let Some(stored) = stored.into_iter().find(|t| t.token == token) {
                pending.heartbeat_deadline =
                    pending.heartbeat_deadline.max(stored.heartbeat_deadline);
            }
        }
        let (sender, mut receiver) = mpsc::unbounded_channel();
        lock(&self.shared.waiters).insert(token.clone(), sender);
        let _guard = WaiterGuard {
            shared: &self.shared,
            token: &token,
        };
        // A replayed token was handed out before the restart (with it, where the store keeps
        // the message; else by the invoker, right after it was stored).
        let first = issued.replayed.is_none();
        let delivered = self.put_token(&pending, first.then_some(&invocation))?;
        if first && !delivered {
            self.shared.invoker.invoke(invocation).await?;
        }
        loop {
            let wake = match (pending.heartbeat_deadline, deadline) {
                (Some(h), Some(d)) => Some(h.min(d)),
                (h, d) => h.or(d),
            };
            let sleep = async {
                match wake {
                    Some(at) => self.clock().sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                message = receiver.recv() => match message {
                    Some(TokenMessage::Success(output)) => return Ok(output),
                    Some(TokenMessage::Failure(failure)) => return Err(failure),
                    Some(TokenMessage::Heartbeat) => {
                        if let Some(h) = heartbeat_ms {
                            pending.heartbeat_deadline = Some(self.clock().now() + h);
                            let _ = self.shared.store.put_token(&pending);
                        }
                    }
                    None => return Err(Failure::runtime("the engine stopped")),
                },
                () = sleep => {
                    let _ = self.shared.store.take_token(&token);
                    if pending.heartbeat_deadline == wake && deadline != wake {
                        return Err(Failure::new(
                            names::HEARTBEAT_TIMEOUT,
                            format!("state '{state}' received no heartbeat within HeartbeatSeconds"),
                        ));
                    }
                    return Err(Failure::new(
                        names::TIMEOUT,
                        format!("state '{state}' ran past its TimeoutSeconds"),
                    ));
                }
            }
        }
    }

    /// `states:startExecution[.sync[:2]]`: starts a registered machine as a child.
    async fn start_child(
        &self,
        path: &str,
        state: &str,
        arguments: &Value,
        sync: bool,
        v2: bool,
    ) -> Result<Value, Failure> {
        let target = arguments["StateMachineArn"].as_str().unwrap_or_default();
        let machine = crate::engine::find_machine(&self.shared, target).ok_or_else(|| {
            Failure::new(
                "StepFunctions.StateMachineDoesNotExistException",
                format!("State Machine Does Not Exist: '{target}'"),
            )
        })?;
        let input = match arguments.get("Input") {
            Some(Value::String(text)) => {
                serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
            }
            Some(value) => value.clone(),
            None => json!({}),
        };
        let recorded_id = match self.peek(path) {
            Some(EventKind::ChildExecutionStarted {
                state: s,
                execution_id,
            }) if s == state => Some(execution_id),
            _ => None,
        };
        let child_id = match &recorded_id {
            Some(id) => id.clone(),
            None => match arguments["Name"].as_str() {
                Some(name) => name.to_owned(),
                None => {
                    let n = self.run.children.fetch_add(1, Ordering::Relaxed);
                    format!("{}-{state}-{n}", self.run.id)
                }
            },
        };
        if recorded_id.is_none() {
            let options = crate::engine::StartOptions {
                name: Some(child_id.clone()),
                correlation_id: None,
                parent: Some(self.run.id.clone()),
            };
            crate::engine::start_run(&self.shared, machine.clone(), input, options).map_err(
                |e| {
                    Failure::new(
                        "StepFunctions.ExecutionAlreadyExistsException",
                        e.to_string(),
                    )
                },
            )?;
        }
        self.record(
            path,
            EventKind::ChildExecutionStarted {
                state: state.to_owned(),
                execution_id: child_id.clone(),
            },
        )?;
        let arn = format!("{ARN_PREFIX}:execution:{}:{child_id}", machine.name);
        if !sync {
            let start = self
                .shared
                .store
                .execution(&child_id)
                .ok()
                .flatten()
                .map_or(0, |r| r.start_time);
            return Ok(json!({"ExecutionArn": arn, "StartDate": start}));
        }
        lock(&self.run.sync_children).push(child_id.clone());
        if recorded_id.is_some() && !lock(&self.shared.runs).contains_key(&child_id) {
            // Resumed parent: make sure the child runs too.
            let _ = crate::engine::resume_run(&self.shared, &child_id);
        }
        let record = crate::engine::wait_run(&self.shared, &child_id)
            .await
            .map_err(|e| Failure::runtime(e.to_string()))?;
        let output_text = record.output.as_ref().map(Value::to_string);
        let mut description = json!({
            "ExecutionArn": arn,
            "Input": if v2 { record.input.clone() } else { Value::String(record.input.to_string()) },
            "InputDetails": {"Included": true},
            "Name": child_id,
            "StartDate": record.start_time,
            "StateMachineArn": format!("{ARN_PREFIX}:stateMachine:{}", machine.name),
            "Status": record.status.as_str(),
            "StopDate": record.end_time,
        });
        if record.status == crate::store::ExecutionStatus::Succeeded {
            description["Output"] = if v2 {
                record.output.unwrap_or(Value::Null)
            } else {
                Value::String(output_text.unwrap_or_default())
            };
            description["OutputDetails"] = json!({"Included": true});
            Ok(description)
        } else {
            description["Error"] = json!(record.error.unwrap_or_default());
            description["Cause"] = json!(record.cause.unwrap_or_default());
            Err(Failure::new(names::TASK_FAILED, description.to_string()))
        }
    }
}

/// Removes a token's waiter when the waiting task ends, however it ends.
struct WaiterGuard<'a> {
    shared: &'a Shared,
    token: &'a str,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        lock(&self.shared.waiters).remove(self.token);
    }
}
