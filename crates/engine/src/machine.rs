//! A state machine prepared to run: names resolved to indices, every JSONata expression parsed
//! once, and for each state the variables and `$states` parts its expressions read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use ocflow_asl::{
    Catcher, JsonataOr, ProcessorMode, QueryLanguage, Retrier, Severity, State, StateMachine,
    Transition,
};
use ocflow_jsonata::{Bindings, Expression, Template};
use ocflow_protocol::task_map::TaskMap;
use serde::Serialize;
use serde_json::Value;

use crate::error::Error;

/// A registered machine, ready to run.
#[derive(Debug)]
pub(crate) struct Machine {
    /// The name it is registered under.
    pub name: String,
    /// What the store keeps for resume: `{"asl": ..., "taskMap"?: ...}`, before substitution.
    pub definition: Arc<Value>,
    /// The compiler's task map, if any.
    pub task_map: Option<TaskMap>,
    /// The top-level scope.
    pub root: Arc<Scope>,
    /// The machine's `TimeoutSeconds`.
    pub timeout_seconds: Option<u64>,
}

/// States that transition among themselves: the machine, a branch, an item processor.
#[derive(Debug)]
pub(crate) struct Scope {
    pub start: usize,
    pub nodes: Vec<Node>,
}

/// One state.
#[derive(Debug)]
pub(crate) struct Node {
    pub name: String,
    pub kind: Kind,
    pub next: Option<usize>,
    pub output: Option<Field>,
    pub assign: Option<Field>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catch>,
    /// Variables (without `$`) the state's expressions mention.
    pub variables: Vec<String>,
    /// Whether any expression may read `$states.context`.
    pub reads_context: bool,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Pass,
    Task(Box<Task>),
    Choice(Choice),
    Wait {
        seconds: Option<Field>,
        timestamp: Option<Field>,
    },
    Succeed,
    Fail {
        error: Option<Field>,
        cause: Option<Field>,
    },
    Parallel {
        arguments: Option<Field>,
        branches: Vec<Arc<Scope>>,
    },
    Map(Box<MapNode>),
}

#[derive(Debug)]
pub(crate) struct Task {
    pub resource: String,
    pub pattern: Pattern,
    pub arguments: Option<Field>,
    pub timeout: Option<Field>,
    pub heartbeat: Option<Field>,
}

/// How a Task waits for its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pattern {
    RequestResponse,
    WaitForTaskToken,
    /// `states:startExecution`; `sync`: wait for the child; `v2`: its output parsed as JSON.
    StartExecution {
        sync: bool,
        v2: bool,
    },
}

#[derive(Debug)]
pub(crate) struct Choice {
    pub rules: Vec<Rule>,
    pub default: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub condition: Field,
    pub output: Option<Field>,
    pub assign: Option<Field>,
    pub next: usize,
}

#[derive(Debug)]
pub(crate) struct Catch {
    pub error_equals: Vec<String>,
    pub target: String,
    pub output: Option<Field>,
    pub assign: Option<Field>,
    pub next: usize,
}

#[derive(Debug)]
pub(crate) struct MapNode {
    pub items: Option<Field>,
    pub item_selector: Option<Field>,
    pub processor: Arc<Scope>,
    pub max_concurrency: Option<Field>,
    pub tolerated_percentage: Option<Field>,
    pub tolerated_count: Option<Field>,
    pub distributed: bool,
    pub has_item_reader: bool,
}

/// A compiled field: a literal, or JSON with `{% %}` expressions.
#[derive(Debug)]
pub(crate) struct Field {
    pub name: &'static str,
    template: Template,
}

impl Field {
    pub fn evaluate(&self, bindings: &Bindings) -> Result<Value, ocflow_jsonata::Error> {
        self.template.evaluate(bindings)
    }
}

/// Substitutes `${Key}` in every string of `value`, as `DefinitionSubstitutions` does; keys
/// without a value are left as they are.
pub(crate) fn substitute(value: &mut Value, substitutions: &BTreeMap<String, String>) {
    if substitutions.is_empty() {
        return;
    }
    match value {
        Value::String(text) if text.contains("${") => {
            let mut out = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                match after.find('}') {
                    Some(end) if substitutions.contains_key(&after[..end]) => {
                        out.push_str(&substitutions[&after[..end]]);
                        rest = &after[end + 1..];
                    }
                    _ => {
                        out.push_str("${");
                        rest = after;
                    }
                }
            }
            out.push_str(rest);
            *text = out;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, substitutions)),
        Value::Object(fields) => fields
            .values_mut()
            .for_each(|v| substitute(v, substitutions)),
        _ => {}
    }
}

/// Prepares `asl` (already substituted) to run.
pub(crate) fn compile(
    name: &str,
    definition: Value,
    asl: &StateMachine,
    task_map: Option<TaskMap>,
) -> Result<Machine, Error> {
    if asl.effective_query_language() != QueryLanguage::Jsonata {
        return Err(Error::JsonPath {
            machine: name.to_owned(),
            state: None,
        });
    }
    let compiler = Compiler { machine: name };
    let root = compiler.scope(&asl.start_at, &asl.states)?;
    // What Step Functions would refuse at creation (unreachable states, loops without exit,
    // malformed JSONata strings, bad Retry values, ...), all at once.
    let refused: Vec<String> = asl
        .check()
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{} at '{}': {}", d.code.as_str(), d.pointer, d.message))
        .collect();
    if !refused.is_empty() {
        return Err(compiler.error(refused.join("; ")));
    }
    Ok(Machine {
        name: name.to_owned(),
        definition: Arc::new(definition),
        task_map,
        root: Arc::new(root),
        timeout_seconds: asl.timeout_seconds,
    })
}

struct Compiler<'a> {
    machine: &'a str,
}

impl Compiler<'_> {
    fn error(&self, message: String) -> Error {
        Error::Definition {
            machine: self.machine.to_owned(),
            message,
        }
    }

    fn scope(
        &self,
        start_at: &str,
        states: &indexmap::IndexMap<String, State>,
    ) -> Result<Scope, Error> {
        let index: HashMap<&str, usize> = states
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        let resolve = |from: &str, target: &str| -> Result<usize, Error> {
            index.get(target).copied().ok_or_else(|| {
                self.error(format!(
                    "state '{from}' names '{target}', which is not in its scope"
                ))
            })
        };
        let start = index
            .get(start_at)
            .copied()
            .ok_or_else(|| self.error(format!("StartAt '{start_at}' is not a state")))?;
        let mut nodes = Vec::with_capacity(states.len());
        for (name, state) in states {
            if state.query_language() == Some(QueryLanguage::JsonPath) {
                return Err(Error::JsonPath {
                    machine: self.machine.to_owned(),
                    state: Some(name.clone()),
                });
            }
            let next = match state.transition() {
                Some(Transition::Next(target)) => Some(resolve(name, target.as_str())?),
                Some(Transition::End) => None,
                None if state.kind().needs_transition() => {
                    return Err(self.error(format!("state '{name}' has neither Next nor End")));
                }
                None => None,
            };
            let catch = state
                .catch()
                .iter()
                .map(|c| self.catcher(name, c, resolve(name, &c.next)?))
                .collect::<Result<Vec<_>, _>>()?;
            let (variables, reads_context) = reads(state);
            let (kind, output, assign) = self.kind(name, state, &resolve)?;
            nodes.push(Node {
                name: name.clone(),
                kind,
                next,
                output,
                assign,
                retry: state.retry().to_vec(),
                catch,
                variables,
                reads_context,
            });
        }
        Ok(Scope { start, nodes })
    }

    fn catcher(&self, state: &str, catcher: &Catcher, next: usize) -> Result<Catch, Error> {
        Ok(Catch {
            error_equals: catcher.error_equals.clone(),
            target: catcher.next.clone(),
            output: self.opt(state, "Catch.Output", catcher.output.as_ref())?,
            assign: self.opt(state, "Catch.Assign", catcher.assign.as_ref())?,
            next,
        })
    }

    fn field(&self, state: &str, name: &'static str, value: &Value) -> Result<Field, Error> {
        Template::compile(value)
            .map(|template| Field { name, template })
            .map_err(|e| self.error(format!("state '{state}', field {name}: {e}")))
    }

    fn opt(
        &self,
        state: &str,
        name: &'static str,
        value: Option<&Value>,
    ) -> Result<Option<Field>, Error> {
        value.map(|v| self.field(state, name, v)).transpose()
    }

    fn or<T: Serialize>(
        &self,
        state: &str,
        name: &'static str,
        value: Option<&JsonataOr<T>>,
    ) -> Result<Option<Field>, Error> {
        value
            .map(|v| {
                let json = serde_json::to_value(v).unwrap_or(Value::Null);
                self.field(state, name, &json)
            })
            .transpose()
    }

    #[allow(clippy::type_complexity)]
    fn kind(
        &self,
        name: &str,
        state: &State,
        resolve: &dyn Fn(&str, &str) -> Result<usize, Error>,
    ) -> Result<(Kind, Option<Field>, Option<Field>), Error> {
        Ok(match state {
            State::Pass(s) => (
                Kind::Pass,
                self.opt(name, "Output", s.output.as_ref())?,
                self.opt(name, "Assign", s.assign.as_ref())?,
            ),
            State::Task(s) => {
                let resource = s.resource.as_str();
                let pattern = if let Some(suffix) =
                    resource.strip_prefix("arn:aws:states:::states:startExecution")
                {
                    Pattern::StartExecution {
                        sync: suffix.starts_with(".sync"),
                        v2: suffix == ".sync:2",
                    }
                } else if resource.ends_with(".waitForTaskToken") {
                    Pattern::WaitForTaskToken
                } else {
                    Pattern::RequestResponse
                };
                let task = Task {
                    resource: s.resource.clone(),
                    pattern,
                    arguments: self.opt(name, "Arguments", s.arguments.as_ref())?,
                    timeout: self.or(name, "TimeoutSeconds", s.timeout_seconds.as_ref())?,
                    heartbeat: self.or(name, "HeartbeatSeconds", s.heartbeat_seconds.as_ref())?,
                };
                (
                    Kind::Task(Box::new(task)),
                    self.opt(name, "Output", s.output.as_ref())?,
                    self.opt(name, "Assign", s.assign.as_ref())?,
                )
            }
            State::Choice(s) => {
                let mut rules = Vec::with_capacity(s.choices.len());
                for rule in &s.choices {
                    rules.push(Rule {
                        condition: self.field(
                            name,
                            "Condition",
                            &Value::String(rule.condition.clone()),
                        )?,
                        output: self.opt(name, "Choices.Output", rule.output.as_ref())?,
                        assign: self.opt(name, "Choices.Assign", rule.assign.as_ref())?,
                        next: resolve(name, &rule.next)?,
                    });
                }
                let default = s.default.as_deref().map(|d| resolve(name, d)).transpose()?;
                (
                    Kind::Choice(Choice { rules, default }),
                    self.opt(name, "Output", s.output.as_ref())?,
                    self.opt(name, "Assign", s.assign.as_ref())?,
                )
            }
            State::Wait(s) => {
                if s.seconds.is_some() == s.timestamp.is_some() {
                    return Err(self.error(format!(
                        "Wait state '{name}' needs one of Seconds or Timestamp"
                    )));
                }
                (
                    Kind::Wait {
                        seconds: self.or(name, "Seconds", s.seconds.as_ref())?,
                        timestamp: self.or(name, "Timestamp", s.timestamp.as_ref())?,
                    },
                    self.opt(name, "Output", s.output.as_ref())?,
                    self.opt(name, "Assign", s.assign.as_ref())?,
                )
            }
            State::Succeed(s) => (
                Kind::Succeed,
                self.opt(name, "Output", s.output.as_ref())?,
                None,
            ),
            State::Fail(s) => (
                Kind::Fail {
                    error: self.or(name, "Error", s.error.as_ref())?,
                    cause: self.or(name, "Cause", s.cause.as_ref())?,
                },
                None,
                None,
            ),
            State::Parallel(s) => {
                let mut branches = Vec::with_capacity(s.branches.len());
                for branch in &s.branches {
                    if branch.query_language == Some(QueryLanguage::JsonPath) {
                        return Err(Error::JsonPath {
                            machine: self.machine.to_owned(),
                            state: Some(name.to_owned()),
                        });
                    }
                    branches.push(Arc::new(self.scope(&branch.start_at, &branch.states)?));
                }
                (
                    Kind::Parallel {
                        arguments: self.opt(name, "Arguments", s.arguments.as_ref())?,
                        branches,
                    },
                    self.opt(name, "Output", s.output.as_ref())?,
                    self.opt(name, "Assign", s.assign.as_ref())?,
                )
            }
            State::Map(s) => {
                let processor = s.item_processor.as_ref().ok_or_else(|| {
                    self.error(format!("Map state '{name}' has no ItemProcessor"))
                })?;
                let node = MapNode {
                    items: self.opt(name, "Items", s.items.as_ref())?,
                    item_selector: self.opt(name, "ItemSelector", s.item_selector.as_ref())?,
                    processor: Arc::new(self.scope(&processor.start_at, &processor.states)?),
                    max_concurrency: self.or(name, "MaxConcurrency", s.max_concurrency.as_ref())?,
                    tolerated_percentage: self.or(
                        name,
                        "ToleratedFailurePercentage",
                        s.tolerated_failure_percentage.as_ref(),
                    )?,
                    tolerated_count: self.or(
                        name,
                        "ToleratedFailureCount",
                        s.tolerated_failure_count.as_ref(),
                    )?,
                    distributed: processor.mode() == ProcessorMode::Distributed,
                    has_item_reader: s.item_reader.is_some(),
                };
                (
                    Kind::Map(Box::new(node)),
                    self.opt(name, "Output", s.output.as_ref())?,
                    self.opt(name, "Assign", s.assign.as_ref())?,
                )
            }
        })
    }
}

/// The variables a state's own expressions mention (nested scopes excluded), and whether they
/// may read `$states.context`.
fn reads(state: &State) -> (Vec<String>, bool) {
    let mut value = serde_json::to_value(state).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut value {
        fields.remove("Branches");
        fields.remove("ItemProcessor");
    }
    let mut variables = BTreeSet::new();
    let mut context = false;
    scan(&value, &mut variables, &mut context);
    variables.remove("states");
    (variables.into_iter().collect(), context)
}

fn scan(value: &Value, variables: &mut BTreeSet<String>, context: &mut bool) {
    match value {
        Value::String(text) if ocflow_jsonata::is_jsonata(text) => {
            let source = text.trim_start_matches("{%").trim_end_matches("%}").trim();
            if let Ok(expression) = Expression::parse(source) {
                variables.extend(expression.variables().map(str::to_owned));
            }
            // `$states` used whole, or any mention of `context`, may read the context.
            let whole = source
                .match_indices("$states")
                .any(|(i, m)| !source[i + m.len()..].starts_with('.'));
            *context |= whole || source.contains("context");
        }
        Value::Array(items) => items.iter().for_each(|v| scan(v, variables, context)),
        Value::Object(fields) => fields.values().for_each(|v| scan(v, variables, context)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitutions_fill_known_placeholders_only() {
        let subs = BTreeMap::from([("Fn".to_owned(), "arn:fn".to_owned())]);
        let mut value = json!({"a": "${Fn}", "b": ["x ${Fn} y ${Other}"], "c": 1});
        substitute(&mut value, &subs);
        assert_eq!(
            value,
            json!({"a": "arn:fn", "b": ["x arn:fn y ${Other}"], "c": 1})
        );
    }

    #[test]
    fn reads_lists_variables_and_context_use() {
        let state: State = serde_json::from_value(json!({
            "Type": "Pass",
            "Output": {"a": "{% $x + $count($y) %}", "b": "{% $states.input %}"},
            "End": true
        }))
        .unwrap();
        let (variables, context) = reads(&state);
        assert_eq!(variables, ["count", "x", "y"]);
        assert!(!context);
        let state: State = serde_json::from_value(json!({
            "Type": "Pass", "Output": "{% $states.context.State.Name %}", "End": true
        }))
        .unwrap();
        assert!(reads(&state).1);
    }
}
