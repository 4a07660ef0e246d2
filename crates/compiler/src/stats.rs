//! Cost statistics of a compiled machine: state transitions and Lambda invocations per path.
//!
//! A path runs from the start to an end, taking each loop once (one iteration) and the happy
//! path of every Task (Catch targets are not followed). A Parallel costs the sum of its
//! branches (Step Functions bills every state entered in every branch); a Map costs one
//! iteration. Conductor tasks are counted as Conductor shows them in an execution: the states
//! the task map lists, plus the JOIN that follows each fork (it has no state of its own), plus
//! the task a dynamic fork's iteration runs (its Task state is not in the task map because its
//! reference name is only known at run time).

use indexmap::IndexMap;
use ocflow_asl::State;
use ocflow_protocol::placeholders;
use ocflow_protocol::task_map::TaskMap;

use crate::CompiledWorkflow;

/// Paths beyond this many are not enumerated (machines with many independent choices).
const MAX_PATHS: usize = 256;

/// What running a compiled machine costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// States in the machine, nested scopes included.
    pub states: usize,
    /// Each path from the start to an end (loops taken once, every branch of a Parallel and
    /// one iteration of a Map counted in full).
    pub paths: Vec<PathStats>,
}

/// The cost of one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathStats {
    /// States entered.
    pub transitions: usize,
    /// `lambda:invoke` states entered.
    pub lambda_invocations: usize,
    /// Conductor tasks executed (states the task map lists).
    pub tasks: usize,
}

impl PathStats {
    /// State transitions per executed Conductor task (transitions when no task runs).
    pub fn transitions_per_task(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)] // small counts
        let ratio = self.transitions as f64 / self.tasks.max(1) as f64;
        ratio
    }
}

impl Stats {
    /// The mean of [`PathStats::transitions_per_task`] over the paths.
    pub fn mean_transitions_per_task(&self) -> f64 {
        if self.paths.is_empty() {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let n = self.paths.len() as f64;
        self.paths
            .iter()
            .map(PathStats::transitions_per_task)
            .sum::<f64>()
            / n
    }
}

/// Counts states and the cost of every path of `compiled`'s machine.
pub fn stats(compiled: &CompiledWorkflow) -> Stats {
    let machine = &compiled.machine;
    let states = machine
        .scopes()
        .iter()
        .map(|scope| scope.states.len())
        .sum();
    let paths = scope_paths(
        &machine.start_at,
        &machine.states,
        &compiled.task_map,
        false,
    );
    Stats { states, paths }
}

/// The paths of one scope; `forked`: the scope is a dynamic fork's iteration.
fn scope_paths(
    start: &str,
    states: &IndexMap<String, State>,
    map: &TaskMap,
    forked: bool,
) -> Vec<PathStats> {
    let mut out = Vec::new();
    let zero = PathStats {
        transitions: 0,
        lambda_invocations: 0,
        tasks: 0,
    };
    let mut stack = vec![(start.to_owned(), zero, Vec::<String>::new())];
    while let Some((name, cost, visited)) = stack.pop() {
        if out.len() >= MAX_PATHS {
            break;
        }
        let Some(state) = states.get(&name) else {
            out.push(cost);
            continue;
        };
        let mut cost = cost;
        cost.transitions += 1;
        let task = map.task(&name);
        cost.tasks += usize::from(task.is_some());
        // A fork's JOIN runs as a task of its own in Conductor, with no state here.
        let is_fork =
            task.is_some_and(|t| matches!(t.task_type.as_str(), "FORK_JOIN" | "FORK_JOIN_DYNAMIC"));
        cost.tasks += usize::from(is_fork);
        match state {
            State::Task(t) => {
                cost.lambda_invocations += usize::from(t.resource == placeholders::LAMBDA_INVOKE);
                cost.tasks += usize::from(forked && task.is_none());
            }
            State::Parallel(p) => {
                for branch in &p.branches {
                    add(
                        &mut cost,
                        longest(&scope_paths(&branch.start_at, &branch.states, map, false)),
                    );
                }
            }
            State::Map(m) => {
                if let Some(processor) = &m.item_processor {
                    add(
                        &mut cost,
                        longest(&scope_paths(
                            &processor.start_at,
                            &processor.states,
                            map,
                            is_fork,
                        )),
                    );
                }
            }
            _ => {}
        }
        let mut visited = visited;
        visited.push(name.clone());
        // Catch targets are alternatives too, but the happy path is what is costed.
        let happy = state.transition().and_then(|t| t.next());
        let mut next: Vec<&str> = Vec::new();
        for n in state.successors() {
            let caught_only = state.catch().iter().any(|c| c.next == n) && happy != Some(n);
            if !caught_only && !next.contains(&n) && !visited.iter().any(|v| v == n) {
                next.push(n);
            }
        }
        if next.is_empty() {
            out.push(cost);
        }
        for n in next {
            stack.push((n.to_owned(), cost, visited.clone()));
        }
    }
    out
}

fn longest(paths: &[PathStats]) -> PathStats {
    paths
        .iter()
        .copied()
        .max_by_key(|p| p.transitions)
        .unwrap_or(PathStats {
            transitions: 0,
            lambda_invocations: 0,
            tasks: 0,
        })
}

fn add(cost: &mut PathStats, inner: PathStats) {
    cost.transitions += inner.transitions;
    cost.lambda_invocations += inner.lambda_invocations;
    cost.tasks += inner.tasks;
}
