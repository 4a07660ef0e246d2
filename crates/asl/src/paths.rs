//! Execution paths from `StartAt` to the end, with what each costs: state transitions (what
//! Standard workflows bill) and Lambda invocations.
//!
//! Paths are acyclic: a path never enters a state twice, so a loop body counts once and the path
//! then leaves the loop. `Catch` edges are followed like `Next`. A Parallel state adds, for each
//! branch, the costliest path through that branch; a Map state adds the costliest path of one
//! iteration (the number of items is not known statically).

use crate::fields::Transition;
use crate::machine::{Scope, StateMachine};
use crate::state::{State, StateKind, TaskState};

/// How many paths to enumerate before stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathLimits {
    /// Most paths listed per scope; enumeration stops and reports truncation beyond it.
    pub max_paths: usize,
}

impl Default for PathLimits {
    fn default() -> Self {
        PathLimits { max_paths: 1_000 }
    }
}

/// How a path ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathOutcome {
    /// At a Succeed state or `End: true`.
    Succeeded,
    /// At a Fail state.
    Failed,
}

/// One acyclic path from `StartAt` to the end of the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionPath {
    /// Top-level states in the order the path enters them.
    pub states: Vec<String>,
    /// States entered, nested ones included: what a Standard execution bills.
    pub transitions: usize,
    /// Task states on the path (nested ones included) that invoke a Lambda function.
    pub lambda_invocations: usize,
    /// How the path ends.
    pub outcome: PathOutcome,
}

/// The paths of a machine and whether the enumeration was cut short.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathSummary {
    /// The paths, in depth-first order following each state's `Next`, rules, `Default`, `Catch`.
    pub paths: Vec<ExecutionPath>,
    /// True when [`PathLimits::max_paths`] stopped the enumeration somewhere.
    pub truncated: bool,
}

impl PathSummary {
    /// The most transitions of any path.
    pub fn max_transitions(&self) -> Option<usize> {
        self.paths.iter().map(|path| path.transitions).max()
    }

    /// The fewest transitions of any path.
    pub fn min_transitions(&self) -> Option<usize> {
        self.paths.iter().map(|path| path.transitions).min()
    }

    /// The most Lambda invocations of any path.
    pub fn max_lambda_invocations(&self) -> Option<usize> {
        self.paths.iter().map(|path| path.lambda_invocations).max()
    }
}

/// Whether a Task's resource is the optimised Lambda integration or a bare function ARN; a
/// ready-made predicate for [`execution_paths`].
pub fn is_lambda_resource(task: &TaskState) -> bool {
    task.resource.starts_with("arn:aws:states:::lambda:invoke")
        || task.resource.starts_with("arn:aws:lambda:")
}

/// Enumerates the acyclic paths of `machine`, counting Lambda invocations with `is_lambda`.
///
/// ```
/// use ocflow_asl::{PathLimits, State, StateMachine, TaskState, execution_paths, is_lambda_resource};
///
/// let machine = StateMachine::new("Call")
///     .with_state("Call", TaskState::new("arn:aws:states:::lambda:invoke").with_next("Done"))
///     .with_state("Done", State::succeed());
/// let summary = execution_paths(&machine, PathLimits::default(), is_lambda_resource);
/// assert_eq!(summary.paths.len(), 1);
/// assert_eq!(summary.paths[0].transitions, 2);
/// assert_eq!(summary.paths[0].lambda_invocations, 1);
/// ```
pub fn execution_paths(
    machine: &StateMachine,
    limits: PathLimits,
    is_lambda: impl Fn(&TaskState) -> bool,
) -> PathSummary {
    walk(&machine.scope(), limits, &is_lambda)
}

/// Transitions and Lambda invocations of entering one state, nested scopes included.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    transitions: usize,
    lambdas: usize,
}

fn walk(
    scope: &Scope<'_>,
    limits: PathLimits,
    is_lambda: &dyn Fn(&TaskState) -> bool,
) -> PathSummary {
    let mut summary = PathSummary::default();
    let Some(start) = scope.states.get_index_of(scope.start_at) else {
        return summary;
    };
    let states: Vec<(&String, &State)> = scope.states.iter().collect();
    let successors: Vec<Vec<usize>> = states
        .iter()
        .map(|(_, state)| {
            let mut targets: Vec<usize> = Vec::new();
            for name in state.successors() {
                if let Some(index) = scope.states.get_index_of(name)
                    && !targets.contains(&index)
                {
                    targets.push(index);
                }
            }
            targets
        })
        .collect();
    let costs: Vec<Cost> = states
        .iter()
        .map(|(name, state)| {
            let mut cost = Cost {
                transitions: 1,
                lambdas: usize::from(matches!(state, State::Task(task) if is_lambda(task))),
            };
            for child in scope.children(name) {
                let nested = walk(&child, limits, is_lambda);
                summary.truncated |= nested.truncated;
                cost.transitions += nested.max_transitions().unwrap_or(0);
                cost.lambdas += nested.max_lambda_invocations().unwrap_or(0);
            }
            cost
        })
        .collect();
    let outcome = |index: usize| -> Option<PathOutcome> {
        let state = states[index].1;
        match (state.kind(), state.transition()) {
            (StateKind::Fail, _) => Some(PathOutcome::Failed),
            (StateKind::Succeed, _) | (_, Some(Transition::End)) => Some(PathOutcome::Succeeded),
            _ => None,
        }
    };

    // Depth-first search with an explicit stack: (state, index of the next successor to try).
    let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
    let mut on_path = vec![false; states.len()];
    on_path[start] = true;
    let record = |path: &[(usize, usize)], ends: PathOutcome, summary: &mut PathSummary| {
        let mut execution = ExecutionPath {
            states: Vec::with_capacity(path.len()),
            transitions: 0,
            lambda_invocations: 0,
            outcome: ends,
        };
        for &(index, _) in path {
            execution.states.push(states[index].0.clone());
            execution.transitions += costs[index].transitions;
            execution.lambda_invocations += costs[index].lambdas;
        }
        summary.paths.push(execution);
    };
    if let Some(ends) = outcome(start) {
        record(&stack, ends, &mut summary);
    }
    while let Some(&mut (node, ref mut next)) = stack.last_mut() {
        if summary.paths.len() >= limits.max_paths {
            summary.truncated = true;
            break;
        }
        let Some(&target) = successors[node].get(*next) else {
            on_path[node] = false;
            stack.pop();
            continue;
        };
        *next += 1;
        if on_path[target] {
            continue; // a loop: its body has been counted once already
        }
        on_path[target] = true;
        stack.push((target, 0));
        if let Some(ends) = outcome(target) {
            record(&stack, ends, &mut summary);
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{Catcher, ChoiceRule};
    use crate::state::{Branch, ItemProcessor, MapState, ParallelState};

    const LAMBDA: &str = "arn:aws:states:::lambda:invoke";
    const SQS: &str = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";

    fn names(path: &ExecutionPath) -> Vec<&str> {
        path.states.iter().map(String::as_str).collect()
    }

    #[test]
    fn choice_and_catch_give_one_path_each() {
        let machine = StateMachine::new("Call")
            .with_state(
                "Call",
                TaskState::new(LAMBDA)
                    .with_catch(Catcher::new(["States.ALL"], "Failed"))
                    .with_next("Route"),
            )
            .with_state(
                "Route",
                State::choice()
                    .with_rule(ChoiceRule::new("$x", "Worker"))
                    .with_default("Done"),
            )
            .with_state("Worker", TaskState::new(SQS).with_next("Done"))
            .with_state("Done", State::succeed())
            .with_state("Failed", State::fail("E", "c"));
        let summary = execution_paths(&machine, PathLimits::default(), is_lambda_resource);
        let found: Vec<(Vec<&str>, usize, usize, PathOutcome)> = summary
            .paths
            .iter()
            .map(|p| (names(p), p.transitions, p.lambda_invocations, p.outcome))
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    vec!["Call", "Route", "Worker", "Done"],
                    4,
                    1,
                    PathOutcome::Succeeded
                ),
                (vec!["Call", "Route", "Done"], 3, 1, PathOutcome::Succeeded),
                (vec!["Call", "Failed"], 2, 1, PathOutcome::Failed),
            ]
        );
        assert!(!summary.truncated);
    }

    #[test]
    fn a_loop_body_counts_once() {
        let machine = StateMachine::new("Body")
            .with_state("Body", TaskState::new(LAMBDA).with_next("Again"))
            .with_state(
                "Again",
                State::choice()
                    .with_rule(ChoiceRule::new("$i < 3", "Body"))
                    .with_default("Done"),
            )
            .with_state("Done", State::succeed());
        let summary = execution_paths(&machine, PathLimits::default(), is_lambda_resource);
        assert_eq!(summary.paths.len(), 1);
        assert_eq!(names(&summary.paths[0]), ["Body", "Again", "Done"]);
    }

    #[test]
    fn nested_scopes_add_their_costliest_path() {
        let branch = |name: &str, resource: &str| {
            Branch::new(name).with_state(name, TaskState::new(resource).with_end())
        };
        let machine = StateMachine::new("Fork")
            .with_state(
                "Fork",
                ParallelState::default()
                    .with_branch(branch("A", LAMBDA))
                    .with_branch(branch("B", SQS))
                    .with_next("Each"),
            )
            .with_state(
                "Each",
                MapState::new(
                    ItemProcessor::new("Item")
                        .with_state("Item", TaskState::new(LAMBDA).with_next("Item2"))
                        .with_state("Item2", TaskState::new(LAMBDA).with_end()),
                )
                .with_end(),
            );
        // The predicate decides what a Lambda is: here, only the SQS resource counts.
        let only_sqs =
            execution_paths(&machine, PathLimits::default(), |task| task.resource == SQS);
        assert_eq!(only_sqs.paths[0].lambda_invocations, 1);
        let summary = execution_paths(&machine, PathLimits::default(), is_lambda_resource);
        assert_eq!(summary.paths.len(), 1);
        // Fork (1) + A (1) + B (1) + Each (1) + Item, Item2 (2).
        assert_eq!(summary.paths[0].transitions, 6);
        assert_eq!(summary.paths[0].lambda_invocations, 3);
    }

    #[test]
    fn enumeration_stops_at_the_limit() {
        // A chain of n two-way choices has 2^n paths.
        let mut machine = StateMachine::new("c0");
        for i in 0..20 {
            let next = format!("c{}", i + 1);
            machine = machine.with_state(
                format!("c{i}"),
                State::choice()
                    .with_rule(ChoiceRule::new("$x", format!("p{i}")))
                    .with_default(next.clone()),
            );
            machine = machine.with_state(format!("p{i}"), State::pass().with_next(next));
        }
        machine = machine.with_state("c20", State::succeed());
        let summary = execution_paths(&machine, PathLimits { max_paths: 100 }, is_lambda_resource);
        assert_eq!(summary.paths.len(), 100);
        assert!(summary.truncated);
    }

    #[test]
    fn a_missing_start_gives_no_paths() {
        let machine = StateMachine::new("Nowhere").with_state("A", State::succeed());
        let summary = execution_paths(&machine, PathLimits::default(), is_lambda_resource);
        assert!(summary.paths.is_empty());
    }
}
