//! Structural checks: the mistakes Step Functions or asl-validator would refuse, found all at once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use serde_json::Value;

use crate::fields::{Catcher, JsonataOr, QueryLanguage, Retrier, Transition};
use crate::jsonata;
use crate::machine::{Scope, StateMachine, escape_pointer};
use crate::state::{ProcessorMode, State, StateKind};

/// Longest state name Step Functions accepts.
pub const MAX_STATE_NAME_LEN: usize = 80;

/// Fields that only exist in JSONPath mode; a JSONata state must not carry them.
const JSONPATH_ONLY_FIELDS: &[&str] = &[
    "InputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "ItemsPath",
    "Iterator",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
];

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Step Functions would refuse the machine or it cannot finish.
    Error,
    /// Accepted, but something downstream (CloudWatch logging, a reader) suffers.
    Warning,
}

/// Stable identifier of each kind of problem [`StateMachine::check`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// `StartAt` names no state of its scope.
    UnknownStartAt,
    /// A scope has no states.
    EmptyStates,
    /// `Next`, `Default` or a `Catch` target names no state of the same scope.
    UnknownTarget,
    /// A state name is longer than [`MAX_STATE_NAME_LEN`] characters.
    NameTooLong,
    /// A state name has characters outside `0-9 A-Z a-z - _`.
    NameCharacters,
    /// Two states share a name (names are unique across the whole machine).
    DuplicateStateName,
    /// No path from `StartAt` leads to the state.
    UnreachableState,
    /// No path from the state leads to Succeed, Fail or `End: true`.
    NoExit,
    /// A Task, Pass, Wait, Parallel or Map state has neither `Next` nor `End`.
    MissingTransition,
    /// A Choice, Succeed or Fail state has `Next` or `End`.
    TerminalWithTransition,
    /// A Choice state has no rules.
    EmptyChoice,
    /// A Task state has no `Resource`.
    MissingResource,
    /// A Parallel state has no branches.
    EmptyBranches,
    /// A Map state has no `ItemProcessor`.
    MissingItemProcessor,
    /// A distributed Map has no `ExecutionType`.
    MissingExecutionType,
    /// A Wait state sets neither or both of `Seconds` and `Timestamp`.
    WaitDuration,
    /// A string meant as JSONata is not exactly `{% expr %}`.
    MalformedJsonata,
    /// A Retry value is outside the range Step Functions accepts.
    RetryOutOfRange,
    /// A Retry or Catch entry has an empty `ErrorEquals`.
    EmptyErrorEquals,
    /// `States.ALL` is not alone in the last Retry or Catch entry.
    StatesAllPosition,
    /// A JSONPath-only field in a JSONata state.
    JsonPathField,
    /// A JSONPath state inside a machine that is JSONata at the top.
    JsonPathState,
}

impl Code {
    /// The code as printed and matched on: kebab case, never renamed.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnknownStartAt => "unknown-start-at",
            Code::EmptyStates => "empty-states",
            Code::UnknownTarget => "unknown-target",
            Code::NameTooLong => "name-too-long",
            Code::NameCharacters => "name-characters",
            Code::DuplicateStateName => "duplicate-state-name",
            Code::UnreachableState => "unreachable-state",
            Code::NoExit => "no-exit",
            Code::MissingTransition => "missing-transition",
            Code::TerminalWithTransition => "terminal-with-transition",
            Code::EmptyChoice => "empty-choice",
            Code::MissingResource => "missing-resource",
            Code::EmptyBranches => "empty-branches",
            Code::MissingItemProcessor => "missing-item-processor",
            Code::MissingExecutionType => "missing-execution-type",
            Code::WaitDuration => "wait-duration",
            Code::MalformedJsonata => "malformed-jsonata",
            Code::RetryOutOfRange => "retry-out-of-range",
            Code::EmptyErrorEquals => "empty-error-equals",
            Code::StatesAllPosition => "states-all-position",
            Code::JsonPathField => "jsonpath-field",
            Code::JsonPathState => "jsonpath-state",
        }
    }

    /// How serious problems of this kind are.
    pub fn severity(self) -> Severity {
        match self {
            Code::NameCharacters => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found by [`StateMachine::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AslDiagnostic {
    /// What kind of problem.
    pub code: Code,
    /// How serious it is (follows from `code`).
    pub severity: Severity,
    /// JSON pointer to the offending value, e.g. `/States/Charge/Next`.
    pub pointer: String,
    /// What is wrong, lower case.
    pub message: String,
    /// How to fix it, when there is an obvious way.
    pub hint: Option<String>,
}

impl AslDiagnostic {
    fn new(code: Code, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        AslDiagnostic {
            code,
            severity: code.severity(),
            pointer: pointer.into(),
            message: message.into(),
            hint: None,
        }
    }

    fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for AslDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{level}[{}] {}: {}",
            self.code, self.pointer, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl StateMachine {
    /// Every structural problem of the machine, in document order, errors and warnings alike.
    ///
    /// Nested scopes (Parallel branches, Map item processors) are checked as their own graphs.
    pub fn check(&self) -> Vec<AslDiagnostic> {
        let mut checker = Checker {
            machine_language: self.query_language,
            seen: HashMap::new(),
            out: Vec::new(),
        };
        for scope in self.scopes() {
            checker.scope(&scope);
        }
        checker.out
    }
}

/// Whether a state name is made only of `0-9 A-Z a-z - _`, as CloudWatch logging requires.
pub fn is_loggable_name(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

struct Checker {
    machine_language: Option<QueryLanguage>,
    /// State name to the pointer where it was first seen.
    seen: HashMap<String, String>,
    out: Vec<AslDiagnostic>,
}

impl Checker {
    fn push(&mut self, diagnostic: AslDiagnostic) {
        self.out.push(diagnostic);
    }

    fn scope(&mut self, scope: &Scope<'_>) {
        if scope.states.is_empty() {
            self.push(AslDiagnostic::new(
                Code::EmptyStates,
                format!("{}/States", scope.pointer),
                "a state machine or branch needs at least one state",
            ));
        } else if !scope.states.contains_key(scope.start_at) {
            self.push(AslDiagnostic::new(
                Code::UnknownStartAt,
                format!("{}/StartAt", scope.pointer),
                format!(
                    "`StartAt` names `{}`, which is not a state here",
                    scope.start_at
                ),
            ));
        }
        for (name, state) in scope.states {
            self.state(scope, name, state);
        }
        self.graph(scope);
    }

    fn state(&mut self, scope: &Scope<'_>, name: &str, state: &State) {
        let at = scope.state_pointer(name);
        self.name(name, &at);
        self.targets(scope, state, &at);
        self.transition(state, &at);
        self.language(state, &at);
        for (index, retrier) in state.retry().iter().enumerate() {
            self.retrier(retrier, &format!("{at}/Retry/{index}"));
        }
        self.states_all_last(
            state.retry().iter().map(|r| r.error_equals.as_slice()),
            &at,
            "Retry",
        );
        for (index, catcher) in state.catch().iter().enumerate() {
            self.catcher(catcher, &format!("{at}/Catch/{index}"));
        }
        self.states_all_last(
            state.catch().iter().map(|c| c.error_equals.as_slice()),
            &at,
            "Catch",
        );
        self.kind_specific(state, &at);
    }

    fn name(&mut self, name: &str, at: &str) {
        let length = name.chars().count();
        if length > MAX_STATE_NAME_LEN {
            self.push(AslDiagnostic::new(
                Code::NameTooLong,
                at,
                format!(
                    "state name has {length} characters; at most {MAX_STATE_NAME_LEN} are allowed"
                ),
            ));
        }
        if !is_loggable_name(name) {
            self.push(
                AslDiagnostic::new(
                    Code::NameCharacters,
                    at,
                    format!("state name `{name}` has characters outside `0-9 A-Z a-z - _`"),
                )
                .with_hint("CloudWatch logging of the execution needs such names"),
            );
        }
        match self.seen.get(name) {
            Some(first) => {
                let message = format!("state name `{name}` is already used at {first}");
                self.push(
                    AslDiagnostic::new(Code::DuplicateStateName, at, message)
                        .with_hint("names are unique across the whole machine, branches included"),
                );
            }
            None => {
                self.seen.insert(name.to_owned(), at.to_owned());
            }
        }
    }

    fn targets(&mut self, scope: &Scope<'_>, state: &State, at: &str) {
        let mut check = |target: &str, pointer: String| {
            if !scope.states.contains_key(target) {
                self.out.push(AslDiagnostic::new(
                    Code::UnknownTarget,
                    pointer,
                    format!("`{target}` is not a state in this scope"),
                ));
            }
        };
        if let Some(Transition::Next(next)) = state.transition() {
            check(next, format!("{at}/Next"));
        }
        if let State::Choice(choice) = state {
            for (index, rule) in choice.choices.iter().enumerate() {
                check(&rule.next, format!("{at}/Choices/{index}/Next"));
            }
            if let Some(default) = &choice.default {
                check(default, format!("{at}/Default"));
            }
        }
        for (index, catcher) in state.catch().iter().enumerate() {
            check(&catcher.next, format!("{at}/Catch/{index}/Next"));
        }
    }

    fn transition(&mut self, state: &State, at: &str) {
        let kind = state.kind();
        if kind.needs_transition() && state.transition().is_none() {
            self.push(
                AslDiagnostic::new(
                    Code::MissingTransition,
                    at,
                    format!("a {} state needs `Next` or `End: true`", kind.as_str()),
                )
                .with_hint("add `\"End\": true` if the scope finishes here"),
            );
        }
        if !kind.needs_transition() {
            for field in ["Next", "End"] {
                if state.extra().contains_key(field) {
                    self.push(AslDiagnostic::new(
                        Code::TerminalWithTransition,
                        format!("{at}/{field}"),
                        format!("a {} state cannot have `{field}`", kind.as_str()),
                    ));
                }
            }
        }
    }

    fn language(&mut self, state: &State, at: &str) {
        let own = state.query_language();
        if self.machine_language == Some(QueryLanguage::Jsonata)
            && own == Some(QueryLanguage::JsonPath)
        {
            self.push(AslDiagnostic::new(
                Code::JsonPathState,
                format!("{at}/QueryLanguage"),
                "a machine that is JSONata at the top cannot hold JSONPath states",
            ));
        }
        let effective = own.or(self.machine_language);
        if effective != Some(QueryLanguage::Jsonata) {
            return;
        }
        self.jsonpath_fields(state.extra().keys(), at);
        for (index, catcher) in state.catch().iter().enumerate() {
            self.jsonpath_fields(catcher.extra.keys(), &format!("{at}/Catch/{index}"));
        }
        if let State::Map(map) = state
            && let Some(reader) = &map.item_reader
        {
            self.jsonpath_fields(reader.extra.keys(), &format!("{at}/ItemReader"));
        }
    }

    fn jsonpath_fields<'k>(&mut self, keys: impl Iterator<Item = &'k String>, at: &str) {
        for key in keys.filter(|key| JSONPATH_ONLY_FIELDS.contains(&key.as_str())) {
            self.push(
                AslDiagnostic::new(
                    Code::JsonPathField,
                    format!("{at}/{}", escape_pointer(key)),
                    format!("`{key}` is a JSONPath field; this state uses JSONata"),
                )
                .with_hint("use `Arguments`, `Output` and `Assign` instead"),
            );
        }
    }

    fn retrier(&mut self, retrier: &Retrier, at: &str) {
        if retrier.error_equals.is_empty() {
            self.push(AslDiagnostic::new(
                Code::EmptyErrorEquals,
                format!("{at}/ErrorEquals"),
                "`ErrorEquals` needs at least one error name",
            ));
        }
        let mut out_of_range = |field: &str, message: String| {
            self.out.push(AslDiagnostic::new(
                Code::RetryOutOfRange,
                format!("{at}/{field}"),
                message,
            ));
        };
        if let Some(interval) = retrier.interval_seconds.filter(|&v| v < 1) {
            out_of_range(
                "IntervalSeconds",
                format!("`IntervalSeconds` is {interval}; it must be at least 1"),
            );
        }
        if let Some(attempts) = retrier.max_attempts.filter(|&v| v < 0) {
            out_of_range(
                "MaxAttempts",
                format!("`MaxAttempts` is {attempts}; it must be at least 0"),
            );
        }
        if let Some(rate) = retrier.backoff_rate.filter(|&v| v.is_nan() || v < 1.0) {
            out_of_range(
                "BackoffRate",
                format!("`BackoffRate` is {rate}; it must be at least 1.0"),
            );
        }
        if let Some(delay) = retrier.max_delay_seconds.filter(|&v| v < 1) {
            out_of_range(
                "MaxDelaySeconds",
                format!("`MaxDelaySeconds` is {delay}; it must be at least 1"),
            );
        }
    }

    fn catcher(&mut self, catcher: &Catcher, at: &str) {
        if catcher.error_equals.is_empty() {
            self.push(AslDiagnostic::new(
                Code::EmptyErrorEquals,
                format!("{at}/ErrorEquals"),
                "`ErrorEquals` needs at least one error name",
            ));
        }
        self.value(catcher.output.as_ref(), &format!("{at}/Output"));
        self.value(catcher.assign.as_ref(), &format!("{at}/Assign"));
    }

    /// `States.ALL` must be the only name of the last entry.
    fn states_all_last<'e>(
        &mut self,
        entries: impl ExactSizeIterator<Item = &'e [String]>,
        at: &str,
        field: &str,
    ) {
        let count = entries.len();
        for (index, names) in entries.enumerate() {
            let has_all = names.iter().any(|name| name == "States.ALL");
            if has_all && (names.len() > 1 || index + 1 != count) {
                self.push(AslDiagnostic::new(
                    Code::StatesAllPosition,
                    format!("{at}/{field}/{index}/ErrorEquals"),
                    "`States.ALL` must appear alone, in the last entry",
                ));
            }
        }
    }

    fn kind_specific(&mut self, state: &State, at: &str) {
        match state {
            State::Task(task) => {
                if task.resource.trim().is_empty() {
                    self.push(AslDiagnostic::new(
                        Code::MissingResource,
                        format!("{at}/Resource"),
                        "a Task state needs a `Resource`",
                    ));
                }
                self.value(task.arguments.as_ref(), &format!("{at}/Arguments"));
                self.value(task.credentials.as_ref(), &format!("{at}/Credentials"));
                self.dynamic(
                    task.timeout_seconds.as_ref(),
                    &format!("{at}/TimeoutSeconds"),
                );
                self.dynamic(
                    task.heartbeat_seconds.as_ref(),
                    &format!("{at}/HeartbeatSeconds"),
                );
                self.common(task.output.as_ref(), task.assign.as_ref(), at);
            }
            State::Pass(pass) => self.common(pass.output.as_ref(), pass.assign.as_ref(), at),
            State::Choice(choice) => {
                if choice.choices.is_empty() {
                    self.push(AslDiagnostic::new(
                        Code::EmptyChoice,
                        format!("{at}/Choices"),
                        "a Choice state needs at least one rule",
                    ));
                }
                for (index, rule) in choice.choices.iter().enumerate() {
                    let rule_at = format!("{at}/Choices/{index}");
                    if jsonata::unwrap(&rule.condition).is_none() {
                        self.push(
                            AslDiagnostic::new(
                                Code::MalformedJsonata,
                                format!("{rule_at}/Condition"),
                                format!(
                                    "`Condition` must be a JSONata string, got `{}`",
                                    rule.condition
                                ),
                            )
                            .with_hint(
                                "write it as `{% expr %}`, with one space inside each delimiter",
                            ),
                        );
                    }
                    self.common(rule.output.as_ref(), rule.assign.as_ref(), &rule_at);
                }
                self.common(choice.output.as_ref(), choice.assign.as_ref(), at);
            }
            State::Wait(wait) => {
                if wait.seconds.is_some() == wait.timestamp.is_some() {
                    self.push(AslDiagnostic::new(
                        Code::WaitDuration,
                        at,
                        "a Wait state needs exactly one of `Seconds` and `Timestamp`",
                    ));
                }
                self.dynamic(wait.seconds.as_ref(), &format!("{at}/Seconds"));
                self.dynamic(wait.timestamp.as_ref(), &format!("{at}/Timestamp"));
                self.common(wait.output.as_ref(), wait.assign.as_ref(), at);
            }
            State::Succeed(succeed) => self.common(succeed.output.as_ref(), None, at),
            State::Fail(fail) => {
                self.dynamic(fail.error.as_ref(), &format!("{at}/Error"));
                self.dynamic(fail.cause.as_ref(), &format!("{at}/Cause"));
            }
            State::Parallel(parallel) => {
                if parallel.branches.is_empty() {
                    self.push(AslDiagnostic::new(
                        Code::EmptyBranches,
                        format!("{at}/Branches"),
                        "a Parallel state needs at least one branch",
                    ));
                }
                self.value(parallel.arguments.as_ref(), &format!("{at}/Arguments"));
                self.common(parallel.output.as_ref(), parallel.assign.as_ref(), at);
            }
            State::Map(map) => {
                match &map.item_processor {
                    None => self.push(AslDiagnostic::new(
                        Code::MissingItemProcessor,
                        at,
                        "a Map state needs an `ItemProcessor`",
                    )),
                    Some(processor) => {
                        let distributed_without_type =
                            processor.processor_config.as_ref().is_some_and(|config| {
                                config.mode == ProcessorMode::Distributed
                                    && config.execution_type.is_none()
                            });
                        if distributed_without_type {
                            self.push(AslDiagnostic::new(
                                Code::MissingExecutionType,
                                format!("{at}/ItemProcessor/ProcessorConfig"),
                                "a distributed Map needs an `ExecutionType` (STANDARD or EXPRESS)",
                            ));
                        }
                    }
                }
                self.value(map.items.as_ref(), &format!("{at}/Items"));
                self.value(map.item_selector.as_ref(), &format!("{at}/ItemSelector"));
                if let Some(reader) = &map.item_reader {
                    self.value(
                        reader.arguments.as_ref(),
                        &format!("{at}/ItemReader/Arguments"),
                    );
                    self.value(
                        reader.reader_config.as_ref(),
                        &format!("{at}/ItemReader/ReaderConfig"),
                    );
                }
                if let Some(batcher) = &map.item_batcher {
                    let batcher_at = format!("{at}/ItemBatcher");
                    self.dynamic(
                        batcher.max_items_per_batch.as_ref(),
                        &format!("{batcher_at}/MaxItemsPerBatch"),
                    );
                    self.dynamic(
                        batcher.max_input_bytes_per_batch.as_ref(),
                        &format!("{batcher_at}/MaxInputBytesPerBatch"),
                    );
                    self.value(
                        batcher.batch_input.as_ref(),
                        &format!("{batcher_at}/BatchInput"),
                    );
                }
                if let Some(writer) = &map.result_writer {
                    self.value(
                        writer.arguments.as_ref(),
                        &format!("{at}/ResultWriter/Arguments"),
                    );
                }
                self.dynamic(
                    map.max_concurrency.as_ref(),
                    &format!("{at}/MaxConcurrency"),
                );
                self.dynamic(
                    map.tolerated_failure_percentage.as_ref(),
                    &format!("{at}/ToleratedFailurePercentage"),
                );
                self.dynamic(
                    map.tolerated_failure_count.as_ref(),
                    &format!("{at}/ToleratedFailureCount"),
                );
                self.common(map.output.as_ref(), map.assign.as_ref(), at);
            }
        }
    }

    fn common(&mut self, output: Option<&Value>, assign: Option<&Value>, at: &str) {
        self.value(output, &format!("{at}/Output"));
        self.value(assign, &format!("{at}/Assign"));
    }

    fn dynamic<T>(&mut self, field: Option<&JsonataOr<T>>, at: &str) {
        if let Some(JsonataOr::Jsonata(text)) = field {
            self.jsonata_string(text, at);
        }
    }

    /// Checks every string inside a JSON value that is meant as JSONata.
    fn value(&mut self, value: Option<&Value>, at: &str) {
        match value {
            Some(Value::String(text)) => self.jsonata_string(text, at),
            Some(Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    self.value(Some(item), &format!("{at}/{index}"));
                }
            }
            Some(Value::Object(fields)) => {
                for (key, item) in fields {
                    self.value(Some(item), &format!("{at}/{}", escape_pointer(key)));
                }
            }
            _ => {}
        }
    }

    fn jsonata_string(&mut self, text: &str, at: &str) {
        if jsonata::is_intended(text) && jsonata::unwrap(text).is_none() {
            self.push(
                AslDiagnostic::new(
                    Code::MalformedJsonata,
                    at,
                    format!("`{text}` is not a well-formed JSONata string"),
                )
                .with_hint("write `{% expr %}`: the whole string, one space inside each delimiter"),
            );
        }
    }

    /// Reachability from `StartAt`, and whether every reachable state can reach an exit.
    fn graph(&mut self, scope: &Scope<'_>) {
        let names: Vec<&str> = scope.states.keys().map(String::as_str).collect();
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let successors: Vec<Vec<usize>> = scope
            .states
            .values()
            .map(|state| {
                state
                    .successors()
                    .into_iter()
                    .filter_map(|target| index.get(target).copied())
                    .collect()
            })
            .collect();

        let Some(&start) = index.get(scope.start_at) else {
            return; // reported as unknown-start-at; reachability would only add noise
        };
        let reachable = closure([start], |node| successors[node].clone());
        for (node, name) in names.iter().enumerate() {
            if !reachable.contains(&node) {
                self.push(AslDiagnostic::new(
                    Code::UnreachableState,
                    scope.state_pointer(name),
                    format!("no path from `StartAt` leads to `{name}`"),
                ));
            }
        }

        // Exits: terminal states, `End: true`, and states already reported as broken (a missing
        // transition or an unknown target), so one mistake is not reported twice.
        let mut predecessors: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
        for (node, targets) in successors.iter().enumerate() {
            for &target in targets {
                predecessors[target].push(node);
            }
        }
        let exits = scope
            .states
            .values()
            .enumerate()
            .filter_map(|(node, state)| {
                let broken_target = state.successors().iter().any(|t| !index.contains_key(t));
                let exits = match state.transition() {
                    Some(Transition::End) => true,
                    Some(Transition::Next(_)) => false,
                    None => state.kind() != StateKind::Choice,
                };
                (exits || broken_target).then_some(node)
            });
        let finishing = closure(exits, |node| predecessors[node].clone());
        for (node, name) in names.iter().enumerate() {
            if reachable.contains(&node) && !finishing.contains(&node) {
                self.push(
                    AslDiagnostic::new(
                        Code::NoExit,
                        scope.state_pointer(name),
                        format!("no path from `{name}` reaches Succeed, Fail or `End: true`"),
                    )
                    .with_hint("a loop needs a way out, e.g. a Choice rule that leaves it"),
                );
            }
        }
    }
}

/// Every node reachable from `start` through `next`, `start` included.
fn closure(
    start: impl IntoIterator<Item = usize>,
    next: impl Fn(usize) -> Vec<usize>,
) -> HashSet<usize> {
    let mut seen: HashSet<usize> = HashSet::new();
    let mut queue: VecDeque<usize> = VecDeque::new();
    for node in start {
        if seen.insert(node) {
            queue.push_back(node);
        }
    }
    while let Some(node) = queue.pop_front() {
        for target in next(node) {
            if seen.insert(target) {
                queue.push_back(target);
            }
        }
    }
    seen
}
