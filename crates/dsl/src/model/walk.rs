//! Walking the task tree: every task with its JSON pointer, lookups by reference, and the
//! task definition in force for a task.

use indexmap::IndexMap;

use super::{TaskDef, WorkflowDef, WorkflowTask};

/// A task of the tree and where it is.
#[derive(Debug, Clone)]
pub struct TaskAt<'a> {
    /// JSON pointer of the task in the definition, e.g. `/tasks/3/decisionCases/a/0`.
    pub pointer: String,
    /// The task.
    pub task: &'a WorkflowTask,
    /// Nesting depth: 0 for top-level tasks.
    pub depth: usize,
}

impl WorkflowDef {
    /// Every task of the tree in document order (a task before its children), with its pointer.
    ///
    /// Tasks of inline sub-workflow definitions are not included: they form their own scope.
    pub fn walk(&self) -> Vec<TaskAt<'_>> {
        walk_list("/tasks", &self.tasks)
    }

    /// The task with this reference name, anywhere in the tree.
    pub fn find_task(&self, reference: &str) -> Option<TaskAt<'_>> {
        self.walk()
            .into_iter()
            .find(|at| at.task.task_reference_name == reference)
    }
}

/// Every task of `tasks` and of the lists nested in them, pre-order, pointers under `prefix`.
///
/// Iterative, so deeply nested input cannot overflow the stack.
pub(crate) fn walk_list<'a>(prefix: &str, tasks: &'a [WorkflowTask]) -> Vec<TaskAt<'a>> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &'a [WorkflowTask], usize, usize)> =
        vec![(prefix.to_owned(), tasks, 0, 0)];
    while let Some((prefix, tasks, depth, index)) = stack.pop() {
        let Some(task) = tasks.get(index) else {
            continue;
        };
        let pointer = format!("{prefix}/{index}");
        stack.push((prefix, tasks, depth, index + 1));
        for (suffix, list) in task.child_lists().into_iter().rev() {
            stack.push((format!("{pointer}{suffix}"), list, depth + 1, 0));
        }
        out.push(TaskAt {
            pointer,
            task,
            depth,
        });
    }
    out
}

/// Registered task definitions by name, as a metadata service would hold them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskDefs {
    by_name: IndexMap<String, TaskDef>,
}

impl TaskDefs {
    /// An empty registry.
    pub fn new() -> TaskDefs {
        TaskDefs::default()
    }

    /// Adds (or replaces) a definition.
    pub fn insert(&mut self, def: TaskDef) {
        self.by_name.insert(def.name.clone(), def);
    }

    /// The definition registered under `name`.
    pub fn get(&self, name: &str) -> Option<&TaskDef> {
        self.by_name.get(name)
    }

    /// Number of definitions.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

impl FromIterator<TaskDef> for TaskDefs {
    fn from_iter<I: IntoIterator<Item = TaskDef>>(iter: I) -> TaskDefs {
        let mut defs = TaskDefs::new();
        for def in iter {
            defs.insert(def);
        }
        defs
    }
}

impl WorkflowTask {
    /// The task definition in force: the inline `taskDefinition`, else the registered one named
    /// like the task, else Conductor's defaults; the task's own `retryCount` overrides.
    pub fn effective_task_def(&self, registry: &TaskDefs) -> TaskDef {
        let mut def = self
            .task_definition
            .clone()
            .or_else(|| registry.get(&self.name).cloned())
            .unwrap_or_else(|| TaskDef::named(self.name.clone()));
        if let Some(retries) = self.retry_count {
            def.retry_count = Some(retries);
        }
        def
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(json: &str) -> WorkflowDef {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn walk_gives_preorder_pointers() {
        let wf = def(r#"{"name":"w","tasks":[
            {"name":"a","taskReferenceName":"a","type":"SWITCH","decisionCases":{"x/y":[{"name":"b","taskReferenceName":"b"}]},
             "defaultCase":[{"name":"c","taskReferenceName":"c"}]},
            {"name":"f","taskReferenceName":"f","type":"FORK_JOIN","forkTasks":[[{"name":"d","taskReferenceName":"d","type":"DO_WHILE","loopOver":[{"name":"e","taskReferenceName":"e"}]}]]},
            {"name":"j","taskReferenceName":"j","type":"JOIN"}]}"#);
        let seen: Vec<_> = wf
            .walk()
            .into_iter()
            .map(|at| (at.task.task_reference_name.clone(), at.pointer, at.depth))
            .collect();
        let expected = [
            ("a", "/tasks/0", 0),
            ("b", "/tasks/0/decisionCases/x~1y/0", 1),
            ("c", "/tasks/0/defaultCase/0", 1),
            ("f", "/tasks/1", 0),
            ("d", "/tasks/1/forkTasks/0/0", 1),
            ("e", "/tasks/1/forkTasks/0/0/loopOver/0", 2),
            ("j", "/tasks/2", 0),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(r, p, d)| (r.to_string(), p.to_string(), *d))
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(
            wf.find_task("e").unwrap().pointer,
            "/tasks/1/forkTasks/0/0/loopOver/0"
        );
        assert!(wf.find_task("zz").is_none());
    }

    #[test]
    fn effective_task_def_prefers_inline_then_registry_then_defaults() {
        let registry: TaskDefs = [TaskDef {
            retry_count: Some(7),
            ..TaskDef::named("reg")
        }]
        .into_iter()
        .collect();
        let task = |json: &str| -> WorkflowTask { serde_json::from_str(json).unwrap() };
        let inline = task(
            r#"{"name":"reg","taskReferenceName":"r","taskDefinition":{"name":"reg","retryCount":1}}"#,
        );
        assert_eq!(inline.effective_task_def(&registry).retry_count(), 1);
        let registered = task(r#"{"name":"reg","taskReferenceName":"r"}"#);
        assert_eq!(registered.effective_task_def(&registry).retry_count(), 7);
        let overridden = task(r#"{"name":"reg","taskReferenceName":"r","retryCount":0}"#);
        assert_eq!(overridden.effective_task_def(&registry).retry_count(), 0);
        let unknown = task(r#"{"name":"other","taskReferenceName":"r"}"#);
        assert_eq!(unknown.effective_task_def(&registry).retry_count(), 3);
    }
}
