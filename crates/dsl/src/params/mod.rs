//! The `${...}` parameter language of Conductor's `inputParameters` (its `ParametersUtils`).
//!
//! A parameter value is parsed once into a [`Param`] tree:
//! - a string that is exactly one reference (`"${t.output.items}"`) is a [`Param::Ref`] and keeps
//!   the referenced value's JSON type;
//! - a string with references inside longer text is a [`Param::Template`]: references are
//!   inserted as text (`null` becomes `"null"`, objects and arrays their JSON text);
//! - `$${` writes a literal `${`; `${}` (blank) is the empty string;
//! - objects and arrays are parsed member by member; other JSON is a [`Param::Literal`].
//!
//! A reference is a JSONPath (Jayway subset: `a.b`, `a['x-y']`, `a[0]`, `a[-1]`, `a[*]`, `a.*`,
//! `a..b`, optional leading `$`) whose first name is the root: `workflow`, `CPEWF_TASK_ID` or a
//! task reference name. A reference may nest references (`${map.${key}[${i}]}`): the inner ones
//! are resolved first and spliced into the path text. Missing data resolves to `null`.

mod path;
mod resolve;

pub use path::{Path, PathError, Root, Step};
pub use resolve::{Scope, resolve};

use serde_json::Value;

/// The fields of the `workflow` root that Conductor fills.
pub const WORKFLOW_FIELDS: &[&str] = &[
    "input",
    "output",
    "variables",
    "workflowId",
    "correlationId",
    "workflowType",
    "version",
    "status",
    "parentWorkflowId",
    "parentWorkflowTaskId",
    "createTime",
    "startTime",
    "updateTime",
    "endTime",
    "taskToDomain",
    "reasonForIncompletion",
    "schemaVersion",
    "priority",
    "ownerApp",
    "createdBy",
    "updatedBy",
    "lastRetriedTime",
    "externalInputPayloadStoragePath",
    "externalOutputPayloadStoragePath",
];

/// The fields of a task reference root (`${ref.<field>}`) that Conductor fills.
pub const TASK_FIELDS: &[&str] = &[
    "input",
    "output",
    "status",
    "taskId",
    "referenceTaskName",
    "retryCount",
    "callbackAfterSeconds",
    "reasonForIncompletion",
    "taskType",
    "taskDefName",
    "pollCount",
    "seq",
    "scheduledTime",
    "startTime",
    "endTime",
    "updateTime",
    "workerId",
    "domain",
    "iteration",
    "subWorkflowId",
    "parentTaskId",
    "workflowInstanceId",
    "workflowType",
    "correlationId",
    "startDelayInSeconds",
    "responseTimeoutSeconds",
    "externalInputPayloadStoragePath",
    "externalOutputPayloadStoragePath",
];

/// A parsed parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// JSON with no reference in it (escapes already applied to strings).
    Literal(Value),
    /// A string that is exactly one reference: the value keeps its JSON type.
    Ref(Reference),
    /// Text with embedded references: the result is a string.
    Template(Vec<Segment>),
    /// An object, member by member, in document order.
    Object(Vec<(String, Param)>),
    /// An array, item by item.
    Array(Vec<Param>),
}

/// A piece of a [`Param::Template`] (or of a nested reference's path text).
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// Literal text (escapes applied).
    Text(String),
    /// A reference whose value is inserted as text.
    Ref(Reference),
}

/// One `${...}` reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The text between `${` and `}`, as written.
    pub text: String,
    /// What it reads.
    pub target: Target,
}

/// What a [`Reference`] reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A path known before run time.
    Path(Path),
    /// A path whose text is built at run time from nested references.
    Dynamic(Vec<Segment>),
    /// `${}` or `${  }`: the empty string.
    Blank,
    /// Text that is not a path this implementation reads; resolves to null.
    Invalid(PathError),
}

impl Param {
    /// Parses a raw parameter value (a whole `inputParameters` map, or any value in it).
    pub fn parse(value: &Value) -> Param {
        match value {
            Value::String(text) => Param::parse_str(text),
            Value::Array(items) => Param::Array(items.iter().map(Param::parse).collect()),
            Value::Object(members) => Param::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), Param::parse(v)))
                    .collect(),
            ),
            other => Param::Literal(other.clone()),
        }
    }

    /// Parses one string value.
    pub fn parse_str(text: &str) -> Param {
        let segments = parse_segments(text);
        match segments.as_slice() {
            [] => Param::Literal(Value::String(String::new())),
            [Segment::Text(t)] => Param::Literal(Value::String(t.clone())),
            [Segment::Ref(r)] => Param::Ref(r.clone()),
            _ => Param::Template(segments),
        }
    }

    /// Every reference in this value, outer before inner, in document order.
    pub fn references(&self) -> Vec<&Reference> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(param) = stack.pop() {
            match param {
                Param::Literal(_) => {}
                Param::Ref(r) => r.collect(&mut out),
                Param::Template(segments) => collect_segments(segments, &mut out),
                Param::Object(members) => stack.extend(members.iter().rev().map(|(_, p)| p)),
                Param::Array(items) => stack.extend(items.iter().rev()),
            }
        }
        out
    }
}

impl Reference {
    /// The root this reference reads, when known before run time.
    ///
    /// A dynamic reference whose path text starts with a fixed name (`${t.output[${i}]}`) still
    /// has a known root.
    pub fn root(&self) -> Option<Root> {
        match &self.target {
            Target::Path(path) => Some(path.root.clone()),
            Target::Dynamic(segments) => match segments.first() {
                Some(Segment::Text(text)) => {
                    let name: String = text
                        .trim_start()
                        .trim_start_matches("$.")
                        .chars()
                        .take_while(|c| !matches!(c, '.' | '['))
                        .collect();
                    let rest = &text.trim_start().trim_start_matches("$.")[name.len()..];
                    (!name.is_empty() && !rest.is_empty()).then(|| Root::from_name(&name))
                }
                _ => None,
            },
            Target::Blank | Target::Invalid(_) => None,
        }
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Reference>) {
        out.push(self);
        if let Target::Dynamic(segments) = &self.target {
            collect_segments(segments, out);
        }
    }
}

fn collect_segments<'a>(segments: &'a [Segment], out: &mut Vec<&'a Reference>) {
    for segment in segments {
        if let Segment::Ref(r) = segment {
            r.collect(out);
        }
    }
}

/// Splits text into literal text and references; `$${` is an escaped `${`.
fn parse_segments(text: &str) -> Vec<Segment> {
    let bytes = text.as_bytes();
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    let mut copied_to = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"$${") {
            literal.push_str(&text[copied_to..i]);
            literal.push_str("${");
            i += 3;
            copied_to = i;
        } else if bytes[i..].starts_with(b"${") {
            let Some(end) = matching_brace(bytes, i + 1) else {
                // An unclosed `${` is plain text, as in Conductor.
                break;
            };
            literal.push_str(&text[copied_to..i]);
            if !literal.is_empty() {
                segments.push(Segment::Text(std::mem::take(&mut literal)));
            }
            segments.push(Segment::Ref(parse_reference(&text[i + 2..end])));
            i = end + 1;
            copied_to = i;
        } else {
            // Step over one whole character (text is UTF-8).
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    literal.push_str(&text[copied_to..]);
    if !literal.is_empty() {
        segments.push(Segment::Text(literal));
    }
    segments
}

/// Index of the `}` closing the `{` at `open`, counting nested braces.
fn matching_brace(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_reference(inner: &str) -> Reference {
    let target = if inner.trim().is_empty() {
        Target::Blank
    } else if inner.contains("${") {
        let segments = parse_segments(inner);
        if segments.iter().any(|s| matches!(s, Segment::Ref(_))) {
            Target::Dynamic(segments)
        } else {
            static_target(&segments_text(&segments))
        }
    } else {
        static_target(inner)
    };
    Reference {
        text: inner.to_owned(),
        target,
    }
}

fn static_target(text: &str) -> Target {
    match Path::parse(text) {
        Ok(path) => Target::Path(path),
        Err(error) => Target::Invalid(error),
    }
}

fn segments_text(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Segment::Text(t) => t.as_str(),
            Segment::Ref(r) => r.text.as_str(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_reference_template_and_literal() {
        assert!(matches!(
            Param::parse_str("${workflow.input.a}"),
            Param::Ref(_)
        ));
        assert!(matches!(
            Param::parse_str("id-${workflow.input.a}"),
            Param::Template(_)
        ));
        assert_eq!(
            Param::parse_str("plain"),
            Param::Literal(Value::String("plain".into()))
        );
        assert_eq!(
            Param::parse_str("$${not.a.ref}"),
            Param::Literal(Value::String("${not.a.ref}".into()))
        );
    }

    #[test]
    fn nested_references_are_dynamic_with_known_root() {
        let Param::Ref(r) = Param::parse_str("${t.output[${workflow.input.i}]}") else {
            panic!("expected a reference");
        };
        assert!(matches!(r.target, Target::Dynamic(_)));
        assert_eq!(r.root(), Some(Root::Task("t".into())));
        let refs: Vec<_> = Param::parse_str("${t.output[${workflow.input.i}]}")
            .references()
            .into_iter()
            .map(|r| r.text.clone())
            .collect();
        assert_eq!(refs, ["t.output[${workflow.input.i}]", "workflow.input.i"]);
    }

    #[test]
    fn unclosed_reference_is_text() {
        assert_eq!(
            Param::parse_str("a ${b"),
            Param::Literal(Value::String("a ${b".into()))
        );
    }
}
