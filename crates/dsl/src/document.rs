//! Reading JSON text into the model: syntax errors with line and column, shape errors with a
//! pointer, and recognition of the kind of Conductor document a file holds.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::model::{
    EventHandler, StartWorkflowInput, StartWorkflowRequest, TaskDef, WorkflowDef,
    WorkflowExecution, WorkflowTask,
};
use crate::validate::{validate, validate_task_def};

/// The kinds of Conductor document a file can hold, told apart by shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// A workflow definition (an object with `tasks`).
    Workflow,
    /// An array of workflow definitions.
    Workflows,
    /// A start request (`name` with `input` or an inline `workflowDef`).
    StartWorkflowRequest,
    /// A START_WORKFLOW task input (`{"startWorkflow": {...}}`).
    StartWorkflowInput,
    /// A task definition (a `name` with retry/timeout settings).
    TaskDef,
    /// An array of task definitions.
    TaskDefs,
    /// An event handler (`event` and `actions`).
    EventHandler,
    /// A workflow execution record (`workflowId`).
    WorkflowExecution,
    /// A single workflow task (`taskReferenceName`), e.g. a documentation snippet.
    WorkflowTask,
}

impl DocumentKind {
    /// Recognises a document by its shape; anything unrecognised is taken for a workflow so
    /// that validation says what is missing.
    pub fn of(value: &Value) -> DocumentKind {
        match value {
            Value::Array(items) => {
                let taskdef_like = !items.is_empty()
                    && items.iter().all(|item| {
                        item.get("tasks").is_none()
                            && DocumentKind::of(item) == DocumentKind::TaskDef
                    });
                if taskdef_like {
                    DocumentKind::TaskDefs
                } else {
                    DocumentKind::Workflows
                }
            }
            Value::Object(members) => {
                let has = |key: &str| members.contains_key(key);
                if has("startWorkflow") && !has("tasks") {
                    DocumentKind::StartWorkflowInput
                } else if has("workflowId") && !has("taskReferenceName") {
                    DocumentKind::WorkflowExecution
                } else if has("event") && has("actions") {
                    DocumentKind::EventHandler
                } else if has("tasks") {
                    DocumentKind::Workflow
                } else if has("workflowDef") || (has("name") && has("input")) {
                    DocumentKind::StartWorkflowRequest
                } else if has("taskReferenceName") {
                    DocumentKind::WorkflowTask
                } else if has("name") && TASK_DEF_KEYS.iter().any(|k| has(k)) {
                    DocumentKind::TaskDef
                } else {
                    DocumentKind::Workflow
                }
            }
            _ => DocumentKind::Workflow,
        }
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            DocumentKind::Workflow => "workflow definition",
            DocumentKind::Workflows => "workflow definitions",
            DocumentKind::StartWorkflowRequest => "start workflow request",
            DocumentKind::StartWorkflowInput => "START_WORKFLOW input",
            DocumentKind::TaskDef => "task definition",
            DocumentKind::TaskDefs => "task definitions",
            DocumentKind::EventHandler => "event handler",
            DocumentKind::WorkflowExecution => "workflow execution",
            DocumentKind::WorkflowTask => "workflow task",
        }
    }
}

/// Keys only a task definition has (besides `name`).
const TASK_DEF_KEYS: &[&str] = &[
    "retryCount",
    "retryLogic",
    "retryDelaySeconds",
    "timeoutPolicy",
    "timeoutSeconds",
    "responseTimeoutSeconds",
    "inputKeys",
    "outputKeys",
    "concurrentExecLimit",
    "rateLimitPerFrequency",
    "pollTimeoutSeconds",
];

/// A parsed document of any recognised kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// A workflow definition.
    Workflow(Box<WorkflowDef>),
    /// Several workflow definitions.
    Workflows(Vec<WorkflowDef>),
    /// A start request.
    StartWorkflowRequest(Box<StartWorkflowRequest>),
    /// A START_WORKFLOW task input.
    StartWorkflowInput(Box<StartWorkflowInput>),
    /// A task definition.
    TaskDef(Box<TaskDef>),
    /// Several task definitions.
    TaskDefs(Vec<TaskDef>),
    /// An event handler.
    EventHandler(Box<EventHandler>),
    /// A workflow execution record.
    WorkflowExecution(Box<WorkflowExecution>),
    /// A single workflow task.
    WorkflowTask(Box<WorkflowTask>),
}

impl Document {
    /// The kind of document.
    pub fn kind(&self) -> DocumentKind {
        match self {
            Document::Workflow(_) => DocumentKind::Workflow,
            Document::Workflows(_) => DocumentKind::Workflows,
            Document::StartWorkflowRequest(_) => DocumentKind::StartWorkflowRequest,
            Document::StartWorkflowInput(_) => DocumentKind::StartWorkflowInput,
            Document::TaskDef(_) => DocumentKind::TaskDef,
            Document::TaskDefs(_) => DocumentKind::TaskDefs,
            Document::EventHandler(_) => DocumentKind::EventHandler,
            Document::WorkflowExecution(_) => DocumentKind::WorkflowExecution,
            Document::WorkflowTask(_) => DocumentKind::WorkflowTask,
        }
    }

    /// The workflow definitions the document holds, with their pointers: the definition itself,
    /// each item of an array, or a start request's inline `workflowDef`.
    pub fn workflows(&self) -> Vec<(String, &WorkflowDef)> {
        match self {
            Document::Workflow(def) => vec![(String::new(), def.as_ref())],
            Document::Workflows(defs) => defs
                .iter()
                .enumerate()
                .map(|(i, def)| (format!("/{i}"), def))
                .collect(),
            Document::StartWorkflowRequest(request) => request
                .workflow_def
                .iter()
                .map(|def| ("/workflowDef".to_owned(), def.as_ref()))
                .collect(),
            Document::StartWorkflowInput(input) => input
                .start_workflow
                .workflow_def
                .iter()
                .map(|def| ("/startWorkflow/workflowDef".to_owned(), def.as_ref()))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Semantic checks of everything checkable in the document, pointers from its root.
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self
            .workflows()
            .into_iter()
            .flat_map(|(prefix, def)| validate(def).into_iter().map(move |d| d.under(&prefix)))
            .collect();
        match self {
            Document::TaskDef(def) => out.extend(validate_task_def(def)),
            Document::TaskDefs(defs) => {
                for (i, def) in defs.iter().enumerate() {
                    out.extend(
                        validate_task_def(def)
                            .into_iter()
                            .map(|d| d.under(&format!("/{i}"))),
                    );
                }
            }
            _ => {}
        }
        out
    }
}

/// Parses JSON text, reporting a syntax error with its line and column.
fn parse_json(file: &str, text: &str) -> Result<Value, Vec<Diagnostic>> {
    serde_json::from_str(text).map_err(|e| {
        let mut d = Diagnostic::error("json-syntax", "", format!("invalid JSON: {e}"));
        // serde_json's message ends with " at line L column C"; keep only the reason.
        if let Some(at) = d.message.rfind(" at line ") {
            d.message.truncate(at);
        }
        d.line = Some(e.line());
        d.column = Some(e.column());
        vec![d.in_file(file)]
    })
}

/// The deepest JSON nesting read into the model. Deserialising nested tasks uses the stack, so
/// deeper documents are refused with a diagnostic instead of risking an overflow; real
/// definitions stay far below (the Conductor corpus peaks at 16).
pub const MAX_DEPTH: usize = 48;

/// Depth of a JSON value (a scalar is 0), computed without recursion.
fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0)];
    while let Some((value, level)) = stack.pop() {
        deepest = deepest.max(level);
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, level + 1))),
            Value::Object(members) => stack.extend(members.values().map(|v| (v, level + 1))),
            _ => {}
        }
    }
    deepest
}

/// Reads a JSON value into a model type, reporting a wrong shape with its pointer.
fn from_value<T: DeserializeOwned>(file: &str, value: Value) -> Result<T, Vec<Diagnostic>> {
    let levels = depth(&value);
    if levels > MAX_DEPTH {
        return Err(vec![
            Diagnostic::error(
                "too-deep",
                "",
                format!("document is nested {levels} levels deep; the limit is {MAX_DEPTH}"),
            )
            .in_file(file),
        ]);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let pointer = crate::pointer::from_serde_path(e.path());
        vec![Diagnostic::error("json-shape", pointer, e.inner().to_string()).in_file(file)]
    })
}

/// Parses a workflow definition: JSON syntax and shape only; [`validate`] checks the rest.
pub fn parse_workflow(file: &str, text: &str) -> Result<WorkflowDef, Vec<Diagnostic>> {
    let value = parse_json(file, text)?;
    if !value.is_object() {
        return Err(vec![
            Diagnostic::error(
                "json-shape",
                "",
                format!(
                    "expected a workflow definition object, found {}",
                    crate::pointer::kind(&value)
                ),
            )
            .in_file(file),
        ]);
    }
    from_value(file, value)
}

/// Parses a file holding an array of workflow definitions (or a single one).
pub fn parse_workflows(file: &str, text: &str) -> Result<Vec<WorkflowDef>, Vec<Diagnostic>> {
    match parse_json(file, text)? {
        value @ Value::Array(_) => from_value(file, value),
        value @ Value::Object(_) => from_value(file, value).map(|def| vec![def]),
        other => Err(vec![
            Diagnostic::error(
                "json-shape",
                "",
                format!(
                    "expected workflow definitions, found {}",
                    crate::pointer::kind(&other)
                ),
            )
            .in_file(file),
        ]),
    }
}

/// Parses any recognised Conductor document (see [`DocumentKind::of`]).
pub fn parse_document(file: &str, text: &str) -> Result<Document, Vec<Diagnostic>> {
    let value = parse_json(file, text)?;
    if !value.is_object() && !value.is_array() {
        return Err(vec![
            Diagnostic::error(
                "json-shape",
                "",
                format!(
                    "expected a JSON object or array, found {}",
                    crate::pointer::kind(&value)
                ),
            )
            .in_file(file),
        ]);
    }
    Ok(match DocumentKind::of(&value) {
        DocumentKind::Workflow => Document::Workflow(from_value(file, value)?),
        DocumentKind::Workflows => Document::Workflows(from_value(file, value)?),
        DocumentKind::StartWorkflowRequest => {
            Document::StartWorkflowRequest(from_value(file, value)?)
        }
        DocumentKind::StartWorkflowInput => Document::StartWorkflowInput(from_value(file, value)?),
        DocumentKind::TaskDef => Document::TaskDef(from_value(file, value)?),
        DocumentKind::TaskDefs => Document::TaskDefs(from_value(file, value)?),
        DocumentKind::EventHandler => Document::EventHandler(from_value(file, value)?),
        DocumentKind::WorkflowExecution => Document::WorkflowExecution(from_value(file, value)?),
        DocumentKind::WorkflowTask => Document::WorkflowTask(from_value(file, value)?),
    })
}

/// Parses and validates a document: the document when it parsed, and every diagnostic.
pub fn check_document(file: &str, text: &str) -> (Option<Document>, Vec<Diagnostic>) {
    match parse_document(file, text) {
        Ok(document) => {
            let diagnostics = document
                .validate()
                .into_iter()
                .map(|d| d.in_file(file))
                .collect();
            (Some(document), diagnostics)
        }
        Err(diagnostics) => (None, diagnostics),
    }
}
