//! Conductor `${...}` parameters as JSONata.
//!
//! A parameter becomes either an ASL JSON template (objects and arrays kept as JSON, each
//! reference a `{% ... %}` leaf) or one JSONata expression. Every reference is guarded: a path
//! that reads nothing yields `null`, as in Conductor, instead of failing the state with
//! `States.QueryEvaluationError`.

use ocflow_asl::jsonata;
use ocflow_dsl::params::{Param, Path, Reference, Root, Segment, Step, Target};
use serde_json::{Map, Value};

/// The id of the task being executed: execution name and state name (`${CPEWF_TASK_ID}`).
pub(crate) const TASK_ID: &str =
    "$join([$states.context.Execution.Name, $states.context.State.Name], '/')";

/// The execution input as every state sees it: Step Functions' context object is readable in
/// every state, Parallel branches and Map iterations included, so no state has to copy it.
pub(crate) const EXECUTION_INPUT: &str = "$states.context.Execution.Input";

/// The workflow-level facts references to `${workflow.*}` read.
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkflowFacts {
    /// The workflow name (`workflowType`).
    pub(crate) name: String,
    /// The workflow version.
    pub(crate) version: i64,
    /// `inputTemplate`: defaults for absent top-level input keys.
    pub(crate) input_template: Map<String, Value>,
}

/// What a task reference reads in the state being compiled.
#[derive(Debug, Clone)]
pub(crate) enum TaskData {
    /// An expression holding the task's data object (`{"output": ..., "status"?: ...}`),
    /// such as its variable.
    Data(String),
    /// An expression of the task's output only (the state's own result).
    Output(String),
}

impl TaskData {
    /// JSONata for the task's whole data object.
    pub(crate) fn data(&self) -> String {
        match self {
            TaskData::Data(expr) => expr.clone(),
            TaskData::Output(expr) => format!("{{\"output\": {expr}}}"),
        }
    }

    /// JSONata for the task's output.
    pub(crate) fn output(&self) -> String {
        match self {
            TaskData::Data(expr) => format!("{}.output", operand(expr)),
            TaskData::Output(expr) => expr.clone(),
        }
    }
}

/// Where references read from, in the state being compiled.
pub(crate) trait Lookup {
    /// The workflow-level facts.
    fn workflow(&self) -> &WorkflowFacts;
    /// A JSONata expression for `workflow.variables`.
    fn variables(&self) -> String;
    /// What the task `reference` reads as, or `None` when no task of that name is visible.
    fn task(&self, reference: &str) -> Option<TaskData>;
}

/// A reference the compiler cannot express.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RefError(pub(crate) String);

/// `param` as an ASL JSON template.
pub(crate) fn template(param: &Param, lookup: &dyn Lookup) -> Result<Value, RefError> {
    Ok(match param {
        Param::Literal(value) => escape_literal(value),
        Param::Ref(_) | Param::Template(_) => Value::String(wrap(&expression(param, lookup)?)),
        Param::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, p)| Ok((k.clone(), template(p, lookup)?)))
                .collect::<Result<_, RefError>>()?,
        ),
        Param::Array(items) => Value::Array(
            items
                .iter()
                .map(|p| template(p, lookup))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// `param` as one JSONata expression.
pub(crate) fn expression(param: &Param, lookup: &dyn Lookup) -> Result<String, RefError> {
    Ok(match param {
        Param::Literal(value) => literal(value),
        Param::Ref(reference) => guarded(&reference_path(reference, lookup)?),
        Param::Template(segments) => {
            let parts = segments
                .iter()
                .map(|segment| match segment {
                    Segment::Text(text) => Ok(literal(&Value::String(text.clone()))),
                    Segment::Ref(reference) => {
                        let path = reference_path(reference, lookup)?;
                        Ok(format!("($exists({path}) ? $string({path}) : \"null\")"))
                    }
                })
                .collect::<Result<Vec<_>, RefError>>()?;
            format!("$join([{}])", parts.join(", "))
        }
        Param::Object(members) => {
            let members = members
                .iter()
                .map(|(k, p)| {
                    Ok(format!(
                        "{}: {}",
                        literal(&Value::String(k.clone())),
                        expression(p, lookup)?
                    ))
                })
                .collect::<Result<Vec<_>, RefError>>()?;
            format!("{{{}}}", members.join(", "))
        }
        Param::Array(items) => {
            // `$append` keeps nested arrays as items, where `[...]` would flatten them.
            let mut out = "[]".to_owned();
            for item in items {
                out = format!("$append({out}, [{}])", expression(item, lookup)?);
            }
            out
        }
    })
}

/// A JSON value as a JSONata literal (JSON is JSONata, except that nothing needs escaping).
pub(crate) fn literal(value: &Value) -> String {
    match value {
        Value::Array(items) if !items.is_empty() => {
            let mut out = "[]".to_owned();
            for item in items {
                out = format!("$append({out}, [{}])", literal(item));
            }
            out
        }
        other => other.to_string(),
    }
}

/// `path` evaluated, or `null` when it reads nothing.
pub(crate) fn guarded(path: &str) -> String {
    if is_always_defined(path) {
        path.to_owned()
    } else {
        format!("($exists({path}) ? {path} : null)")
    }
}

/// Whether `expression` is one that never reads nothing: a literal or an execution fact.
fn is_always_defined(expression: &str) -> bool {
    matches!(
        expression,
        "null"
            | "$states.context.Execution.Name"
            | "$toMillis($states.context.Execution.StartTime)"
    ) || serde_json::from_str::<Value>(expression).is_ok()
}

/// `expression` in `{% %}` delimiters, on one line (asl-validator rejects line breaks there;
/// JSONata reads them as spaces outside string literals, and ours escape theirs).
pub(crate) fn wrap(expression: &str) -> String {
    jsonata::wrap(&one_line(expression))
}

/// `expression` with line breaks turned into spaces, and the Unicode line separators (which
/// only string and regex literals can hold) written as `\u` escapes, which both read the same.
pub(crate) fn one_line(expression: &str) -> String {
    expression
        .replace(['\n', '\r'], " ")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A literal for an ASL template: strings that Step Functions would read as JSONata are
/// rewritten as JSONata string literals.
pub(crate) fn escape_literal(value: &Value) -> Value {
    match value {
        // Multi-line text (scripts) is written as a JSONata string literal too: asl-validator
        // rejects line breaks in ASL strings.
        Value::String(text) if jsonata::is_intended(text) || text.contains(['\n', '\r']) => {
            Value::String(jsonata::wrap(&Value::String(text.clone()).to_string()))
        }
        Value::Array(items) => Value::Array(items.iter().map(escape_literal).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), escape_literal(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The unguarded JSONata path a reference reads.
fn reference_path(reference: &Reference, lookup: &dyn Lookup) -> Result<String, RefError> {
    match &reference.target {
        Target::Path(path) => path_expression(path, lookup),
        Target::Dynamic(_) => Err(RefError(format!(
            "nested reference `${{{}}}`",
            reference.text
        ))),
        // Conductor resolves these to null.
        Target::Blank | Target::Invalid(_) => Ok("null".to_owned()),
    }
}

/// A parsed path as JSONata.
pub(crate) fn path_expression(path: &Path, lookup: &dyn Lookup) -> Result<String, RefError> {
    let (base, steps) = match &path.root {
        Root::Workflow => workflow_path(&path.steps, lookup),
        Root::Task(name) => match (lookup.task(name), path.steps.first()) {
            (Some(TaskData::Data(expr)), _) => (operand(&expr), &path.steps[..]),
            (Some(TaskData::Output(expr)), Some(Step::Field(f))) if f == "output" => {
                (operand(&expr), &path.steps[1..])
            }
            (Some(TaskData::Output(expr)), None) => {
                (format!("{{\"output\": {expr}}}"), &path.steps[..])
            }
            // Only the output of the state being built is known; its other fields read null.
            (Some(TaskData::Output(_)), Some(_)) => return Ok("null".to_owned()),
            // Conductor reads a reference to a task that never ran as null.
            (None, _) => return Ok("null".to_owned()),
        },
        Root::TaskId => return Ok(TASK_ID.to_owned()),
        Root::Document => return Err(RefError(format!("document path `{path}`"))),
    };
    if base == "null" {
        return Ok(base);
    }
    Ok(with_steps(base, steps))
}

/// `base` followed by JSONata path steps.
fn with_steps(mut out: String, steps: &[Step]) -> String {
    for step in steps {
        match step {
            Step::Field(name) => {
                out.push('.');
                out.push_str(&field_name(name));
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::Wildcard => out.push_str(".*"),
            Step::Descendant(name) => {
                out.push_str(".**.");
                out.push_str(&field_name(name));
            }
        }
    }
    out
}

/// The JSONata a `${workflow...}` path starts from, and the steps left to apply to it.
///
/// The input is the execution input (with `inputTemplate` defaults for absent or null keys, as
/// Conductor's `putIfAbsent`), identity and start time come from the context object, and
/// fields a Step Functions execution does not have read as Conductor's values for a running
/// workflow (`status`) or null.
fn workflow_path<'p>(steps: &'p [Step], lookup: &dyn Lookup) -> (String, &'p [Step]) {
    let facts = lookup.workflow();
    let Some(Step::Field(field)) = steps.first() else {
        let input = workflow_input(facts);
        let object = format!(
            "{{\"input\": {input}, \"workflowId\": $states.context.Execution.Name, \"workflowType\": {}, \"version\": {}, \"status\": \"RUNNING\", \"variables\": {}}}",
            Value::String(facts.name.clone()),
            facts.version,
            lookup.variables()
        );
        return (object, steps);
    };
    let rest = &steps[1..];
    match field.as_str() {
        "input" => match rest.first() {
            Some(Step::Field(key)) if facts.input_template.contains_key(key) => {
                let read = format!("{EXECUTION_INPUT}.{}", field_name(key));
                let default = literal(&facts.input_template[key]);
                (
                    format!("($exists({read}) and $type({read}) != \"null\" ? {read} : {default})"),
                    &rest[1..],
                )
            }
            _ => (workflow_input(facts), rest),
        },
        "variables" => (lookup.variables(), rest),
        "workflowId" => ("$states.context.Execution.Name".to_owned(), rest),
        "workflowType" => (Value::String(facts.name.clone()).to_string(), rest),
        "version" => (facts.version.to_string(), rest),
        "startTime" | "createTime" => (
            "$toMillis($states.context.Execution.StartTime)".to_owned(),
            rest,
        ),
        "status" => ("\"RUNNING\"".to_owned(), rest),
        // correlationId, parentWorkflowId, output, ...: not known to the execution.
        _ => ("null".to_owned(), rest),
    }
}

/// The whole workflow input: the execution input over the `inputTemplate` defaults.
fn workflow_input(facts: &WorkflowFacts) -> String {
    if facts.input_template.is_empty() {
        EXECUTION_INPUT.to_owned()
    } else {
        format!(
            "$merge([{}, {EXECUTION_INPUT}])",
            literal(&Value::Object(facts.input_template.clone()))
        )
    }
}

/// `expression` as the operand of a path step: parenthesised unless it is a plain path.
fn operand(expression: &str) -> String {
    let plain = expression.starts_with('$')
        && expression[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if plain {
        expression.to_owned()
    } else {
        format!("({expression})")
    }
}

/// A field name as a JSONata path step (backquoted unless a plain identifier).
pub(crate) fn field_name(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(
            name,
            "and" | "or" | "in" | "true" | "false" | "null" | "function"
        );
    if plain {
        name.to_owned()
    } else {
        format!("`{}`", name.replace('`', ""))
    }
}
