//! An execution presented as Conductor presents a workflow: status, input, output and the list
//! of tasks, derived from the history and the compiler's [`TaskMap`].
//!
//! Conventions (see `ocflow_protocol::task_map`): a state listed in the task map executes one
//! Conductor task each time it is entered (a DO_WHILE body state gives `ref__<iteration>`); the
//! task's input is the state's evaluated `Arguments` (`Payload` for `lambda:invoke`); its output
//! is the variable the state assigns (`{output, input?, status?, reasonForIncompletion?}`) when the map
//! names one, else the state's result (`Payload` for `lambda:invoke`). Each retry is a new task,
//! as in Conductor. A `Fail` with `Workflow.Terminated` carries a TERMINATE task's
//! `{status, reason, output}` as JSON in its cause.

use std::collections::{HashMap, HashSet};

use ocflow_protocol::errors::WORKFLOW_TERMINATED;
use ocflow_protocol::placeholders::SQS_SEND_WAIT_TOKEN;
use ocflow_protocol::task_map::{JoinTask, TaskMap};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::names;
use crate::history::{EventKind, HistoryEvent, Millis};
use crate::store::{ExecutionRecord, ExecutionStatus};

/// A workflow execution as Conductor's API returns it (the fields ocflow fills in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    /// The execution id.
    pub workflow_id: String,
    /// The workflow's name.
    pub workflow_name: String,
    /// The workflow's version.
    pub workflow_version: u32,
    /// `RUNNING`, `COMPLETED`, `FAILED`, `TIMED_OUT` or `TERMINATED`.
    pub status: String,
    /// The workflow input.
    pub input: Value,
    /// The workflow output (empty until it completes).
    pub output: Value,
    /// Why it did not complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Start, in epoch milliseconds.
    pub start_time: Millis,
    /// End, in epoch milliseconds (0 while running).
    pub end_time: Millis,
    /// The correlation id given at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The workflow that started this one as a sub-workflow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_workflow_id: Option<String>,
    /// The tasks, in the order they were scheduled.
    pub tasks: Vec<Task>,
}

/// One task of a [`Workflow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// The task's type (`HTTP`, `SWITCH`, a worker's type, ...).
    pub task_type: String,
    /// The reference name; `ref__N` for the N-th iteration of a DO_WHILE body.
    pub reference_task_name: String,
    /// The task definition's name.
    pub task_def_name: String,
    /// `SCHEDULED`, `IN_PROGRESS`, `COMPLETED`, `COMPLETED_WITH_ERRORS`, `FAILED`, `TIMED_OUT`,
    /// `CANCELED`, ...
    pub status: String,
    /// The task input.
    pub input_data: Value,
    /// The task output.
    pub output_data: Value,
    /// How many times it was retried before this attempt.
    pub retry_count: u32,
    /// When it was scheduled.
    pub scheduled_time: Millis,
    /// When it started.
    pub start_time: Millis,
    /// When it ended (0 while running).
    pub end_time: Millis,
    /// Why it did not complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Position in the workflow, from 1.
    pub seq: u32,
    /// A stable id: `<workflowId>-<seq>`.
    pub task_id: String,
    /// The DO_WHILE iteration, from 1 (0 outside loops).
    pub iteration: u32,
    /// The execution this task belongs to.
    pub workflow_instance_id: String,
    /// The task token a worker completes it with, for callback tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_token: Option<String>,
}

fn payload_of_lambda(resource: &str, value: &Value) -> Value {
    if resource.starts_with("arn:aws:states:::lambda:invoke") {
        value.get("Payload").cloned().unwrap_or(Value::Null)
    } else {
        value.clone()
    }
}

/// A task's input as Conductor shows it: a worker (or external) task message's `inputData`
/// rather than the SQS envelope around it; a script's (INLINE, JSON_JQ_TRANSFORM) task input
/// rather than the script request around it; a Lambda's `Payload`; else the evaluated
/// arguments.
fn task_input(resource: &str, arguments: &Value) -> Value {
    if resource == SQS_SEND_WAIT_TOKEN {
        let body = match arguments.get("MessageBody") {
            Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
            Some(body) => body.clone(),
            None => Value::Null,
        };
        if let Some(input) = body.get("inputData") {
            return input.clone();
        }
    }
    let payload = payload_of_lambda(resource, arguments);
    let is_script = matches!(payload["kind"].as_str(), Some("javascript" | "jq"))
        && payload.get("expression").is_some();
    match payload.get("input") {
        Some(input) if is_script => input.clone(),
        _ => payload,
    }
}

/// The JOIN task of the fork task `fork`, scheduled `at`, in progress: Conductor's JOIN, which
/// has no state of its own here.
fn join_task(fork: &Task, join: &JoinTask, looped: bool, seq: u32, at: Millis) -> Task {
    let iteration = if looped { fork.iteration.max(1) } else { 0 };
    Task {
        task_type: "JOIN".into(),
        reference_task_name: if looped {
            format!("{}__{iteration}", join.reference_task_name)
        } else {
            join.reference_task_name.clone()
        },
        task_def_name: join.task_name.clone(),
        status: "IN_PROGRESS".into(),
        input_data: json!({}),
        output_data: json!({}),
        retry_count: 0,
        scheduled_time: at,
        start_time: at,
        end_time: 0,
        reason_for_incompletion: None,
        seq,
        task_id: format!("{}-{seq}", fork.workflow_instance_id),
        iteration,
        workflow_instance_id: fork.workflow_instance_id.clone(),
        callback_token: None,
    }
}

fn is_empty(value: &Value) -> bool {
    value.as_object().is_none_or(Map::is_empty)
}

/// A TERMINATE task's input as Conductor shows it, from what it ended the workflow with.
fn terminate_input(terminate: &Map<String, Value>) -> Value {
    let mut input = Map::new();
    for (from, to) in [
        ("status", "terminationStatus"),
        ("reason", "terminationReason"),
        ("output", "workflowOutput"),
    ] {
        if let Some(value) = terminate.get(from).filter(|v| !v.is_null()) {
            input.insert(to.to_owned(), value.clone());
        }
    }
    Value::Object(input)
}

fn as_object(value: Value) -> Value {
    match value {
        Value::Object(_) => value,
        Value::Null => json!({}),
        other => json!({ "result": other }),
    }
}

/// Builds the Conductor view of an execution.
pub fn workflow(
    record: &ExecutionRecord,
    history: &[HistoryEvent],
    task_map: &TaskMap,
) -> Workflow {
    let mut tasks: Vec<Task> = Vec::new();
    // (scope, state) → index of its latest task; how often each was entered; resources.
    let mut open: HashMap<(String, String), usize> = HashMap::new();
    let mut entered: HashMap<(String, String), u32> = HashMap::new();
    let mut resources: HashMap<(String, String), String> = HashMap::new();
    // (scope, variable) → index of the DO_WHILE task whose output that variable holds; its
    // check state (not a task of its own) updates it after every iteration.
    let mut loop_outputs: HashMap<(String, String), usize> = HashMap::new();
    // States entered and not yet exited; at a redrive, they are entered again, and each
    // shows as a new attempt of its task (Conductor's retry) with the retry count going on.
    let mut unexited: HashSet<(String, String)> = HashSet::new();
    let mut redriven: HashMap<(String, String), u32> = HashMap::new();
    // Forks not exited yet: the fork task's index, its JOIN, whether it is in a loop.
    let mut open_forks: HashMap<(String, String), (usize, &JoinTask, bool)> = HashMap::new();
    let mut retry_base: HashMap<(String, String), u32> = HashMap::new();
    let mut ended_at: Millis = 0;
    for event in history {
        match &event.kind {
            EventKind::ExecutionRestarted => {
                // Conductor's restart: the workflow runs again with no tasks.
                tasks.clear();
                open.clear();
                entered.clear();
                resources.clear();
                loop_outputs.clear();
                unexited.clear();
                redriven.clear();
                retry_base.clear();
                continue;
            }
            EventKind::ExecutionRedriven { .. } => {
                for key in unexited.drain() {
                    let Some(&index) = open.get(&key) else {
                        continue;
                    };
                    let task = &mut tasks[index];
                    if task.status == "IN_PROGRESS" || task.status == "SCHEDULED" {
                        task.status = "CANCELED".into();
                        task.end_time = ended_at;
                    }
                    redriven.insert(key, task.retry_count + 1);
                }
                continue;
            }
            EventKind::ExecutionFailed { .. }
            | EventKind::ExecutionTimedOut
            | EventKind::ExecutionAborted { .. } => ended_at = event.timestamp,
            _ => {}
        }
        if let EventKind::StateExited { assigned, .. } = &event.kind {
            for ((scope, variable), &index) in &loop_outputs {
                let output = (*scope == event.scope)
                    .then(|| assigned.get(variable))
                    .flatten()
                    .and_then(|view| view.get("output"));
                if let Some(output) = output {
                    tasks[index].output_data = as_object(output.clone());
                }
            }
        }
        let Some(state) = event.kind.state() else {
            continue;
        };
        let Some(mapped) = task_map.task(state) else {
            continue;
        };
        let key = (event.scope.clone(), state.to_owned());
        let new_task = |tasks: &Vec<Task>, iteration: u32, retry_count: u32| {
            let seq = u32::try_from(tasks.len() + 1).unwrap_or(u32::MAX);
            let reference = if mapped.loops.is_empty() {
                mapped.reference_task_name.clone()
            } else {
                format!("{}__{iteration}", mapped.reference_task_name)
            };
            Task {
                // Conductor lists a SIMPLE task under its task definition's name.
                task_type: if mapped.task_type == "SIMPLE" {
                    mapped.task_name.clone()
                } else {
                    mapped.task_type.clone()
                },
                reference_task_name: reference,
                task_def_name: mapped.task_name.clone(),
                status: "IN_PROGRESS".into(),
                input_data: json!({}),
                output_data: json!({}),
                retry_count,
                scheduled_time: event.timestamp,
                start_time: event.timestamp,
                end_time: 0,
                reason_for_incompletion: None,
                seq,
                task_id: format!("{}-{seq}", record.id),
                iteration: if mapped.loops.is_empty() {
                    0
                } else {
                    iteration
                },
                workflow_instance_id: record.id.clone(),
                callback_token: None,
            }
        };
        match &event.kind {
            EventKind::StateEntered { input, .. } => {
                unexited.insert(key.clone());
                let count = entered.entry(key.clone()).or_default();
                // A redriven state runs the same iteration again, as a new attempt.
                let base = redriven.remove(&key);
                if base.is_none() || *count == 0 {
                    *count += 1;
                }
                let base = base.unwrap_or(0);
                retry_base.insert(key.clone(), base);
                let mut task = new_task(&tasks, *count, base);
                if mapped.dynamic {
                    // A task chosen at run time is described by the item it was given.
                    let chosen = &input["task"];
                    if let Some(reference) = chosen["taskReferenceName"].as_str() {
                        task.reference_task_name = reference.to_owned();
                    }
                    if let Some(name) = chosen["name"].as_str() {
                        task.task_def_name = name.to_owned();
                    }
                    if let Some(task_type) = chosen["type"].as_str() {
                        task.task_type = task_type.to_owned();
                    }
                }
                if let (Some(variable), "DO_WHILE") = (&mapped.variable, task.task_type.as_str()) {
                    loop_outputs.insert((event.scope.clone(), variable.clone()), tasks.len());
                }
                if let Some(join) = &mapped.join {
                    let looped = !mapped.loops.is_empty();
                    open_forks.insert(key.clone(), (tasks.len(), join, looped));
                }
                open.insert(key, tasks.len());
                tasks.push(task);
            }
            EventKind::TaskScheduled {
                resource,
                arguments,
                attempt,
                ..
            } => {
                resources.insert(key.clone(), resource.clone());
                let Some(&index) = open.get(&key) else {
                    continue;
                };
                let retry_count = retry_base.get(&key).copied().unwrap_or(0) + *attempt;
                let index = if *attempt > 0 && tasks[index].status != "IN_PROGRESS" {
                    // A retry: Conductor shows a new task per attempt.
                    let iteration = tasks[index].iteration.max(1);
                    let mut task = new_task(&tasks, iteration, retry_count);
                    task.reference_task_name = tasks[index].reference_task_name.clone();
                    task.task_def_name = tasks[index].task_def_name.clone();
                    task.task_type = tasks[index].task_type.clone();
                    task.iteration = tasks[index].iteration;
                    open.insert(key.clone(), tasks.len());
                    tasks.push(task);
                    tasks.len() - 1
                } else {
                    index
                };
                tasks[index].input_data = as_object(task_input(resource, arguments));
                tasks[index].retry_count = retry_count;
                tasks[index].start_time = event.timestamp;
            }
            EventKind::TaskTokenIssued { token, .. } => {
                if let Some(&index) = open.get(&key) {
                    tasks[index].callback_token = Some(token.clone());
                }
            }
            EventKind::TaskSucceeded { result, .. } => {
                if let Some(&index) = open.get(&key) {
                    let resource = resources.get(&key).map(String::as_str).unwrap_or_default();
                    tasks[index].output_data = as_object(payload_of_lambda(resource, result));
                    tasks[index].status = "COMPLETED".into();
                    tasks[index].end_time = event.timestamp;
                }
            }
            EventKind::TaskFailed { error, cause, .. } => {
                if let Some(&index) = open.get(&key) {
                    let timed_out = error == names::TIMEOUT || error == names::HEARTBEAT_TIMEOUT;
                    tasks[index].status = if timed_out { "TIMED_OUT" } else { "FAILED" }.into();
                    tasks[index].reason_for_incompletion = Some(format!("{error}: {cause}"));
                    tasks[index].end_time = event.timestamp;
                }
            }
            EventKind::StateExited {
                output, assigned, ..
            } => {
                unexited.remove(&key);
                let Some(&index) = open.get(&key) else {
                    continue;
                };
                let task = &mut tasks[index];
                if let Some(view) = mapped.variable.as_ref().and_then(|v| assigned.get(v)) {
                    if let Some(input) = view.get("input") {
                        task.input_data = as_object(input.clone());
                    }
                    if let Some(out) = view.get("output") {
                        task.output_data = as_object(out.clone());
                    }
                    if let Some(status) = view.get("status").and_then(Value::as_str) {
                        task.status = status.to_owned();
                    } else if task.status == "IN_PROGRESS" {
                        task.status = "COMPLETED".into();
                    }
                    if let Some(reason) = view.get("reasonForIncompletion").and_then(Value::as_str)
                    {
                        task.reason_for_incompletion = Some(reason.to_owned());
                    }
                } else if task.status == "IN_PROGRESS" {
                    task.status = "COMPLETED".into();
                    // A state without a resource outputs what the task computed (an INLINE
                    // evaluated in place, say); SET_VARIABLE and NOOP output nothing in
                    // Conductor, though as a workflow's last state theirs is its output.
                    let outputs_nothing =
                        matches!(mapped.task_type.as_str(), "SET_VARIABLE" | "NOOP");
                    if !resources.contains_key(&key) && !outputs_nothing {
                        task.output_data = as_object(output.clone());
                    }
                }
                if task.end_time == 0 {
                    task.end_time = event.timestamp;
                }
                open_forks.remove(&key);
                if let Some(join) = &mapped.join {
                    // Conductor's FORK outputs nothing; its JOIN holds the joined outputs.
                    task.output_data = json!({});
                    let joined = assigned
                        .get(&join.variable)
                        .and_then(|view| view.get("output"))
                        .cloned()
                        .unwrap_or_else(|| json!({}));
                    let seq = u32::try_from(tasks.len() + 1).unwrap_or(u32::MAX);
                    let looped = !mapped.loops.is_empty();
                    let mut join_task =
                        join_task(&tasks[index], join, looped, seq, event.timestamp);
                    join_task.status = "COMPLETED".into();
                    join_task.output_data = as_object(joined);
                    join_task.end_time = event.timestamp;
                    tasks.push(join_task);
                }
            }
            _ => {}
        }
    }

    let (mut status, mut output, mut reason) = match record.status {
        ExecutionStatus::Running => ("RUNNING", json!({}), None),
        ExecutionStatus::Succeeded => (
            "COMPLETED",
            record.output.clone().unwrap_or_else(|| json!({})),
            None,
        ),
        ExecutionStatus::Failed => (
            "FAILED",
            json!({}),
            Some(match (&record.error, &record.cause) {
                (Some(error), Some(cause)) if !cause.is_empty() => format!("{error}: {cause}"),
                (Some(error), _) => error.clone(),
                (None, cause) => cause.clone().unwrap_or_default(),
            }),
        ),
        ExecutionStatus::TimedOut => (
            "TIMED_OUT",
            json!({}),
            Some("Workflow timed out".to_owned()),
        ),
        ExecutionStatus::Aborted => ("TERMINATED", json!({}), record.cause.clone()),
    };
    // What a TERMINATE task ended the workflow with: `{status, reason?, output?}`.
    let terminate: Option<Map<String, Value>> =
        (record.error.as_deref() == Some(WORKFLOW_TERMINATED)).then(|| {
            record
                .cause
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok())
                .unwrap_or_default()
        });
    if let Some(terminate) = &terminate {
        status = match terminate.get("status").and_then(Value::as_str) {
            Some("COMPLETED") => "COMPLETED",
            Some("FAILED") => "FAILED",
            _ => "TERMINATED",
        };
        reason = terminate
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_owned);
        output = terminate
            .get("output")
            .cloned()
            .unwrap_or_else(|| json!({}));
    }
    // A fork whose branches have not all ended: Conductor's FORK completes as it schedules
    // them, and its JOIN waits (canceled with the rest if the workflow has ended).
    let mut unjoined: Vec<(usize, &JoinTask, bool)> = open_forks.into_values().collect();
    unjoined.sort_by_key(|(index, ..)| *index);
    for (index, join, looped) in unjoined {
        let fork = &mut tasks[index];
        fork.status = "COMPLETED".into();
        fork.end_time = fork.start_time;
        let seq = u32::try_from(tasks.len() + 1).unwrap_or(u32::MAX);
        let join = join_task(&tasks[index], join, looped, seq, tasks[index].start_time);
        tasks.push(join);
    }
    if record.status.is_final() {
        for task in &mut tasks {
            if task.status == "IN_PROGRESS" && task.task_type == "TERMINATE" {
                // The Succeed/Fail state of a TERMINATE task ends the run: its work is done.
                task.status = "COMPLETED".into();
                task.end_time = record.end_time.unwrap_or_default();
                if let Some(terminate) = &terminate {
                    if is_empty(&task.input_data) {
                        task.input_data = terminate_input(terminate);
                    }
                    if is_empty(&task.output_data) {
                        // Conductor's TERMINATE outputs the workflow output it was given.
                        let output = terminate.get("output").cloned().unwrap_or(Value::Null);
                        task.output_data = match output {
                            Value::Object(_) => output,
                            Value::Null => json!({}),
                            other => json!({ "output": other }),
                        };
                    }
                }
            } else if task.status == "IN_PROGRESS" || task.status == "SCHEDULED" {
                task.status = "CANCELED".into();
                task.end_time = record.end_time.unwrap_or_default();
            }
        }
    }
    Workflow {
        workflow_id: record.id.clone(),
        workflow_name: if task_map.workflow_name.is_empty() {
            record.machine.clone()
        } else {
            task_map.workflow_name.clone()
        },
        workflow_version: task_map.workflow_version,
        status: status.to_owned(),
        input: record.input.clone(),
        output,
        reason_for_incompletion: reason,
        start_time: record.start_time,
        end_time: record.end_time.unwrap_or_default(),
        correlation_id: record.correlation_id.clone(),
        parent_workflow_id: record.parent_id.clone(),
        tasks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocflow_protocol::task_map::StateTask;
    use std::sync::Arc;

    fn record(status: ExecutionStatus) -> ExecutionRecord {
        ExecutionRecord {
            id: "wf".into(),
            machine: "m".into(),
            definition: Arc::new(json!({})),
            input: json!({"a": 1}),
            status,
            start_time: 10,
            end_time: status.is_final().then_some(99),
            output: None,
            error: None,
            cause: Some("stopped by user".into()),
            parent_id: None,
            correlation_id: None,
        }
    }

    fn event(id: u64, kind: EventKind) -> HistoryEvent {
        HistoryEvent {
            id,
            timestamp: 10 + id as Millis,
            scope: String::new(),
            kind,
        }
    }

    fn map() -> TaskMap {
        TaskMap {
            workflow_name: "wf_name".into(),
            workflow_version: 1,
            states: [(
                "Ask".to_owned(),
                StateTask {
                    reference_task_name: "ask".into(),
                    task_type: "HUMAN".into(),
                    task_name: "ask".into(),
                    variable: None,
                    loops: vec![],
                    dynamic: false,
                    join: None,
                },
            )]
            .into(),
        }
    }

    fn history() -> Vec<HistoryEvent> {
        vec![
            event(1, EventKind::ExecutionStarted { input: json!({}) }),
            event(
                2,
                EventKind::StateEntered {
                    state: "Ask".into(),
                    input: json!({}),
                },
            ),
            event(
                3,
                EventKind::TaskScheduled {
                    state: "Ask".into(),
                    resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken".into(),
                    arguments: json!({"QueueUrl": "q"}),
                    attempt: 0,
                },
            ),
            event(
                4,
                EventKind::TaskTokenIssued {
                    state: "Ask".into(),
                    token: "t-1".into(),
                },
            ),
        ]
    }

    #[test]
    fn a_waiting_task_is_in_progress_with_its_token() {
        let workflow = workflow(&record(ExecutionStatus::Running), &history(), &map());
        assert_eq!(workflow.status, "RUNNING");
        assert_eq!(workflow.tasks.len(), 1);
        let task = &workflow.tasks[0];
        assert_eq!(task.status, "IN_PROGRESS");
        assert_eq!(task.callback_token.as_deref(), Some("t-1"));
        assert_eq!(task.input_data, json!({"QueueUrl": "q"}));
        assert_eq!(task.end_time, 0);
    }

    #[test]
    fn ending_from_outside_cancels_open_tasks() {
        let stopped = workflow(&record(ExecutionStatus::Aborted), &history(), &map());
        assert_eq!(stopped.status, "TERMINATED");
        assert_eq!(
            stopped.reason_for_incompletion.as_deref(),
            Some("stopped by user")
        );
        assert_eq!(stopped.tasks[0].status, "CANCELED");
        assert_eq!(stopped.tasks[0].end_time, 99);
        let timed_out = workflow(&record(ExecutionStatus::TimedOut), &history(), &map());
        assert_eq!(timed_out.status, "TIMED_OUT");
    }
    #[test]
    fn a_loop_shows_the_output_its_check_state_assigned_last() {
        let map = TaskMap {
            workflow_name: "wf".into(),
            workflow_version: 1,
            states: [(
                "loop".to_owned(),
                StateTask {
                    reference_task_name: "loop".into(),
                    task_type: "DO_WHILE".into(),
                    task_name: "loop".into(),
                    variable: Some("t_loop".into()),
                    loops: vec![],
                    dynamic: false,
                    join: None,
                },
            )]
            .into(),
        };
        let exited = |id, state: &str, output: Value| {
            let mut assigned = Map::new();
            assigned.insert("t_loop".into(), json!({ "output": output }));
            event(
                id,
                EventKind::StateExited {
                    state: state.into(),
                    output: json!({}),
                    assigned,
                },
            )
        };
        let history = vec![
            event(
                1,
                EventKind::StateEntered {
                    state: "loop".into(),
                    input: json!({}),
                },
            ),
            exited(2, "loop", json!({"iteration": 1})),
            exited(3, "loop_check", json!({"iteration": 2, "1": {"a": {}}})),
            exited(
                4,
                "loop_check",
                json!({"iteration": 2, "1": {"a": {}}, "2": {"a": {}}}),
            ),
        ];
        let mut done = record(ExecutionStatus::Succeeded);
        done.cause = None;
        let workflow = workflow(&done, &history, &map);
        assert_eq!(workflow.tasks.len(), 1);
        assert_eq!(workflow.tasks[0].status, "COMPLETED");
        assert_eq!(
            workflow.tasks[0].output_data,
            json!({"iteration": 2, "1": {"a": {}}, "2": {"a": {}}})
        );
    }
}
