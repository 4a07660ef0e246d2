//! The eight state types, serialised with the `"Type"` tag and ASL's PascalCase field names.
//!
//! Field order in each struct is the order of the serialised JSON: `Type`, `Comment`,
//! `QueryLanguage`, the state's own fields, `Output`, `Assign`, `Retry`, `Catch`, and
//! `Next`/`End` last (unknown fields, which compiled machines never have, follow).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::fields::{
    Catcher, ChoiceRule, Extra, JsonataOr, QueryLanguage, Retrier, Transition, present,
    transition_field,
};

/// One state of a machine, tagged by `"Type"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Type")]
pub enum State {
    /// Does work through a `Resource` (Lambda invoke, SQS, nested execution, ...).
    Task(TaskState),
    /// Shapes data and assigns variables without doing work.
    Pass(PassState),
    /// Branches on JSONata conditions.
    Choice(ChoiceState),
    /// Delays for a duration or until a timestamp.
    Wait(WaitState),
    /// Ends the scope successfully.
    Succeed(SucceedState),
    /// Ends the execution with an error.
    Fail(FailState),
    /// Runs branches concurrently.
    Parallel(ParallelState),
    /// Runs an item processor for each item (inline or distributed); boxed, as it is the
    /// largest state by far.
    Map(Box<MapState>),
}

/// The kind of a [`State`], without its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateKind {
    /// [`State::Task`].
    Task,
    /// [`State::Pass`].
    Pass,
    /// [`State::Choice`].
    Choice,
    /// [`State::Wait`].
    Wait,
    /// [`State::Succeed`].
    Succeed,
    /// [`State::Fail`].
    Fail,
    /// [`State::Parallel`].
    Parallel,
    /// [`State::Map`].
    Map,
}

impl StateKind {
    /// The ASL `"Type"` name.
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Task => "Task",
            StateKind::Pass => "Pass",
            StateKind::Choice => "Choice",
            StateKind::Wait => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail => "Fail",
            StateKind::Parallel => "Parallel",
            StateKind::Map => "Map",
        }
    }

    /// Whether states of this kind end their scope and may carry no `Next`/`End`.
    pub fn is_terminal(self) -> bool {
        matches!(self, StateKind::Succeed | StateKind::Fail)
    }

    /// Whether states of this kind must carry `Next` or `End`.
    pub fn needs_transition(self) -> bool {
        !matches!(
            self,
            StateKind::Choice | StateKind::Succeed | StateKind::Fail
        )
    }
}

impl State {
    /// A Pass state with no fields set yet.
    pub fn pass() -> PassState {
        PassState::default()
    }

    /// A Task state calling `resource`.
    pub fn task(resource: impl Into<String>) -> TaskState {
        TaskState::new(resource)
    }

    /// A Choice state with no rules yet.
    pub fn choice() -> ChoiceState {
        ChoiceState::default()
    }

    /// A Wait state delaying for `seconds`.
    pub fn wait_seconds(seconds: impl Into<JsonataOr<u64>>) -> WaitState {
        WaitState {
            seconds: Some(seconds.into()),
            ..WaitState::default()
        }
    }

    /// A Succeed state.
    pub fn succeed() -> SucceedState {
        SucceedState::default()
    }

    /// A Fail state with the given error name and cause.
    pub fn fail(
        error: impl Into<JsonataOr<String>>,
        cause: impl Into<JsonataOr<String>>,
    ) -> FailState {
        FailState {
            error: Some(error.into()),
            cause: Some(cause.into()),
            ..FailState::default()
        }
    }

    /// This state's kind.
    pub fn kind(&self) -> StateKind {
        match self {
            State::Task(_) => StateKind::Task,
            State::Pass(_) => StateKind::Pass,
            State::Choice(_) => StateKind::Choice,
            State::Wait(_) => StateKind::Wait,
            State::Succeed(_) => StateKind::Succeed,
            State::Fail(_) => StateKind::Fail,
            State::Parallel(_) => StateKind::Parallel,
            State::Map(_) => StateKind::Map,
        }
    }

    /// `Comment`, if any.
    pub fn comment(&self) -> Option<&str> {
        match self {
            State::Task(s) => s.comment.as_deref(),
            State::Pass(s) => s.comment.as_deref(),
            State::Choice(s) => s.comment.as_deref(),
            State::Wait(s) => s.comment.as_deref(),
            State::Succeed(s) => s.comment.as_deref(),
            State::Fail(s) => s.comment.as_deref(),
            State::Parallel(s) => s.comment.as_deref(),
            State::Map(s) => s.comment.as_deref(),
        }
    }

    /// The state's own `QueryLanguage`, if it sets one.
    pub fn query_language(&self) -> Option<QueryLanguage> {
        match self {
            State::Task(s) => s.query_language,
            State::Pass(s) => s.query_language,
            State::Choice(s) => s.query_language,
            State::Wait(s) => s.query_language,
            State::Succeed(s) => s.query_language,
            State::Fail(s) => s.query_language,
            State::Parallel(s) => s.query_language,
            State::Map(s) => s.query_language,
        }
    }

    /// `Next`/`End`; always `None` for Choice, Succeed and Fail.
    pub fn transition(&self) -> Option<&Transition> {
        match self {
            State::Task(s) => s.transition.as_ref(),
            State::Pass(s) => s.transition.as_ref(),
            State::Wait(s) => s.transition.as_ref(),
            State::Parallel(s) => s.transition.as_ref(),
            State::Map(s) => s.transition.as_ref(),
            State::Choice(_) | State::Succeed(_) | State::Fail(_) => None,
        }
    }

    /// `Retry`; empty for states that cannot retry.
    pub fn retry(&self) -> &[Retrier] {
        match self {
            State::Task(s) => &s.retry,
            State::Parallel(s) => &s.retry,
            State::Map(s) => &s.retry,
            _ => &[],
        }
    }

    /// `Catch`; empty for states that cannot catch.
    pub fn catch(&self) -> &[Catcher] {
        match self {
            State::Task(s) => &s.catch,
            State::Parallel(s) => &s.catch,
            State::Map(s) => &s.catch,
            _ => &[],
        }
    }

    /// Fields this model does not know, kept for round trips.
    pub fn extra(&self) -> &Extra {
        match self {
            State::Task(s) => &s.extra,
            State::Pass(s) => &s.extra,
            State::Choice(s) => &s.extra,
            State::Wait(s) => &s.extra,
            State::Succeed(s) => &s.extra,
            State::Fail(s) => &s.extra,
            State::Parallel(s) => &s.extra,
            State::Map(s) => &s.extra,
        }
    }

    /// Every state this one may continue with, in field order: `Next`, Choice rules and
    /// `Default`, then `Catch` targets. Names may repeat.
    pub fn successors(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some(next) = self.transition().and_then(Transition::next) {
            out.push(next);
        }
        if let State::Choice(choice) = self {
            out.extend(choice.choices.iter().map(|rule| rule.next.as_str()));
            out.extend(choice.default.as_deref());
        }
        out.extend(self.catch().iter().map(|catcher| catcher.next.as_str()));
        out
    }
}

/// Builder methods shared by state structs.
macro_rules! builders {
    ($variant:ident($ty:ident): comment $(, $feature:ident)*) => {
        impl $ty {
            /// Sets `Comment`.
            pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
                self.comment = Some(comment.into());
                self
            }

            /// Sets the state's own `QueryLanguage`.
            pub fn with_query_language(mut self, language: QueryLanguage) -> Self {
                self.query_language = Some(language);
                self
            }
        }

        impl From<$ty> for State {
            fn from(state: $ty) -> State {
                State::$variant(state.into())
            }
        }

        $(builders!(@$feature $ty);)*
    };
    ($variant:ident($ty:ident): $($rest:tt)*) => {
        builders!($variant($ty): comment, $($rest)*);
    };
    (@output $ty:ident) => {
        impl $ty {
            /// Sets `Output` (JSON with embedded `{% %}` strings).
            pub fn with_output(mut self, output: Value) -> Self {
                self.output = Some(output);
                self
            }
        }
    };
    (@assign $ty:ident) => {
        impl $ty {
            /// Sets `Assign` (variable name to JSON with embedded `{% %}` strings).
            pub fn with_assign(mut self, assign: Value) -> Self {
                self.assign = Some(assign);
                self
            }
        }
    };
    (@arguments $ty:ident) => {
        impl $ty {
            /// Sets `Arguments` (JSON with embedded `{% %}` strings).
            pub fn with_arguments(mut self, arguments: Value) -> Self {
                self.arguments = Some(arguments);
                self
            }
        }
    };
    (@transition $ty:ident) => {
        impl $ty {
            /// Sets `"Next": name`.
            pub fn with_next(mut self, next: impl Into<String>) -> Self {
                self.transition = Some(Transition::Next(next.into()));
                self
            }

            /// Sets `"End": true`.
            pub fn with_end(mut self) -> Self {
                self.transition = Some(Transition::End);
                self
            }
        }
    };
    (@errors $ty:ident) => {
        impl $ty {
            /// Appends a `Retry` entry.
            pub fn with_retry(mut self, retrier: Retrier) -> Self {
                self.retry.push(retrier);
                self
            }

            /// Appends a `Catch` entry.
            pub fn with_catch(mut self, catcher: Catcher) -> Self {
                self.catch.push(catcher);
                self
            }
        }
    };
}

/// `"Type": "Task"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskState {
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// The ARN of the integration (`arn:aws:states:::lambda:invoke`, ...).
    #[serde(default)]
    pub resource: String,
    /// Input to the integration.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    /// A role to assume for the call (`{"RoleArn": ...}`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub credentials: Option<Value>,
    /// Fails the state with `States.Timeout` after this many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<JsonataOr<u64>>,
    /// Fails the state with `States.HeartbeatTimeout` when no heartbeat arrives in time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds: Option<JsonataOr<u64>>,
    /// The state's output.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned on success.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// Retry policies, tried in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    /// Error handlers, tried in order after retries are exhausted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    /// `Next` or `End`.
    #[serde(flatten, with = "transition_field")]
    pub transition: Option<Transition>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

impl TaskState {
    /// A Task calling `resource`.
    pub fn new(resource: impl Into<String>) -> Self {
        TaskState {
            resource: resource.into(),
            ..TaskState::default()
        }
    }

    /// Sets `TimeoutSeconds`.
    pub fn with_timeout_seconds(mut self, seconds: impl Into<JsonataOr<u64>>) -> Self {
        self.timeout_seconds = Some(seconds.into());
        self
    }

    /// Sets `HeartbeatSeconds`.
    pub fn with_heartbeat_seconds(mut self, seconds: impl Into<JsonataOr<u64>>) -> Self {
        self.heartbeat_seconds = Some(seconds.into());
        self
    }

    /// Sets `Credentials`.
    pub fn with_credentials(mut self, credentials: Value) -> Self {
        self.credentials = Some(credentials);
        self
    }
}

builders!(Task(TaskState): arguments, output, assign, errors, transition);

/// `"Type": "Pass"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PassState {
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// The state's output; the input passes through when absent.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// `Next` or `End`.
    #[serde(flatten, with = "transition_field")]
    pub transition: Option<Transition>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

builders!(Pass(PassState): output, assign, transition);

/// `"Type": "Choice"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChoiceState {
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// Rules, tried in order; the first true `Condition` wins.
    #[serde(default)]
    pub choices: Vec<ChoiceRule>,
    /// Where to go when no rule matches; without it, no match fails with `States.NoChoiceMatched`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The state's output.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

impl ChoiceState {
    /// Appends a rule.
    pub fn with_rule(mut self, rule: ChoiceRule) -> Self {
        self.choices.push(rule);
        self
    }

    /// Sets `Default`.
    pub fn with_default(mut self, default: impl Into<String>) -> Self {
        self.default = Some(default.into());
        self
    }
}

builders!(Choice(ChoiceState): output, assign);

/// `"Type": "Wait"`: set one of `Seconds` or `Timestamp`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitState {
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// How long to wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<JsonataOr<u64>>,
    /// Until when to wait (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<JsonataOr<String>>,
    /// The state's output.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// `Next` or `End`.
    #[serde(flatten, with = "transition_field")]
    pub transition: Option<Transition>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

builders!(Wait(WaitState): output, assign, transition);

/// `"Type": "Succeed"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SucceedState {
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// The scope's output.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

builders!(Succeed(SucceedState): output);

/// `"Type": "Fail"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailState {
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// The error name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JsonataOr<String>>,
    /// A human-readable cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<JsonataOr<String>>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

builders!(Fail(FailState): comment);

/// A nested machine: one branch of a Parallel state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Branch {
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The branch's query language, if it sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// The first state of the branch.
    pub start_at: String,
    /// The branch's states; names are unique across the whole machine.
    pub states: IndexMap<String, State>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

impl Branch {
    /// An empty branch starting at `start_at`.
    pub fn new(start_at: impl Into<String>) -> Self {
        Branch {
            start_at: start_at.into(),
            ..Branch::default()
        }
    }

    /// Adds (or replaces) a state.
    pub fn with_state(mut self, name: impl Into<String>, state: impl Into<State>) -> Self {
        self.states.insert(name.into(), state.into());
        self
    }
}

/// `"Type": "Parallel"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParallelState {
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// Input given to every branch.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    /// The branches, run concurrently; the result is the array of their outputs.
    #[serde(default)]
    pub branches: Vec<Branch>,
    /// The state's output.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned on success.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// Retry policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    /// Error handlers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    /// `Next` or `End`.
    #[serde(flatten, with = "transition_field")]
    pub transition: Option<Transition>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

impl ParallelState {
    /// Appends a branch.
    pub fn with_branch(mut self, branch: Branch) -> Self {
        self.branches.push(branch);
        self
    }
}

builders!(Parallel(ParallelState): arguments, output, assign, errors, transition);

/// How a Map state runs its iterations (`"Mode"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProcessorMode {
    /// Iterations run inside the parent execution (at most 40 concurrently).
    #[default]
    Inline,
    /// Each batch runs as a child execution.
    Distributed,
}

/// Child execution type of a distributed Map (`"ExecutionType"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExecutionType {
    /// Exactly-once child executions, up to a year long.
    Standard,
    /// At-least-once child executions, up to five minutes long.
    Express,
}

/// `"ProcessorConfig"` of a Map state's item processor.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessorConfig {
    /// Inline or distributed.
    #[serde(default)]
    pub mode: ProcessorMode,
    /// Child execution type; distributed mode only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_type: Option<ExecutionType>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

/// A Map state's `"ItemProcessor"`: the nested machine run for each item.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemProcessor {
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Inline or distributed; inline when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processor_config: Option<ProcessorConfig>,
    /// The first state of each iteration.
    pub start_at: String,
    /// The iteration's states; names are unique across the whole machine.
    pub states: IndexMap<String, State>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

impl ItemProcessor {
    /// An inline processor starting at `start_at`.
    pub fn new(start_at: impl Into<String>) -> Self {
        ItemProcessor {
            start_at: start_at.into(),
            ..ItemProcessor::default()
        }
    }

    /// A distributed processor whose child executions have the given type.
    pub fn distributed(start_at: impl Into<String>, execution_type: ExecutionType) -> Self {
        ItemProcessor {
            processor_config: Some(ProcessorConfig {
                mode: ProcessorMode::Distributed,
                execution_type: Some(execution_type),
                extra: Extra::new(),
            }),
            ..ItemProcessor::new(start_at)
        }
    }

    /// Adds (or replaces) a state.
    pub fn with_state(mut self, name: impl Into<String>, state: impl Into<State>) -> Self {
        self.states.insert(name.into(), state.into());
        self
    }

    /// Inline or distributed.
    pub fn mode(&self) -> ProcessorMode {
        self.processor_config
            .as_ref()
            .map(|config| config.mode)
            .unwrap_or_default()
    }
}

/// A distributed Map's `"ItemReader"`: where items come from (S3 objects, a CSV, a manifest).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemReader {
    /// The reading integration (`arn:aws:states:::s3:getObject`, ...).
    pub resource: String,
    /// Reader options (`InputType`, `CSVHeaderLocation`, `MaxItems`, ...).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub reader_config: Option<Value>,
    /// Input of the reading integration (`Bucket`, `Key`, ...).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

/// A distributed Map's `"ItemBatcher"`: groups items into batches per child execution.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemBatcher {
    /// Most items per batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items_per_batch: Option<JsonataOr<u64>>,
    /// Most bytes per batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_input_bytes_per_batch: Option<JsonataOr<u64>>,
    /// JSON added to every batch as `BatchInput`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub batch_input: Option<Value>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

/// A distributed Map's `"ResultWriter"`: where child results are written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultWriter {
    /// The writing integration (`arn:aws:states:::s3:putObject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Input of the writing integration (`Bucket`, `Prefix`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    /// Writer options (`OutputType`, `Transformation`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub writer_config: Option<Value>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

/// `"Type": "Map"`, inline or distributed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MapState {
    /// Free-form note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// The items to iterate (a JSONata string or a literal array); the input when absent.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub items: Option<Value>,
    /// Reads items from elsewhere (distributed mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_reader: Option<ItemReader>,
    /// Shapes each item (`$states.context.Map.Item.Value`) before the processor sees it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub item_selector: Option<Value>,
    /// Groups items into batches (distributed mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_batcher: Option<ItemBatcher>,
    /// The nested machine run per item (or batch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_processor: Option<ItemProcessor>,
    /// Writes results elsewhere (distributed mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_writer: Option<ResultWriter>,
    /// Most iterations in flight; 0 means as many as possible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<JsonataOr<u64>>,
    /// Share of failed items tolerated before the Map fails (distributed mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_percentage: Option<JsonataOr<f64>>,
    /// Number of failed items tolerated before the Map fails (distributed mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count: Option<JsonataOr<u64>>,
    /// Prefix of child execution names (distributed mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The state's output.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned on success.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// Retry policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    /// Error handlers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    /// `Next` or `End`.
    #[serde(flatten, with = "transition_field")]
    pub transition: Option<Transition>,
    /// Unknown fields, kept for round trips.
    #[serde(flatten, skip_serializing_if = "Map::is_empty")]
    pub extra: Extra,
}

impl MapState {
    /// A Map running `processor` for each item.
    pub fn new(processor: ItemProcessor) -> Self {
        MapState {
            item_processor: Some(processor),
            ..MapState::default()
        }
    }

    /// Sets `Items`.
    pub fn with_items(mut self, items: Value) -> Self {
        self.items = Some(items);
        self
    }

    /// Sets `ItemSelector`.
    pub fn with_item_selector(mut self, selector: Value) -> Self {
        self.item_selector = Some(selector);
        self
    }

    /// Sets `MaxConcurrency`.
    pub fn with_max_concurrency(mut self, limit: impl Into<JsonataOr<u64>>) -> Self {
        self.max_concurrency = Some(limit.into());
        self
    }
}

builders!(Map(MapState): output, assign, errors, transition);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<State, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn type_comes_first_and_next_last() {
        let state: State = TaskState::new("arn:aws:states:::lambda:invoke")
            .with_next("B")
            .with_output(json!("{% $states.result %}"))
            .with_comment("call")
            .into();
        let text = serde_json::to_string(&state).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"Type":"Task","Comment":"call","Resource":"arn:aws:states:::lambda:invoke","Output":"{% $states.result %}","Next":"B"}"#
        );
    }

    #[test]
    fn end_serialises_as_end_true() {
        let state: State = State::pass().with_end().into();
        assert_eq!(
            serde_json::to_value(&state).unwrap_or_default(),
            json!({"Type": "Pass", "End": true})
        );
    }

    #[test]
    fn next_and_end_together_are_refused() {
        let error = parse(json!({"Type": "Pass", "Next": "B", "End": true}))
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("both `Next` and `End: true`"), "{error}");
    }

    #[test]
    fn next_on_a_terminal_state_is_kept_as_an_unknown_field() {
        let state = parse(json!({"Type": "Succeed", "Next": "B"})).ok();
        let extra = state.as_ref().map(State::extra);
        assert_eq!(extra.and_then(|extra| extra.get("Next")), Some(&json!("B")));
        assert_eq!(state.and_then(|s| s.transition().cloned()), None);
    }

    #[test]
    fn numbers_and_jsonata_strings_are_told_apart() {
        let wait = parse(json!({"Type": "Wait", "Seconds": "{% $delay %}", "End": true})).ok();
        let Some(State::Wait(wait)) = wait else {
            panic!("expected a Wait state");
        };
        assert_eq!(wait.seconds, Some(JsonataOr::expression("$delay")));

        let literal = parse(json!({"Type": "Wait", "Seconds": 10, "End": true})).ok();
        let Some(State::Wait(literal)) = literal else {
            panic!("expected a Wait state");
        };
        assert_eq!(literal.seconds, Some(JsonataOr::Literal(10)));

        assert!(parse(json!({"Type": "Wait", "Seconds": "ten", "End": true})).is_err());
    }

    #[test]
    fn unknown_types_are_refused() {
        assert!(parse(json!({"Type": "Activity", "End": true})).is_err());
    }

    #[test]
    fn successors_list_next_rules_default_and_catch_targets() {
        let choice: State = State::choice()
            .with_rule(ChoiceRule::new("$x", "A"))
            .with_default("B")
            .into();
        assert_eq!(choice.successors(), vec!["A", "B"]);
        let task: State = TaskState::new("r")
            .with_catch(Catcher::new(["States.ALL"], "C"))
            .with_next("D")
            .into();
        assert_eq!(task.successors(), vec!["D", "C"]);
    }
}
