//! Conductor `${...}` parameters as JSONata.
//!
//! A parameter becomes either an ASL JSON template (objects and arrays kept as JSON, each
//! reference a `{% ... %}` leaf) or one JSONata expression. Every reference is guarded: a path
//! that reads nothing yields `null`, as in Conductor, instead of failing the state with
//! `States.QueryEvaluationError`.

use ocflow_asl::jsonata;
use ocflow_dsl::params::{Param, Path, Reference, Root, Segment, Step, Target};
use serde_json::Value;

/// The id of the task being executed: execution name and state name (`${CPEWF_TASK_ID}`).
pub(crate) const TASK_ID: &str =
    "$join([$states.context.Execution.Name, $states.context.State.Name], '/')";

/// Where references read from, in the state being compiled.
pub(crate) trait Lookup {
    /// A JSONata expression for the `workflow` object (`input`, `workflowId`, ...).
    fn workflow(&self) -> String;
    /// A JSONata expression for the data of the task `reference` (an object with `output`),
    /// or `None` when no task of that name is visible.
    fn task(&self, reference: &str) -> Option<String>;
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
    format!("($exists({path}) ? {path} : null)")
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
    let (mut out, steps) = match &path.root {
        Root::Workflow => match path.steps.first() {
            Some(Step::Field(field)) if field == "variables" => {
                ("$vars".to_owned(), &path.steps[1..])
            }
            _ => (lookup.workflow(), &path.steps[..]),
        },
        Root::Task(name) => match lookup.task(name) {
            Some(expr) => (expr, &path.steps[..]),
            // Conductor reads a reference to a task that never ran as null.
            None => return Ok("null".to_owned()),
        },
        Root::TaskId => return Ok(TASK_ID.to_owned()),
        Root::Document => return Err(RefError(format!("document path `{path}`"))),
    };
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
    Ok(out)
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
