//! Resolving parsed parameters against execution data, with Conductor's semantics.

use serde_json::Value;

use super::{Param, Path, Reference, Root, Segment, Step, Target};

/// The data references read.
pub trait Scope {
    /// The `workflow` object (`input`, `output`, `variables`, `workflowId`, ...).
    fn workflow(&self) -> Option<&Value>;
    /// The object of the task with this reference name (`input`, `output`, `status`, ...).
    fn task(&self, reference: &str) -> Option<&Value>;
    /// The id of the task being scheduled, for `${CPEWF_TASK_ID}`.
    fn current_task_id(&self) -> Option<&str> {
        None
    }
    /// The whole document, for paths with no named root (`$[0]`, `$..x`).
    fn document(&self) -> Option<&Value> {
        None
    }
}

/// A plain JSON document is a scope: `workflow` and task references are its top-level members.
impl Scope for Value {
    fn workflow(&self) -> Option<&Value> {
        self.get("workflow")
    }

    fn task(&self, reference: &str) -> Option<&Value> {
        self.get(reference)
    }

    fn document(&self) -> Option<&Value> {
        Some(self)
    }
}

/// Resolves a parameter: references read `scope`; missing data is `null`.
pub fn resolve(param: &Param, scope: &dyn Scope) -> Value {
    match param {
        Param::Literal(value) => value.clone(),
        Param::Ref(reference) => resolve_reference(reference, scope),
        Param::Template(segments) => Value::String(render(segments, scope)),
        Param::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, p)| (k.clone(), resolve(p, scope)))
                .collect(),
        ),
        Param::Array(items) => Value::Array(items.iter().map(|p| resolve(p, scope)).collect()),
    }
}

fn resolve_reference(reference: &Reference, scope: &dyn Scope) -> Value {
    match &reference.target {
        Target::Path(path) => read(path, scope),
        Target::Dynamic(segments) => match Path::parse(&render(segments, scope)) {
            Ok(path) => read(&path, scope),
            Err(_) => Value::Null,
        },
        Target::Blank => Value::String(String::new()),
        Target::Invalid(_) => Value::Null,
    }
}

/// Text of segments, each reference's value written as text (`null` as "null").
fn render(segments: &[Segment], scope: &dyn Scope) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Text(text) => out.push_str(text),
            Segment::Ref(reference) => match resolve_reference(reference, scope) {
                Value::String(s) => out.push_str(&s),
                other => out.push_str(&other.to_string()),
            },
        }
    }
    out
}

/// Reads a path: a definite path gives one value (or null), a path with `*` or `..` gives the
/// array of everything it matched.
pub(crate) fn read(path: &Path, scope: &dyn Scope) -> Value {
    let root = match &path.root {
        Root::Workflow => scope
            .workflow()
            .or_else(|| scope.document().and_then(|d| d.get("workflow"))),
        Root::TaskId => {
            return scope
                .current_task_id()
                .map_or(Value::Null, |id| Value::String(id.to_owned()));
        }
        Root::Task(name) => scope.task(name),
        Root::Document => scope.document(),
    };
    let Some(root) = root else {
        return Value::Null;
    };
    let indefinite = path
        .steps
        .iter()
        .any(|s| matches!(s, Step::Wildcard | Step::Descendant(_)));
    let mut current: Vec<&Value> = vec![root];
    for step in &path.steps {
        let mut next = Vec::new();
        for value in current {
            apply(step, value, &mut next);
        }
        current = next;
    }
    if indefinite {
        Value::Array(current.into_iter().cloned().collect())
    } else {
        current.into_iter().next().cloned().unwrap_or(Value::Null)
    }
}

fn apply<'a>(step: &Step, value: &'a Value, out: &mut Vec<&'a Value>) {
    match step {
        Step::Field(name) => out.extend(value.get(name.as_str())),
        Step::Index(i) => {
            if let Value::Array(items) = value {
                let index = if *i < 0 {
                    i64::try_from(items.len())
                        .ok()
                        .and_then(|n| n.checked_add(*i))
                } else {
                    Some(*i)
                };
                out.extend(
                    index
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| items.get(i)),
                );
            }
        }
        Step::Wildcard => match value {
            Value::Array(items) => out.extend(items.iter()),
            Value::Object(members) => out.extend(members.values()),
            _ => {}
        },
        Step::Descendant(name) => {
            // Pre-order over the subtree, iteratively.
            let mut stack = vec![value];
            while let Some(v) = stack.pop() {
                match v {
                    Value::Object(members) => {
                        if let Some(found) = members.get(name.as_str()) {
                            out.push(found);
                        }
                        stack.extend(members.values().rev());
                    }
                    Value::Array(items) => stack.extend(items.iter().rev()),
                    _ => {}
                }
            }
        }
    }
}
