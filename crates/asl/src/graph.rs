//! Mermaid and Graphviz renderings of a machine: states as nodes shaped by type, transitions as
//! labelled edges, Parallel branches and Map item processors as nested subgraphs.
//!
//! Output is deterministic: node ids follow document order (`s0`, `s1`, ...), so a rendering is
//! a stable golden.

use std::fmt::Write as _;

use crate::fields::Transition;
use crate::jsonata;
use crate::machine::{Scope, StateMachine};
use crate::state::{State, StateKind};

/// Longest edge label kept before it is cut with `...`.
const MAX_LABEL: usize = 48;

/// Renders the machine as a Mermaid flowchart (`flowchart TD`).
pub fn to_mermaid(machine: &StateMachine) -> String {
    let graph = Graph::build(machine);
    let mut out = String::from("flowchart TD\n");
    graph.root.write_mermaid(&mut out, 1);
    for edge in &graph.edges {
        let arrow = match edge.style {
            EdgeStyle::Solid => "-->",
            EdgeStyle::Dashed => "-.->",
        };
        let _ = match &edge.label {
            Some(label) => writeln!(
                out,
                "    {} {arrow}|\"{}\"| {}",
                edge.from,
                mermaid_escape(label),
                edge.to
            ),
            None => writeln!(out, "    {} {arrow} {}", edge.from, edge.to),
        };
    }
    out
}

/// Renders the machine as a Graphviz digraph.
pub fn to_dot(machine: &StateMachine) -> String {
    let graph = Graph::build(machine);
    let mut out = String::from("digraph state_machine {\n");
    out.push_str("    rankdir=TB;\n    node [fontname=\"Helvetica\"];\n    edge [fontname=\"Helvetica\", fontsize=10];\n");
    graph.root.write_dot(&mut out, 1);
    for edge in &graph.edges {
        let mut attributes = Vec::new();
        if let Some(label) = &edge.label {
            attributes.push(format!("label=\"{}\"", dot_escape(label)));
        }
        if edge.style == EdgeStyle::Dashed {
            attributes.push("style=dashed".to_owned());
        }
        let _ = if attributes.is_empty() {
            writeln!(out, "    {} -> {};", edge.from, edge.to)
        } else {
            writeln!(
                out,
                "    {} -> {} [{}];",
                edge.from,
                edge.to,
                attributes.join(", ")
            )
        };
    }
    out.push_str("}\n");
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeShape {
    Start,
    End,
    State(StateKind),
}

#[derive(Debug)]
struct Node {
    id: String,
    label: String,
    shape: NodeShape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EdgeStyle {
    Solid,
    Dashed,
}

#[derive(Debug)]
struct Edge {
    from: String,
    to: String,
    label: Option<String>,
    style: EdgeStyle,
}

/// The nodes of one scope and the scopes nested in it.
#[derive(Debug, Default)]
struct Cluster {
    id: String,
    label: String,
    nodes: Vec<Node>,
    children: Vec<Cluster>,
}

struct Graph {
    root: Cluster,
    edges: Vec<Edge>,
}

impl Graph {
    fn build(machine: &StateMachine) -> Graph {
        let mut builder = Builder {
            next_id: 0,
            edges: Vec::new(),
        };
        let root = builder.scope(&machine.scope(), "", String::new());
        Graph {
            root,
            edges: builder.edges,
        }
    }
}

struct Builder {
    next_id: usize,
    edges: Vec<Edge>,
}

impl Builder {
    fn edge(&mut self, from: &str, to: &str, label: Option<String>, style: EdgeStyle) {
        self.edges.push(Edge {
            from: from.to_owned(),
            to: to.to_owned(),
            label,
            style,
        });
    }

    /// Adds the scope's nodes and edges; `prefix` keeps entry/exit ids apart between scopes
    /// (and avoids `end`, a Mermaid keyword).
    fn scope(&mut self, scope: &Scope<'_>, prefix: &str, label: String) -> Cluster {
        let ids: Vec<String> = scope
            .states
            .keys()
            .map(|_| {
                let id = format!("s{}", self.next_id);
                self.next_id += 1;
                id
            })
            .collect();
        let id_of = |name: &str| {
            scope
                .states
                .get_index_of(name)
                .map(|index| ids[index].clone())
        };
        let start = format!("{prefix}entry");
        let end = format!("{prefix}exit");
        let mut cluster = Cluster {
            id: prefix.trim_end_matches('_').to_owned(),
            label,
            ..Cluster::default()
        };
        cluster.nodes.push(Node {
            id: start.clone(),
            label: "start".to_owned(),
            shape: NodeShape::Start,
        });
        if let Some(first) = id_of(scope.start_at) {
            self.edge(&start, &first, None, EdgeStyle::Solid);
        }
        let mut ends = false;
        for ((name, state), id) in scope.states.iter().zip(&ids) {
            cluster.nodes.push(Node {
                id: id.clone(),
                label: name.clone(),
                shape: NodeShape::State(state.kind()),
            });
            match state.transition() {
                Some(Transition::Next(next)) => {
                    if let Some(target) = id_of(next) {
                        self.edge(id, &target, None, EdgeStyle::Solid);
                    }
                }
                Some(Transition::End) => {
                    ends = true;
                    self.edge(id, &end, None, EdgeStyle::Solid);
                }
                None => {}
            }
            if let State::Choice(choice) = state {
                for rule in &choice.choices {
                    if let Some(target) = id_of(&rule.next) {
                        let condition = jsonata::unwrap(&rule.condition).unwrap_or(&rule.condition);
                        self.edge(id, &target, Some(shorten(condition)), EdgeStyle::Solid);
                    }
                }
                if let Some(target) = choice.default.as_deref().and_then(id_of) {
                    self.edge(id, &target, Some("Default".to_owned()), EdgeStyle::Solid);
                }
            }
            for catcher in state.catch() {
                if let Some(target) = id_of(&catcher.next) {
                    let label = format!("catch {}", catcher.error_equals.join(", "));
                    self.edge(id, &target, Some(shorten(&label)), EdgeStyle::Dashed);
                }
            }
            let children = scope.children(name);
            let count = children.len();
            for (index, child) in children.iter().enumerate() {
                let (child_label, edge_label) = match state {
                    State::Map(_) => (format!("{name}: each item"), "each item".to_owned()),
                    _ if count > 1 => (
                        format!("{name}: branch {}", index + 1),
                        format!("branch {}", index + 1),
                    ),
                    _ => (format!("{name}: branch"), "branch".to_owned()),
                };
                let child_prefix = format!("{id}_{index}_");
                let nested = self.scope(child, &child_prefix, child_label);
                self.edge(
                    id,
                    &format!("{child_prefix}entry"),
                    Some(edge_label),
                    EdgeStyle::Dashed,
                );
                cluster.children.push(nested);
            }
        }
        if ends {
            cluster.nodes.push(Node {
                id: end,
                label: "end".to_owned(),
                shape: NodeShape::End,
            });
        }
        cluster
    }
}

impl Cluster {
    fn write_mermaid(&self, out: &mut String, depth: usize) {
        let indent = "    ".repeat(depth);
        for node in &self.nodes {
            let label = mermaid_escape(&node.label);
            let shape = match node.shape {
                NodeShape::Start | NodeShape::End => format!("(({label}))"),
                NodeShape::State(StateKind::Task) => format!("[\"{label}\"]"),
                NodeShape::State(StateKind::Pass) => format!("(\"{label}\")"),
                NodeShape::State(StateKind::Choice) => format!("{{\"{label}\"}}"),
                NodeShape::State(StateKind::Wait) => format!("{{{{\"{label}\"}}}}"),
                NodeShape::State(StateKind::Succeed) => format!("([\"{label}\"])"),
                NodeShape::State(StateKind::Fail) => format!(">\"{label}\"]"),
                NodeShape::State(StateKind::Parallel | StateKind::Map) => {
                    format!("[[\"{label}\"]]")
                }
            };
            let _ = writeln!(out, "{indent}{}{shape}", node.id);
        }
        for child in &self.children {
            let _ = writeln!(
                out,
                "{indent}subgraph {} [\"{}\"]",
                child.id,
                mermaid_escape(&child.label)
            );
            child.write_mermaid(out, depth + 1);
            let _ = writeln!(out, "{indent}end");
        }
    }

    fn write_dot(&self, out: &mut String, depth: usize) {
        let indent = "    ".repeat(depth);
        for node in &self.nodes {
            let attributes = match node.shape {
                NodeShape::Start => {
                    "shape=circle, style=filled, fillcolor=black, width=0.2, label=\"\"".to_owned()
                }
                NodeShape::End => {
                    "shape=doublecircle, style=filled, fillcolor=black, width=0.15, label=\"\""
                        .to_owned()
                }
                NodeShape::State(kind) => {
                    let shape = match kind {
                        StateKind::Task => "shape=box",
                        StateKind::Pass => "shape=box, style=rounded",
                        StateKind::Choice => "shape=diamond",
                        StateKind::Wait => "shape=hexagon",
                        StateKind::Succeed => "shape=ellipse, peripheries=2",
                        StateKind::Fail => "shape=octagon",
                        StateKind::Parallel => "shape=component",
                        StateKind::Map => "shape=box3d",
                    };
                    format!("{shape}, label=\"{}\"", dot_escape(&node.label))
                }
            };
            let _ = writeln!(out, "{indent}{} [{attributes}];", node.id);
        }
        for child in &self.children {
            let _ = writeln!(out, "{indent}subgraph cluster_{} {{", child.id);
            let _ = writeln!(out, "{indent}    label=\"{}\";", dot_escape(&child.label));
            let _ = writeln!(out, "{indent}    style=dashed;");
            child.write_dot(out, depth + 1);
            let _ = writeln!(out, "{indent}}}");
        }
    }
}

/// Cuts a label to [`MAX_LABEL`] characters.
fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        label.to_owned()
    } else {
        let cut: String = label.chars().take(MAX_LABEL - 3).collect();
        format!("{cut}...")
    }
}

/// Escapes text for a quoted Mermaid label.
fn mermaid_escape(text: &str) -> String {
    text.replace('"', "#quot;").replace('\n', " ")
}

/// Escapes text for a quoted Graphviz string.
fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::ChoiceRule;
    use crate::state::TaskState;

    fn sample() -> StateMachine {
        StateMachine::new("Check")
            .with_state(
                "Check",
                State::choice()
                    .with_rule(ChoiceRule::new("$states.input.\"x\" > 1", "Work"))
                    .with_default("Done"),
            )
            .with_state(
                "Work",
                TaskState::new("arn:aws:states:::lambda:invoke").with_end(),
            )
            .with_state("Done", State::succeed())
    }

    #[test]
    fn mermaid_escapes_quotes_and_labels_choice_edges() {
        let text = to_mermaid(&sample());
        assert!(text.starts_with("flowchart TD\n"), "{text}");
        assert!(
            text.contains(r#"s0 -->|"$states.input.#quot;x#quot; > 1"| s1"#),
            "{text}"
        );
        assert!(text.contains(r#"s0 -->|"Default"| s2"#), "{text}");
        assert!(text.contains("s1 --> exit"), "{text}");
    }

    #[test]
    fn dot_escapes_quotes() {
        let text = to_dot(&sample());
        assert!(
            text.contains(r#"s0 -> s1 [label="$states.input.\"x\" > 1"];"#),
            "{text}"
        );
        assert!(
            text.contains(r#"s0 [shape=diamond, label="Check"];"#),
            "{text}"
        );
    }

    #[test]
    fn rendering_is_deterministic() {
        assert_eq!(to_mermaid(&sample()), to_mermaid(&sample()));
        assert_eq!(to_dot(&sample()), to_dot(&sample()));
    }

    #[test]
    fn long_labels_are_cut() {
        let long = "x".repeat(100);
        assert_eq!(shorten(&long).chars().count(), MAX_LABEL);
        assert!(shorten(&long).ends_with("..."));
    }
}
