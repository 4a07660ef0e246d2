//! What a compiled state machine uses: the placeholders to substitute and, per Task state, the
//! integration and the one resource it targets. Permissions are derived from targets only, so a
//! placeholder that merely travels in a payload is substituted but grants nothing.

use std::collections::{BTreeMap, BTreeSet};

use ocflow_asl::{State, StateMachine, escape_pointer};
use ocflow_protocol::placeholders;
use serde_json::Value;

use crate::error::Error;

/// A Lambda function of the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Function {
    /// Runs HTTP tasks and `ocf://` service calls.
    HttpTask,
    /// Runs INLINE (JavaScript) and JSON_JQ_TRANSFORM tasks.
    ScriptTask,
    /// Starts executions from the start queue.
    Starter,
    /// Records execution status changes and reconciles stuck rows.
    Tracker,
    /// Serves the Conductor-compatible REST API behind a function URL.
    Api,
}

impl Function {
    /// Functions every deployment has, in template order.
    pub const SHARED: [Function; 5] = [
        Function::HttpTask,
        Function::ScriptTask,
        Function::Starter,
        Function::Tracker,
        Function::Api,
    ];

    /// The folder under `functions/` holding the function's crate.
    pub fn dir_name(self) -> &'static str {
        match self {
            Function::HttpTask => "http-task",
            Function::ScriptTask => "script-task",
            Function::Starter => "starter",
            Function::Tracker => "tracker",
            Function::Api => "api",
        }
    }

    /// The CloudFormation logical id.
    pub fn logical_id(self) -> &'static str {
        match self {
            Function::HttpTask => "HttpTaskFunction",
            Function::ScriptTask => "ScriptTaskFunction",
            Function::Starter => "StarterFunction",
            Function::Tracker => "TrackerFunction",
            Function::Api => "ApiFunction",
        }
    }
}

/// A `${Key}` placeholder of compiled ASL, by what it stands for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Placeholder {
    /// A task function's ARN.
    Function(Function),
    /// The external-task queue's URL.
    ExternalTaskQueue,
    /// A worker queue's URL, by sanitised task type.
    WorkerQueue(String),
    /// A workflow's state machine ARN, by sanitised workflow name.
    StateMachine(String),
    /// An EVENT sink queue's URL, by sanitised queue name.
    EventQueue(String),
    /// An EVENT sink topic's ARN, by sanitised topic name.
    EventTopic(String),
    /// An EVENT sink bus's ARN, by sanitised bus name.
    EventBus(String),
}

impl Placeholder {
    /// Classifies a substitution key (the text between `${` and `}`).
    pub fn from_key(key: &str) -> Option<Placeholder> {
        let fixed = |placeholder: &str| placeholders::key(placeholder) == Some(key);
        if fixed(placeholders::HTTP_TASK_FUNCTION) {
            return Some(Placeholder::Function(Function::HttpTask));
        }
        if fixed(placeholders::SCRIPT_TASK_FUNCTION) {
            return Some(Placeholder::Function(Function::ScriptTask));
        }
        if fixed(placeholders::EXTERNAL_TASK_QUEUE_URL) {
            return Some(Placeholder::ExternalTaskQueue);
        }
        let (prefix, suffix) = key.split_once('_')?;
        if suffix.is_empty() {
            return None;
        }
        let suffix = suffix.to_owned();
        match prefix {
            "WorkerQueueUrl" => Some(Placeholder::WorkerQueue(suffix)),
            "StateMachineArn" => Some(Placeholder::StateMachine(suffix)),
            "EventQueueUrl" => Some(Placeholder::EventQueue(suffix)),
            "EventTopicArn" => Some(Placeholder::EventTopic(suffix)),
            "EventBusArn" => Some(Placeholder::EventBus(suffix)),
            _ => None,
        }
    }

    /// The substitution key.
    pub fn key(&self) -> String {
        let inner = |text: &str| placeholders::key(text).unwrap_or_default().to_owned();
        match self {
            Placeholder::Function(Function::HttpTask) => inner(placeholders::HTTP_TASK_FUNCTION),
            Placeholder::Function(Function::ScriptTask) => {
                inner(placeholders::SCRIPT_TASK_FUNCTION)
            }
            Placeholder::Function(function) => format!("{}Arn", function.logical_id()),
            Placeholder::ExternalTaskQueue => inner(placeholders::EXTERNAL_TASK_QUEUE_URL),
            Placeholder::WorkerQueue(name) => format!("WorkerQueueUrl_{name}"),
            Placeholder::StateMachine(name) => format!("StateMachineArn_{name}"),
            Placeholder::EventQueue(name) => format!("EventQueueUrl_{name}"),
            Placeholder::EventTopic(name) => format!("EventTopicArn_{name}"),
            Placeholder::EventBus(name) => format!("EventBusArn_{name}"),
        }
    }
}

/// An SQS queue a machine sends to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Queue {
    /// The external-task queue.
    ExternalTask,
    /// A worker queue, by sanitised task type.
    Worker(String),
    /// An EVENT sink queue, by sanitised name.
    Event(String),
}

/// Everything one state machine uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Every placeholder in the definition; each becomes a `DefinitionSubstitutions` entry.
    pub placeholders: BTreeSet<Placeholder>,
    /// Functions the machine invokes.
    pub invokes: BTreeSet<Function>,
    /// Queues the machine sends messages to.
    pub sends: BTreeSet<Queue>,
    /// Child machines (sanitised workflow names) the machine starts, and whether any start
    /// waits for the child (`.sync`).
    pub starts: BTreeMap<String, bool>,
    /// SNS topics (sanitised names) the machine publishes to.
    pub publishes: BTreeSet<String>,
    /// EventBridge buses (sanitised names) the machine puts events on.
    pub puts: BTreeSet<String>,
    /// Whether some Task waits for a task token or a child (patterns Express cannot run), with
    /// the pointer and resource of the first one.
    pub standard_only: Option<(String, String)>,
}

/// The integration a Task resource names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Integration {
    LambdaInvoke,
    SqsSend,
    StartExecution { sync: bool },
    SnsPublish,
    PutEvents,
}

impl Integration {
    fn of(resource: &str) -> Option<(Integration, bool)> {
        let (integration, standard_only) = match resource {
            placeholders::LAMBDA_INVOKE => (Integration::LambdaInvoke, false),
            placeholders::SQS_SEND => (Integration::SqsSend, false),
            placeholders::SQS_SEND_WAIT_TOKEN => (Integration::SqsSend, true),
            placeholders::START_EXECUTION => (Integration::StartExecution { sync: false }, false),
            placeholders::START_EXECUTION_SYNC | "arn:aws:states:::states:startExecution.sync" => {
                (Integration::StartExecution { sync: true }, true)
            }
            placeholders::SNS_PUBLISH => (Integration::SnsPublish, false),
            placeholders::EVENTBRIDGE_PUT_EVENTS => (Integration::PutEvents, false),
            _ => return None,
        };
        Some((integration, standard_only))
    }

    /// The argument naming the integration's target.
    fn target_field(self) -> &'static str {
        match self {
            Integration::LambdaInvoke => "FunctionName",
            Integration::SqsSend => "QueueUrl",
            Integration::StartExecution { .. } => "StateMachineArn",
            Integration::SnsPublish => "TopicArn",
            Integration::PutEvents => "Entries",
        }
    }
}

impl Usage {
    /// Scans `machine` (of workflow `workflow`, for error messages).
    pub fn scan(workflow: &str, machine: &StateMachine) -> Result<Usage, Error> {
        let mut usage = Usage::default();
        let document = serde_json::to_value(machine).map_err(|e| Error::Serialize {
            what: format!("state machine `{workflow}`"),
            message: e.to_string(),
        })?;
        collect_placeholders(
            workflow,
            &document,
            &mut String::new(),
            &mut usage.placeholders,
        )?;
        for scope in machine.scopes() {
            for (name, state) in scope.states {
                if let State::Task(task) = state {
                    let pointer = scope.state_pointer(name);
                    usage.add_task(workflow, &pointer, &task.resource, task.arguments.as_ref())?;
                }
            }
        }
        Ok(usage)
    }

    fn add_task(
        &mut self,
        workflow: &str,
        pointer: &str,
        resource: &str,
        arguments: Option<&Value>,
    ) -> Result<(), Error> {
        // A bare function ARN placeholder as `Resource` is a direct (optimised-away) invoke.
        if let Some(Placeholder::Function(function)) =
            placeholders::key(resource).and_then(Placeholder::from_key)
        {
            self.invokes.insert(function);
            return Ok(());
        }
        let resource_pointer = format!("{pointer}/Resource");
        let Some((integration, standard_only)) = Integration::of(resource) else {
            return Err(Error::UnsupportedResource {
                workflow: workflow.to_owned(),
                pointer: resource_pointer,
                resource: resource.to_owned(),
            });
        };
        if standard_only && self.standard_only.is_none() {
            self.standard_only = Some((resource_pointer, resource.to_owned()));
        }
        if integration == Integration::PutEvents {
            return self.add_event_entries(workflow, pointer, arguments);
        }
        let field = integration.target_field();
        let target_pointer = format!("{pointer}/Arguments/{field}");
        let target = arguments.and_then(|arguments| arguments.get(field));
        let key = target_key(workflow, &target_pointer, field, target)?;
        let placeholder = Placeholder::from_key(key);
        match (integration, placeholder) {
            (Integration::LambdaInvoke, Some(Placeholder::Function(function))) => {
                self.invokes.insert(function);
            }
            (Integration::SqsSend, Some(Placeholder::ExternalTaskQueue)) => {
                self.sends.insert(Queue::ExternalTask);
            }
            (Integration::SqsSend, Some(Placeholder::WorkerQueue(name))) => {
                self.sends.insert(Queue::Worker(name));
            }
            (Integration::SqsSend, Some(Placeholder::EventQueue(name))) => {
                self.sends.insert(Queue::Event(name));
            }
            (Integration::StartExecution { sync }, Some(Placeholder::StateMachine(name))) => {
                *self.starts.entry(name).or_default() |= sync;
            }
            (Integration::SnsPublish, Some(Placeholder::EventTopic(name))) => {
                self.publishes.insert(name);
            }
            _ => return Err(mismatched(workflow, target_pointer, field, key)),
        }
        Ok(())
    }

    /// `events:putEvents` names a bus per entry; an entry without `EventBusName` goes to the
    /// account's default bus.
    fn add_event_entries(
        &mut self,
        workflow: &str,
        pointer: &str,
        arguments: Option<&Value>,
    ) -> Result<(), Error> {
        const FIELD: &str = "EventBusName";
        let entries_pointer = format!("{pointer}/Arguments/Entries");
        let entries = arguments.and_then(|arguments| arguments.get("Entries"));
        let Some(entries) = entries.and_then(Value::as_array) else {
            return Err(Error::DynamicTarget {
                workflow: workflow.to_owned(),
                pointer: entries_pointer,
                field: "Entries",
                found: entries.map_or_else(|| "nothing".to_owned(), Value::to_string),
            });
        };
        for (index, entry) in entries.iter().enumerate() {
            let target_pointer = format!("{entries_pointer}/{index}/{FIELD}");
            let Some(target) = entry.get(FIELD) else {
                self.puts.insert(DEFAULT_BUS.to_owned());
                continue;
            };
            let key = target_key(workflow, &target_pointer, FIELD, Some(target))?;
            match Placeholder::from_key(key) {
                Some(Placeholder::EventBus(name)) => {
                    self.puts.insert(name);
                }
                _ => return Err(mismatched(workflow, target_pointer, FIELD, key)),
            }
        }
        Ok(())
    }
}

/// The account's default EventBridge bus, which a deployment uses but does not create.
pub const DEFAULT_BUS: &str = "default";

/// The placeholder key a target argument must be.
fn target_key<'v>(
    workflow: &str,
    pointer: &str,
    field: &'static str,
    target: Option<&'v Value>,
) -> Result<&'v str, Error> {
    target
        .and_then(Value::as_str)
        .and_then(placeholders::key)
        .ok_or_else(|| Error::DynamicTarget {
            workflow: workflow.to_owned(),
            pointer: pointer.to_owned(),
            field,
            found: target.map_or_else(|| "nothing".to_owned(), Value::to_string),
        })
}

fn mismatched(workflow: &str, pointer: String, field: &'static str, key: &str) -> Error {
    Error::MismatchedTarget {
        workflow: workflow.to_owned(),
        pointer,
        field,
        key: key.to_owned(),
    }
}

/// Collects every `${Key}` in the strings of `value`; keys that are not ocflow placeholders
/// are errors, since SAM would leave them (or fail on them) in the deployed definition.
fn collect_placeholders(
    workflow: &str,
    value: &Value,
    pointer: &mut String,
    out: &mut BTreeSet<Placeholder>,
) -> Result<(), Error> {
    match value {
        Value::String(text) => {
            for key in keys_in(text) {
                if placeholders::key(placeholders::EVENT_TASK_FUNCTION) == Some(key) {
                    return Err(Error::FunctionNotDeployed {
                        workflow: workflow.to_owned(),
                        pointer: pointer.clone(),
                        key: key.to_owned(),
                    });
                }
                let placeholder =
                    Placeholder::from_key(key).ok_or_else(|| Error::UnknownPlaceholder {
                        workflow: workflow.to_owned(),
                        pointer: pointer.clone(),
                        key: key.to_owned(),
                    })?;
                out.insert(placeholder);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{index}"));
                collect_placeholders(workflow, item, pointer, out)?;
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (name, item) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape_pointer(name));
                collect_placeholders(workflow, item, pointer, out)?;
                pointer.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// The substitution keys of the `${Key}` occurrences in `text` (`Key` of `A-Z a-z 0-9 _`).
fn keys_in(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("${").filter_map(|(start, _)| {
        let rest = &text[start + 2..];
        let end = rest.find('}')?;
        placeholders::key(&text[start..start + 2 + end + 1])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocflow_asl::{Branch, ParallelState, TaskState};
    use serde_json::json;

    fn lambda(function: &str) -> TaskState {
        TaskState::new(placeholders::LAMBDA_INVOKE)
            .with_arguments(json!({"FunctionName": function, "Payload": "{% $states.input %}"}))
    }

    #[test]
    fn keys_are_found_inside_text_and_odd_braces_are_ignored() {
        let keys: Vec<_> = keys_in("a ${One} ${not a key} ${Two_x}${ ${").collect();
        assert_eq!(keys, ["One", "Two_x"]);
    }

    #[test]
    fn placeholder_keys_round_trip() {
        for key in [
            "HttpTaskFunctionArn",
            "ScriptTaskFunctionArn",
            "ExternalTaskQueueUrl",
            "WorkerQueueUrl_send_email",
            "StateMachineArn_payment",
            "EventQueueUrl_q",
            "EventTopicArn_t",
            "EventBusArn_default",
        ] {
            let placeholder = Placeholder::from_key(key).expect(key);
            assert_eq!(placeholder.key(), key);
        }
        assert_eq!(Placeholder::from_key("WorkerQueueUrl_"), None);
        assert_eq!(Placeholder::from_key("DatabaseUrl"), None);
    }

    #[test]
    fn targets_in_nested_scopes_are_found() {
        let worker = TaskState::new(placeholders::SQS_SEND_WAIT_TOKEN)
            .with_arguments(json!({"QueueUrl": "${WorkerQueueUrl_pack}", "MessageBody": {}}))
            .with_end();
        let child = TaskState::new(placeholders::START_EXECUTION)
            .with_arguments(json!({"StateMachineArn": "${StateMachineArn_audit}"}))
            .with_end();
        let parallel = ParallelState {
            branches: vec![
                Branch::new("Pack").with_state("Pack", worker),
                Branch::new("Audit").with_state("Audit", child),
            ],
            ..ParallelState::default()
        }
        .with_end();
        let machine = StateMachine::new("Call")
            .with_state("Call", lambda("${HttpTaskFunctionArn}").with_next("Fork"))
            .with_state("Fork", parallel);
        let usage = Usage::scan("w", &machine).unwrap();
        assert_eq!(usage.invokes, BTreeSet::from([Function::HttpTask]));
        assert_eq!(usage.sends, BTreeSet::from([Queue::Worker("pack".into())]));
        assert_eq!(usage.starts, BTreeMap::from([("audit".to_owned(), false)]));
        assert_eq!(
            usage.standard_only,
            Some((
                "/States/Fork/Branches/0/States/Pack/Resource".to_owned(),
                placeholders::SQS_SEND_WAIT_TOKEN.to_owned()
            ))
        );
        assert_eq!(usage.placeholders.len(), 3);
    }

    #[test]
    fn a_placeholder_in_a_payload_is_substituted_but_grants_nothing() {
        let task = TaskState::new(placeholders::LAMBDA_INVOKE)
            .with_arguments(json!({
                "FunctionName": "${ScriptTaskFunctionArn}",
                "Payload": {"reply": "${ExternalTaskQueueUrl}"}
            }))
            .with_end();
        let usage = Usage::scan("w", &StateMachine::new("A").with_state("A", task)).unwrap();
        assert!(usage.sends.is_empty());
        assert!(usage.placeholders.contains(&Placeholder::ExternalTaskQueue));
    }

    #[test]
    fn unknown_placeholders_dynamic_targets_and_foreign_resources_are_errors() {
        let unknown = lambda("${HttpTaskFunctionArn}")
            .with_output(json!({"url": "${DatabaseUrl}"}))
            .with_end();
        let err = Usage::scan("w", &StateMachine::new("A").with_state("A", unknown)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "workflow `w` at /States/A/Output/url: unknown placeholder `${DatabaseUrl}`"
        );

        let dynamic = lambda("{% $fn %}").with_end();
        let err = Usage::scan("w", &StateMachine::new("A").with_state("A", dynamic)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "workflow `w` at /States/A/Arguments/FunctionName: FunctionName must be one `${...}` placeholder, found \"{% $fn %}\""
        );

        let mismatched = lambda("${WorkerQueueUrl_x}").with_end();
        let err =
            Usage::scan("w", &StateMachine::new("A").with_state("A", mismatched)).unwrap_err();
        assert!(matches!(err, Error::MismatchedTarget { .. }), "{err}");

        let foreign = TaskState::new("arn:aws:states:::dynamodb:putItem").with_end();
        let err = Usage::scan("w", &StateMachine::new("A").with_state("A", foreign)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "workflow `w` at /States/A/Resource: unsupported task resource `arn:aws:states:::dynamodb:putItem`"
        );
    }
}
