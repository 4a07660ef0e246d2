//! Drawings of a Conductor workflow as Mermaid or Graphviz DOT, the way Conductor's UI lays it
//! out: tasks in order, SWITCH cases and FORK branches side by side, DO_WHILE bodies with their
//! back edge, TERMINATE straight to the end.
//!
//! ```
//! use ocflow_dsl::graph;
//!
//! let def = ocflow_dsl::parse_workflow("wf.json", r#"{"name": "w", "tasks": [
//!     {"name": "a", "taskReferenceName": "a", "type": "NOOP"}]}"#).unwrap();
//! let mermaid = graph::to_mermaid(&def);
//! assert!(mermaid.contains("start --> n0"));
//! ```

use std::fmt::Write;

use crate::model::{TaskType, WorkflowDef, WorkflowTask};

/// How a node is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The start and end markers.
    Terminal,
    /// A task that does work.
    Task,
    /// A SWITCH/DECISION.
    Decision,
    /// A FORK/JOIN or DO_WHILE, which structures other tasks.
    Control,
}

#[derive(Debug)]
struct Node {
    label: String,
    shape: Shape,
}

#[derive(Debug)]
struct Edge {
    from: usize,
    to: usize,
    label: Option<String>,
}

/// A pending edge: from a node, with an optional label, to whatever comes next.
type Exit = (usize, Option<String>);

/// The workflow as nodes and edges, built once and rendered in either format.
#[derive(Debug, Default)]
struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

const START: usize = 0;
const END: usize = 1;

impl Graph {
    fn of(def: &WorkflowDef) -> Graph {
        let mut graph = Graph::default();
        graph.node("start".into(), Shape::Terminal);
        graph.node("end".into(), Shape::Terminal);
        let exits = graph.list(&def.tasks, vec![(START, None)]);
        graph.connect(exits, END);
        graph
    }

    fn node(&mut self, label: String, shape: Shape) -> usize {
        self.nodes.push(Node { label, shape });
        self.nodes.len() - 1
    }

    fn connect(&mut self, exits: Vec<Exit>, to: usize) {
        for (from, label) in exits {
            self.edges.push(Edge { from, to, label });
        }
    }

    /// Adds a task list entered from `entries`; returns the exits of its last task.
    fn list(&mut self, tasks: &[WorkflowTask], entries: Vec<Exit>) -> Vec<Exit> {
        tasks
            .iter()
            .fold(entries, |entries, task| self.task(task, entries))
    }

    fn task(&mut self, task: &WorkflowTask, entries: Vec<Exit>) -> Vec<Exit> {
        let kind = task.task_type();
        let shape = match kind {
            TaskType::Switch | TaskType::Decision => Shape::Decision,
            TaskType::ForkJoin
            | TaskType::ForkJoinDynamic
            | TaskType::Join
            | TaskType::ExclusiveJoin
            | TaskType::DoWhile => Shape::Control,
            _ => Shape::Task,
        };
        let id = self.node(
            format!("{}\n{}", task.task_reference_name, kind.as_str()),
            shape,
        );
        self.connect(entries, id);
        match kind {
            TaskType::Switch | TaskType::Decision => {
                let mut exits = Vec::new();
                for (case, tasks) in task.decision_cases.iter().flatten() {
                    exits.extend(self.list(tasks, vec![(id, Some(case.clone()))]));
                }
                let default = task.default_case.as_deref().unwrap_or_default();
                exits.extend(self.list(default, vec![(id, Some("default".into()))]));
                exits
            }
            TaskType::ForkJoin => {
                let branches = task.fork_tasks.as_deref().unwrap_or_default();
                let mut exits = Vec::new();
                for branch in branches {
                    exits.extend(self.list(branch, vec![(id, None)]));
                }
                if branches.is_empty() {
                    exits.push((id, None));
                }
                exits
            }
            TaskType::DoWhile => {
                let body_exits = self.list(task.loop_body(), vec![(id, None)]);
                let body_exits = body_exits
                    .into_iter()
                    .map(|(from, _)| (from, Some("repeat".to_owned())))
                    .collect();
                self.connect(body_exits, id);
                vec![(id, Some("done".into()))]
            }
            TaskType::Terminate => {
                let status = task
                    .inputs()
                    .get("terminationStatus")
                    .and_then(|s| s.as_str())
                    .unwrap_or("COMPLETED");
                self.edges.push(Edge {
                    from: id,
                    to: END,
                    label: Some(status.to_owned()),
                });
                Vec::new()
            }
            _ => vec![(id, None)],
        }
    }
}

/// The workflow as a Mermaid flowchart.
pub fn to_mermaid(def: &WorkflowDef) -> String {
    let graph = Graph::of(def);
    let id = |i: usize| match i {
        START => "start".to_owned(),
        END => "finish".to_owned(),
        _ => format!("n{}", i - 2),
    };
    let mut out = String::from("flowchart TD\n");
    for (i, n) in graph.nodes.iter().enumerate() {
        let label = n.label.replace('"', "#quot;").replace('\n', "<br/>");
        let shape = match n.shape {
            Shape::Terminal => format!("(({label}))"),
            Shape::Decision => format!("{{\"{label}\"}}"),
            Shape::Control => format!("[[\"{label}\"]]"),
            Shape::Task => format!("[\"{label}\"]"),
        };
        let _ = writeln!(out, "    {}{shape}", id(i));
    }
    for edge in &graph.edges {
        let arrow = match &edge.label {
            Some(label) => format!("-->|\"{}\"|", label.replace('"', "#quot;")),
            None => "-->".to_owned(),
        };
        let _ = writeln!(out, "    {} {arrow} {}", id(edge.from), id(edge.to));
    }
    out
}

/// The workflow as a Graphviz DOT digraph.
pub fn to_dot(def: &WorkflowDef) -> String {
    let graph = Graph::of(def);
    let quote = |s: &str| {
        format!(
            "\"{}\"",
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        )
    };
    let mut out = format!(
        "digraph {} {{\n    rankdir=TB;\n    node [fontname=\"Helvetica\"];\n",
        quote(&def.name)
    );
    for (i, n) in graph.nodes.iter().enumerate() {
        let shape = match n.shape {
            Shape::Terminal => "circle",
            Shape::Task => "box",
            Shape::Decision => "diamond",
            Shape::Control => "box3d",
        };
        let _ = writeln!(out, "    n{i} [shape={shape}, label={}];", quote(&n.label));
    }
    for edge in &graph.edges {
        let label = edge
            .label
            .as_deref()
            .map(|l| format!(" [label={}]", quote(l)))
            .unwrap_or_default();
        let _ = writeln!(out, "    n{} -> n{}{label};", edge.from, edge.to);
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(tasks: &str) -> WorkflowDef {
        crate::parse_workflow("wf.json", &format!(r#"{{"name": "w", "tasks": {tasks}}}"#)).unwrap()
    }

    #[test]
    fn switch_cases_and_default_meet_at_the_next_task() {
        let def = def(r#"[
            {"name": "s", "taskReferenceName": "s", "type": "SWITCH", "evaluatorType": "value-param",
             "expression": "x", "decisionCases": {"a": [{"name": "a", "taskReferenceName": "a", "type": "NOOP"}]}},
            {"name": "after", "taskReferenceName": "after", "type": "NOOP"}]"#);
        let mermaid = to_mermaid(&def);
        for line in [
            r#"n0{"s<br/>SWITCH"}"#,
            r#"n0 -->|"a"| n1"#,
            "n1 --> n2",
            r#"n0 -->|"default"| n2"#,
            "n2 --> finish",
        ] {
            assert!(mermaid.contains(line), "{line} missing: {mermaid}");
        }
    }

    #[test]
    fn loops_draw_a_back_edge_and_terminate_goes_to_the_end() {
        let def = def(r#"[
            {"name": "l", "taskReferenceName": "l", "type": "DO_WHILE", "loopCondition": "false",
             "loopOver": [{"name": "b", "taskReferenceName": "b", "type": "NOOP"}]},
            {"name": "t", "taskReferenceName": "t", "type": "TERMINATE",
             "inputParameters": {"terminationStatus": "FAILED"}}]"#);
        let dot = to_dot(&def);
        assert!(dot.contains("n3 -> n2 [label=\"repeat\"];"), "{dot}");
        assert!(dot.contains("n2 -> n4 [label=\"done\"];"), "{dot}");
        assert!(dot.contains("n4 -> n1 [label=\"FAILED\"];"), "{dot}");
        assert!(
            !dot.contains("n4 -> n1;"),
            "terminate has no plain exit: {dot}"
        );
    }

    #[test]
    fn fork_branches_all_reach_the_join() {
        let def = def(r#"[
            {"name": "f", "taskReferenceName": "f", "type": "FORK_JOIN", "forkTasks": [
                [{"name": "x", "taskReferenceName": "x", "type": "NOOP"}],
                [{"name": "y", "taskReferenceName": "y", "type": "NOOP"}]]},
            {"name": "j", "taskReferenceName": "j", "type": "JOIN", "joinOn": ["x", "y"]}]"#);
        let dot = to_dot(&def);
        for edge in [
            "n2 -> n3;",
            "n2 -> n4;",
            "n3 -> n5;",
            "n4 -> n5;",
            "n5 -> n1;",
        ] {
            assert!(dot.contains(edge), "{edge} missing: {dot}");
        }
    }
}
