//! Randomly generated valid machines round-trip through JSON and pass `check()`.

use ocflow_asl::{
    Branch, Catcher, ChoiceRule, ItemProcessor, JitterStrategy, JsonataOr, MapState, ParallelState,
    PathLimits, Retrier, State, StateMachine, TaskState, execution_paths, is_lambda_resource,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// What a generated state is; the generator wires transitions so the machine stays valid.
#[derive(Debug, Clone)]
enum Kind {
    Task {
        lambda: bool,
        timeout: Option<u64>,
        retry: bool,
        catch: bool,
    },
    Pass,
    Wait(u64),
    Choice {
        loop_back: bool,
    },
    Parallel(usize),
    Map,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        (
            any::<bool>(),
            proptest::option::of(1u64..600),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(lambda, timeout, retry, catch)| Kind::Task {
                lambda,
                timeout,
                retry,
                catch
            }),
        Just(Kind::Pass),
        (0u64..3600).prop_map(Kind::Wait),
        any::<bool>().prop_map(|loop_back| Kind::Choice { loop_back }),
        (1usize..4).prop_map(Kind::Parallel),
        Just(Kind::Map),
    ]
}

fn payload(field: &str) -> Value {
    json!({ field: format!("{{% $states.input.{field} %}}"), "literal": [1, "two", null] })
}

/// A one-state nested scope whose state names start with `prefix`.
fn leaf(prefix: &str) -> (String, State) {
    let name = format!("{prefix}_work");
    let task = TaskState::new("arn:aws:states:::lambda:invoke")
        .with_arguments(payload("item"))
        .with_end();
    (name, task.into())
}

fn build(kinds: &[Kind], final_fail: bool) -> StateMachine {
    let name = |i: usize| format!("S{i}");
    let last = kinds.len();
    let mut machine = StateMachine::new(name(0)).with_comment("generated");
    for (i, kind) in kinds.iter().enumerate() {
        let next = name(i + 1);
        let state: State = match kind {
            Kind::Task {
                lambda,
                timeout,
                retry,
                catch,
            } => {
                let resource = if *lambda {
                    "arn:aws:states:::lambda:invoke"
                } else {
                    "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
                };
                let mut task = TaskState::new(resource)
                    .with_arguments(payload("id"))
                    .with_output(json!("{% $states.result %}"))
                    .with_next(next);
                if let Some(seconds) = timeout {
                    task = task.with_timeout_seconds(*seconds);
                } else {
                    task = task.with_heartbeat_seconds(JsonataOr::expression("$states.input.beat"));
                }
                if *retry {
                    task = task.with_retry(
                        Retrier::new(["States.ALL"])
                            .with_interval_seconds(2)
                            .with_max_attempts(3)
                            .with_backoff_rate(1.5)
                            .with_jitter(JitterStrategy::Full),
                    );
                }
                if *catch {
                    task = task.with_catch(
                        Catcher::new(["States.ALL"], name(last))
                            .with_output(json!({"error": "{% $states.errorOutput %}"})),
                    );
                }
                task.into()
            }
            Kind::Pass => State::pass()
                .with_assign(payload("v"))
                .with_next(next)
                .into(),
            Kind::Wait(seconds) => State::wait_seconds(*seconds).with_next(next).into(),
            Kind::Choice { loop_back } => {
                let target = if *loop_back {
                    name(i.saturating_sub(1))
                } else {
                    name(last)
                };
                State::choice()
                    .with_rule(ChoiceRule::new("$states.input.flag = true", target))
                    .with_default(next)
                    .into()
            }
            Kind::Parallel(branches) => {
                let mut parallel = ParallelState::default().with_next(next);
                for b in 0..*branches {
                    let (inner, state) = leaf(&format!("S{i}b{b}"));
                    parallel =
                        parallel.with_branch(Branch::new(inner.clone()).with_state(inner, state));
                }
                parallel.into()
            }
            Kind::Map => {
                let (inner, state) = leaf(&format!("S{i}m"));
                MapState::new(ItemProcessor::new(inner.clone()).with_state(inner, state))
                    .with_items(json!("{% $states.input.items %}"))
                    .with_max_concurrency(5)
                    .with_next(next)
                    .into()
            }
        };
        machine = machine.with_state(name(i), state);
    }
    let end: State = if final_fail {
        State::fail(
            "Generated.Failure",
            JsonataOr::expression("$string($states.input)"),
        )
        .into()
    } else {
        State::succeed().with_output(json!({"done": true})).into()
    };
    machine.with_state(name(last), end)
}

proptest! {
    #[test]
    fn generated_machines_round_trip_and_pass_check(
        kinds in proptest::collection::vec(kind(), 0..12),
        final_fail in any::<bool>(),
    ) {
        let machine = build(&kinds, final_fail);
        prop_assert_eq!(machine.check(), vec![]);

        let text = serde_json::to_string_pretty(&machine).expect("serialisable");
        let back: StateMachine = serde_json::from_str(&text).expect("parses");
        prop_assert_eq!(&back, &machine);
        prop_assert_eq!(serde_json::to_string_pretty(&back).expect("serialisable"), text);

        let summary = execution_paths(&machine, PathLimits::default(), is_lambda_resource);
        prop_assert!(!summary.paths.is_empty());
        for path in &summary.paths {
            prop_assert_eq!(path.states.first().map(String::as_str), Some("S0"));
            prop_assert!(path.transitions >= path.states.len());
        }
    }
}
