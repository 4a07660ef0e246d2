//! Semantic checks of a parsed definition; every finding is reported at once.
//!
//! | code | severity | check |
//! |---|---|---|
//! | `missing-name` | error | the workflow has a name |
//! | `bad-workflow-name` | error | the name uses Conductor's characters: letters, digits, `_`, `-`, space, `<>{}#` |
//! | `no-tasks` | error | `tasks` is non-empty |
//! | `missing-task-name` | error | every task has a name |
//! | `missing-reference` | error | every task has a `taskReferenceName` |
//! | `duplicate-reference` | error | references are unique across the whole tree |
//! | `reserved-reference` | error | references hold no `__` (Conductor's iteration suffix) |
//! | `empty-task-type` | error | `type`, when written, is not empty |
//! | `task-type-near-miss` | warning | a worker type that looks like a misspelt system type |
//! | `switch-evaluator` / `switch-expression` | error | SWITCH has `evaluatorType` and `expression` |
//! | `decision-case` | error | DECISION has `caseValueParam` or `caseExpression` |
//! | `fork-without-join` | error | FORK_JOIN / FORK_JOIN_DYNAMIC is followed by a JOIN |
//! | `empty-fork` | error | FORK_JOIN has at least one branch |
//! | `dynamic-fork-param` | error | FORK_JOIN_DYNAMIC names its tasks parameter |
//! | `empty-loop` / `loop-condition` | error | DO_WHILE has a non-empty `loopOver` and a `loopCondition` |
//! | `sub-workflow-target` | error | SUB_WORKFLOW names a workflow or holds one inline |
//! | `unknown-reference` | warning | every `${...}` starts at `workflow`, `CPEWF_TASK_ID` or a task reference (Conductor accepts others and reads null; real definitions have them) |
//! | `unknown-reference-field` | warning | `${workflow.x}` / `${ref.x}` with a field Conductor does not fill |
//! | `bad-reference-path` | warning | the text inside `${...}` is not a path (it resolves to null) |
//! | `response-timeout` | error / warning | `responseTimeoutSeconds` ≤ `timeoutSeconds` when the latter is > 0: an error for a registered task definition, a warning for an inline `taskDefinition` (Conductor does not check those) |
//!
//! Inline sub-workflow definitions are checked too, as their own scope, with pointers into them.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::walk_list;
use crate::model::{InlineWorkflow, TaskDef, TaskType, WorkflowDef, WorkflowTask};
use crate::params::{Param, Root, TASK_FIELDS, Target, WORKFLOW_FIELDS};

/// Checks a workflow definition; pointers are relative to the definition.
pub fn validate(def: &WorkflowDef) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Nested inline definitions are queued rather than recursed into, so depth is not a risk.
    let mut queue: Vec<(String, &WorkflowDef)> = vec![(String::new(), def)];
    while let Some((prefix, def)) = queue.pop() {
        let mut found = Vec::new();
        let nested = check_workflow(def, &mut found);
        out.extend(found.into_iter().map(|d| d.under(&prefix)));
        queue.extend(
            nested
                .into_iter()
                .rev()
                .map(|(pointer, child)| (format!("{prefix}{pointer}"), child)),
        );
    }
    out
}

/// Checks a standalone task definition (`TaskDef`); pointers are relative to it.
pub fn validate_task_def(def: &TaskDef) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if def.name.trim().is_empty() {
        out.push(Diagnostic::error(
            "missing-name",
            "/name",
            "task definition has no name",
        ));
    }
    check_timeouts(def, "", Severity::Error, &mut out);
    out
}

/// Workflow names Conductor accepts: `^[A-Za-z0-9_<>{}#\s-]+$`.
fn valid_workflow_name(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || "_-<>{}#".contains(c))
}

/// Checks one definition (not its inline children, which it returns with their pointers).
fn check_workflow<'a>(
    def: &'a WorkflowDef,
    out: &mut Vec<Diagnostic>,
) -> Vec<(String, &'a WorkflowDef)> {
    if def.name.trim().is_empty() {
        out.push(
            Diagnostic::error("missing-name", "/name", "workflow has no name")
                .with_hint("add \"name\": \"my_workflow\""),
        );
    } else if !valid_workflow_name(&def.name) {
        out.push(
            Diagnostic::error(
                "bad-workflow-name",
                "/name",
                format!(
                    "workflow name '{}' has characters Conductor refuses",
                    def.name
                ),
            )
            .with_hint("use letters, digits, '_', '-', spaces and <>{}#"),
        );
    }
    if def.tasks.is_empty() {
        out.push(Diagnostic::error(
            "no-tasks",
            "/tasks",
            "workflow has no tasks",
        ));
    }
    let tasks = walk_list("/tasks", &def.tasks);

    // References: present, well formed, unique.
    let mut first_at: HashMap<&str, &str> = HashMap::new();
    for at in &tasks {
        let task = at.task;
        let reference = task.task_reference_name.as_str();
        if task.name.trim().is_empty() {
            out.push(Diagnostic::error(
                "missing-task-name",
                format!("{}/name", at.pointer),
                "task has no name",
            ));
        }
        if reference.trim().is_empty() {
            out.push(
                Diagnostic::error(
                    "missing-reference",
                    format!("{}/taskReferenceName", at.pointer),
                    "task has no taskReferenceName",
                )
                .with_hint("give every task a reference name unique in the workflow"),
            );
            continue;
        }
        if reference.contains("__") {
            out.push(Diagnostic::error(
                "reserved-reference",
                format!("{}/taskReferenceName", at.pointer),
                format!("reference '{reference}' contains '__', which Conductor reserves"),
            ));
        }
        match first_at.get(reference) {
            Some(first) => out.push(Diagnostic::error(
                "duplicate-reference",
                format!("{}/taskReferenceName", at.pointer),
                format!("duplicate reference '{reference}' (first at {first})"),
            )),
            None => {
                first_at.insert(reference, &at.pointer);
            }
        }
    }

    for at in &tasks {
        check_task(at.task, &at.pointer, out);
    }
    for (prefix, list) in sibling_lists(def) {
        check_forks_joined(&prefix, list, out);
    }

    // References name something that exists.
    let known = |name: &str| first_at.contains_key(name);
    for at in &tasks {
        if let Some(inputs) = &at.task.input_parameters {
            for (key, value) in inputs {
                let pointer = format!(
                    "{}/inputParameters/{}",
                    at.pointer,
                    crate::pointer::escape(key)
                );
                check_references(value, &pointer, &known, out);
            }
        }
    }
    if let Some(outputs) = &def.output_parameters {
        for (key, value) in outputs {
            let pointer = format!("/outputParameters/{}", crate::pointer::escape(key));
            check_references(value, &pointer, &known, out);
        }
    }

    // Inline sub-workflows, checked by the caller.
    tasks
        .iter()
        .filter_map(|at| {
            let params = at.task.sub_workflow_param.as_ref()?;
            match params.workflow_definition.as_ref()? {
                InlineWorkflow::Definition(child) => Some((
                    format!("{}/subWorkflowParam/workflowDefinition", at.pointer),
                    child.as_ref(),
                )),
                InlineWorkflow::Expression(_) => None,
            }
        })
        .collect()
}

/// Every task list of the tree (top level and nested) with its pointer.
fn sibling_lists(def: &WorkflowDef) -> Vec<(String, &[WorkflowTask])> {
    let mut lists = vec![("/tasks".to_owned(), def.tasks.as_slice())];
    for at in walk_list("/tasks", &def.tasks) {
        for (suffix, list) in at.task.child_lists() {
            lists.push((format!("{}{suffix}", at.pointer), list));
        }
    }
    lists
}

fn check_forks_joined(prefix: &str, list: &[WorkflowTask], out: &mut Vec<Diagnostic>) {
    for (i, task) in list.iter().enumerate() {
        let kind = task.task_type();
        if !matches!(kind, TaskType::ForkJoin | TaskType::ForkJoinDynamic) {
            continue;
        }
        let joined = list
            .get(i + 1)
            .is_some_and(|next| next.task_type() == TaskType::Join);
        if !joined {
            out.push(
                Diagnostic::error(
                    "fork-without-join",
                    format!("{prefix}/{i}"),
                    format!(
                        "{kind} '{}' is not followed by a JOIN",
                        task.task_reference_name
                    ),
                )
                .with_hint("put a JOIN task right after the fork"),
            );
        }
    }
}

fn missing(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(|t| t.trim().is_empty())
}

fn check_task(task: &WorkflowTask, at: &str, out: &mut Vec<Diagnostic>) {
    let reference = &task.task_reference_name;
    let kind = task.task_type();
    match &kind {
        TaskType::Worker(name) if name.trim().is_empty() => out.push(Diagnostic::error(
            "empty-task-type",
            format!("{at}/type"),
            "task type is empty",
        )),
        TaskType::Worker(name) => {
            if let Some(system) = near_miss(name) {
                out.push(
                    Diagnostic::warning(
                        "task-type-near-miss",
                        format!("{at}/type"),
                        format!("unknown task type '{name}' is treated as a worker task type"),
                    )
                    .with_hint(format!("did you mean '{system}'?")),
                );
            }
        }
        TaskType::Switch => {
            if missing(&task.evaluator_type) {
                out.push(
                    Diagnostic::error(
                        "switch-evaluator",
                        format!("{at}/evaluatorType"),
                        format!("SWITCH '{reference}' has no evaluatorType"),
                    )
                    .with_hint("use \"value-param\" or \"javascript\""),
                );
            }
            if missing(&task.expression) {
                out.push(Diagnostic::error(
                    "switch-expression",
                    format!("{at}/expression"),
                    format!("SWITCH '{reference}' has no expression"),
                ));
            }
        }
        TaskType::Decision if missing(&task.case_value_param) && missing(&task.case_expression) => {
            out.push(Diagnostic::error(
                "decision-case",
                format!("{at}/caseValueParam"),
                format!("DECISION '{reference}' has neither caseValueParam nor caseExpression"),
            ));
        }
        TaskType::ForkJoin if task.fork_branches().is_empty() => {
            out.push(Diagnostic::error(
                "empty-fork",
                format!("{at}/forkTasks"),
                format!("FORK_JOIN '{reference}' has no branches"),
            ));
        }
        TaskType::ForkJoinDynamic
            if task
                .dynamic_fork_param()
                .is_none_or(|p| p.trim().is_empty())
                && !task.inputs().contains_key("forkTaskName") =>
        {
            out.push(Diagnostic::error(
                "dynamic-fork-param",
                format!("{at}/dynamicForkTasksParam"),
                format!("FORK_JOIN_DYNAMIC '{reference}' has no dynamicForkTasksParam"),
            ));
        }
        TaskType::DoWhile => {
            if task.loop_body().is_empty() {
                out.push(Diagnostic::error(
                    "empty-loop",
                    format!("{at}/loopOver"),
                    format!("DO_WHILE '{reference}' has no tasks to loop over"),
                ));
            }
            if missing(&task.loop_condition) {
                out.push(Diagnostic::error(
                    "loop-condition",
                    format!("{at}/loopCondition"),
                    format!("DO_WHILE '{reference}' has no loopCondition"),
                ));
            }
        }
        TaskType::SubWorkflow => {
            let named = task
                .sub_workflow_param
                .as_ref()
                .is_some_and(|p| !missing(&p.name) || p.workflow_definition.is_some());
            if !named {
                out.push(
                    Diagnostic::error(
                        "sub-workflow-target",
                        format!("{at}/subWorkflowParam"),
                        format!(
                            "SUB_WORKFLOW '{reference}' names no workflow and holds no definition"
                        ),
                    )
                    .with_hint("set subWorkflowParam.name or subWorkflowParam.workflowDefinition"),
                );
            }
        }
        _ => {}
    }
    if let Some(def) = &task.task_definition {
        check_timeouts(def, &format!("{at}/taskDefinition"), Severity::Warning, out);
    }
}

fn check_timeouts(def: &TaskDef, at: &str, severity: Severity, out: &mut Vec<Diagnostic>) {
    let timeout = def.timeout_seconds();
    let response = def.response_timeout_seconds();
    if timeout > 0 && response > timeout {
        let diagnostic = Diagnostic {
            severity,
            ..Diagnostic::error(
                "response-timeout",
                format!("{at}/responseTimeoutSeconds"),
                format!("responseTimeoutSeconds ({response}) exceeds timeoutSeconds ({timeout})"),
            )
        };
        out.push(
            diagnostic.with_hint(if def.response_timeout_seconds.is_none() {
                "the default responseTimeoutSeconds is 3600; set it to at most timeoutSeconds"
            } else {
                "make responseTimeoutSeconds at most timeoutSeconds"
            }),
        );
    }
}

/// The system type a worker type name is probably a misspelling of.
fn near_miss(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    TaskType::SYSTEM
        .iter()
        .map(|t| {
            let system = t.as_str();
            (strsim::damerau_levenshtein(&upper, system), system)
        })
        .filter(|(distance, system)| {
            let allowed = if system.len() <= 4 { 1 } else { 2 };
            *distance <= allowed && (*distance > 0 || upper != name)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, system)| system)
}

fn check_references(
    value: &serde_json::Value,
    pointer: &str,
    known: &dyn Fn(&str) -> bool,
    out: &mut Vec<Diagnostic>,
) {
    // Walk values so each diagnostic points at the string holding the reference.
    let mut stack = vec![(pointer.to_owned(), value)];
    while let Some((pointer, value)) = stack.pop() {
        match value {
            serde_json::Value::String(text) if text.contains("${") => {
                for reference in Param::parse_str(text).references() {
                    check_reference(reference, &pointer, known, out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((format!("{pointer}/{i}"), item));
                }
            }
            serde_json::Value::Object(members) => {
                for (key, item) in members.iter().rev() {
                    stack.push((format!("{pointer}/{}", crate::pointer::escape(key)), item));
                }
            }
            _ => {}
        }
    }
}

fn check_reference(
    reference: &crate::params::Reference,
    pointer: &str,
    known: &dyn Fn(&str) -> bool,
    out: &mut Vec<Diagnostic>,
) {
    if let Target::Invalid(error) = &reference.target {
        out.push(Diagnostic::warning(
            "bad-reference-path",
            pointer,
            format!(
                "'${{{}}}' is not a path ({error}); it resolves to null",
                reference.text
            ),
        ));
        return;
    }
    let Some(root) = reference.root() else {
        return;
    };
    let first_field = match &reference.target {
        Target::Path(path) => path.first_field().map(str::to_owned),
        _ => None,
    };
    match root {
        Root::Task(name) if !known(&name) => out.push(
            Diagnostic::warning(
                "unknown-reference",
                pointer,
                format!(
                    "'${{{}}}' refers to '{name}', which is neither a task reference nor 'workflow'; it resolves to null",
                    reference.text
                ),
            )
            .with_hint("references start with workflow., CPEWF_TASK_ID or a taskReferenceName"),
        ),
        Root::Task(name) => {
            if let Some(field) = first_field.filter(|f| !TASK_FIELDS.contains(&f.as_str())) {
                out.push(
                    Diagnostic::warning(
                        "unknown-reference-field",
                        pointer,
                        format!("'${{{}}}' reads '{field}', which a task does not have", reference.text),
                    )
                    .with_hint(format!("did you mean '{name}.output.{field}'?")),
                );
            }
        }
        Root::Workflow => {
            if let Some(field) = first_field.filter(|f| !WORKFLOW_FIELDS.contains(&f.as_str())) {
                out.push(
                    Diagnostic::warning(
                        "unknown-reference-field",
                        pointer,
                        format!(
                            "'${{{}}}' reads '{field}', which a workflow does not have",
                            reference.text
                        ),
                    )
                    .with_hint(format!("did you mean 'workflow.input.{field}'?")),
                );
            }
        }
        Root::TaskId | Root::Document => {}
    }
}
