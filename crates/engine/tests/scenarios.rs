//! Scenario tests: one machine per semantic, run on a virtual clock (no sleeps), with the
//! history snapshotted where it tells the story.

mod support;

use ocflow_engine::store::ExecutionStatus;
use ocflow_engine::{Error, Failure, StartOptions, names};
use serde_json::{Value, json};
use support::harness;

fn named(name: &str) -> StartOptions {
    StartOptions::named(name)
}

#[tokio::test(start_paused = true)]
async fn assign_and_output_both_see_the_variables_of_state_entry() {
    let h = harness();
    h.register(
        "vars",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Init",
            "States": {
                "Init": {"Type": "Pass", "Assign": {"n": 1, "who": "{% $states.input.who %}"}, "Next": "Bump"},
                "Bump": {
                    "Type": "Pass",
                    "Assign": {"n": "{% $n + 10 %}", "before": "{% $n %}"},
                    "Output": {"seen": "{% $n %}", "who": "{% $who %}"},
                    "Next": "Show"
                },
                "Show": {"Type": "Pass", "Output": {"n": "{% $n %}", "before": "{% $before %}", "input": "{% $states.input %}"}, "End": true}
            }
        }),
    );
    let done = h
        .engine
        .run("vars", json!({"who": "Ada"}), named("v-1"))
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output,
        Some(json!({"n": 11, "before": 1, "input": {"seen": 1, "who": "Ada"}}))
    );
    insta::assert_snapshot!(h.history("v-1"));
}

#[tokio::test(start_paused = true)]
async fn context_object_describes_execution_state_and_machine() {
    let h = harness();
    h.register(
        "ctx",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Wait",
            "States": {
                "Wait": {"Type": "Wait", "Seconds": 5, "Next": "Look"},
                "Look": {"Type": "Pass", "Output": "{% $states.context %}", "End": true}
            }
        }),
    );
    let done = h
        .engine
        .run("ctx", json!({"a": 1}), named("c-1"))
        .await
        .unwrap();
    assert_eq!(
        done.output,
        Some(json!({
            "Execution": {
                "Id": "arn:aws:states:local:000000000000:execution:ctx:c-1",
                "Input": {"a": 1},
                "Name": "c-1",
                "RoleArn": "arn:aws:iam::000000000000:role/ctx",
                "StartTime": "2026-01-01T00:00:00.000Z"
            },
            "State": {"EnteredTime": "2026-01-01T00:00:05.000Z", "Name": "Look", "RetryCount": 0},
            "StateMachine": {"Id": "arn:aws:states:local:000000000000:stateMachine:ctx", "Name": "ctx"}
        }))
    );
}

#[tokio::test(start_paused = true)]
async fn choice_follows_the_first_true_rule_with_its_assign() {
    let h = harness();
    h.register(
        "choice",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Route",
            "States": {
                "Route": {
                    "Type": "Choice",
                    "Assign": {"routed": true, "size": "unknown"},
                    "Choices": [
                        {"Condition": "{% $states.input.n > 10 %}", "Next": "Big", "Assign": {"size": "big"}},
                        {"Condition": "{% $states.input.n > 0 %}", "Next": "Small", "Output": {"n": "{% $states.input.n %}", "small": true}}
                    ],
                    "Default": "None"
                },
                "Big": {"Type": "Pass", "Output": "{% $size %}", "End": true},
                "Small": {"Type": "Pass", "Output": "{% $merge([$states.input, {'size': $size, 'routed': $routed}]) %}", "End": true},
                "None": {"Type": "Fail", "Error": "Nope", "Cause": "{% 'n is ' & $string($states.input.n) %}"}
            }
        }),
    );
    let big = h
        .engine
        .run("choice", json!({"n": 50}), named("big"))
        .await
        .unwrap();
    assert_eq!(big.output, Some(json!("big")));
    let small = h
        .engine
        .run("choice", json!({"n": 3}), named("small"))
        .await
        .unwrap();
    assert_eq!(
        small.output,
        Some(json!({"n": 3, "small": true, "size": "unknown", "routed": true}))
    );
    let none = h
        .engine
        .run("choice", json!({"n": -1}), named("none"))
        .await
        .unwrap();
    assert_eq!(none.status, ExecutionStatus::Failed);
    assert_eq!(none.error.as_deref(), Some("Nope"));
    assert_eq!(none.cause.as_deref(), Some("n is -1"));

    h.register(
        "strict",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Route",
            "States": {
                "Route": {"Type": "Choice", "Choices": [{"Condition": "{% false %}", "Next": "X"}]},
                "X": {"Type": "Succeed"}
            }
        }),
    );
    let unmatched = h.engine.run("strict", json!({}), named("u")).await.unwrap();
    assert_eq!(unmatched.error.as_deref(), Some(names::NO_CHOICE_MATCHED));
}

#[tokio::test(start_paused = true)]
async fn an_undefined_expression_is_a_query_evaluation_error_that_catch_sees() {
    let h = harness();
    h.script.on("Call", |_| Ok(json!({"ok": true})));
    h.register(
        "undef",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"id": "{% $states.input.missing %}"},
                    "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Report",
                               "Output": {"caught": "{% $states.errorOutput.Error %}"}}],
                    "End": true
                },
                "Report": {"Type": "Pass", "End": true}
            }
        }),
    );
    let done = h.engine.run("undef", json!({}), named("q")).await.unwrap();
    assert_eq!(
        done.output,
        Some(json!({"caught": "States.QueryEvaluationError"}))
    );
    assert!(h.script.calls().is_empty(), "the resource was never called");
    let history = h.engine.history("q").unwrap();
    assert!(history.iter().any(|e| matches!(
        &e.kind,
        ocflow_engine::history::EventKind::ErrorCaught { cause, .. } if cause.contains("/id")
    )));
}

#[tokio::test(start_paused = true)]
async fn retries_wait_exactly_as_computed_then_catch() {
    let h = harness();
    h.script.on("Charge", |_| {
        Err(Failure::new("Ocf.Http5xx", "503 from payments"))
    });
    h.register(
        "retry",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Charge",
            "States": {
                "Charge": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": "pay", "Payload": "{% $states.input %}"},
                    "Retry": [
                        {"ErrorEquals": ["Ocf.Http4xx"], "MaxAttempts": 5},
                        {"ErrorEquals": ["Ocf.Http5xx"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3, "MaxDelaySeconds": 10}
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refund",
                               "Assign": {"failure": "{% $states.errorOutput %}"},
                               "Output": {"retries": "{% $states.context.State.RetryCount %}"}}],
                    "End": true
                },
                "Refund": {"Type": "Pass", "Output": {"why": "{% $failure.Cause %}", "in": "{% $states.input %}"}, "End": true}
            }
        }),
    );
    let done = h
        .engine
        .run("retry", json!({"amount": 5}), named("r-1"))
        .await
        .unwrap();
    assert_eq!(
        done.output,
        Some(json!({"why": "503 from payments", "in": {"retries": 3}}))
    );
    let attempts: Vec<u32> = h.script.calls().iter().map(|c| c.attempt).collect();
    assert_eq!(attempts, [0, 1, 2, 3]);
    // 2 s, 6 s, then 18 s capped at 10 s: the catch runs 18 s after the start.
    assert_eq!(done.end_time.unwrap() - done.start_time, 18_000);
    insta::assert_snapshot!(h.history("r-1"));
}

#[tokio::test(start_paused = true)]
async fn states_all_does_not_catch_data_limit_errors() {
    let h = harness();
    h.register(
        "big",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Grow",
            "States": {
                "Grow": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Output": "{% $pad('', 300000, 'x') %}",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                    "End": true
                },
                "Caught": {"Type": "Succeed"}
            }
        }),
    );
    let done = h.engine.run("big", json!({}), named("b")).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some(names::DATA_LIMIT_EXCEEDED));
    assert!(
        done.cause
            .as_deref()
            .unwrap_or_default()
            .contains("output of state 'Grow'"),
        "{:?}",
        done.cause
    );

    // A variable above the limit fails as well; an input above it is refused at start.
    h.register(
        "bigvar",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Set",
            "States": {"Set": {"Type": "Pass", "Assign": {"blob": "{% $pad('', 262145, 'x') %}"}, "End": true}}
        }),
    );
    let done = h
        .engine
        .run("bigvar", json!({}), named("bv"))
        .await
        .unwrap();
    assert_eq!(done.error.as_deref(), Some(names::DATA_LIMIT_EXCEEDED));
    assert!(done.cause.unwrap_or_default().contains("variable 'blob'"));
    let refused = h
        .engine
        .start("bigvar", json!("x".repeat(300_000)), named("bi"))
        .unwrap_err();
    assert!(matches!(refused, Error::InputTooLarge { .. }), "{refused}");
}

#[tokio::test(start_paused = true)]
async fn wait_states_take_seconds_or_a_timestamp() {
    let h = harness();
    h.register(
        "waits",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Short",
            "States": {
                "Short": {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Next": "Until"},
                "Until": {"Type": "Wait", "Timestamp": "2026-01-01T01:00:00Z", "Next": "Done"},
                "Done": {"Type": "Pass", "Output": "{% $states.context.State.EnteredTime %}", "End": true}
            }
        }),
    );
    let done = h
        .engine
        .run("waits", json!({"delay": 90}), named("w"))
        .await
        .unwrap();
    assert_eq!(done.output, Some(json!("2026-01-01T01:00:00.000Z")));
    insta::assert_snapshot!(h.history("w"));
}

#[tokio::test(start_paused = true)]
async fn task_timeout_and_heartbeat_timeout() {
    let h = harness();
    let mut tokens = h.script.token_calls();
    h.register(
        "slow",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Work",
            "States": {
                "Work": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Arguments": {"MessageBody": {"token": "{% $states.context.Task.Token %}"}},
                    "TimeoutSeconds": 100,
                    "HeartbeatSeconds": 30,
                    "End": true
                }
            }
        }),
    );
    // No heartbeat: fails after 30 s.
    let id = h.engine.start("slow", json!({}), named("hb")).unwrap();
    let call = tokens.recv().await.unwrap();
    let token = call.task_token.clone().unwrap();
    assert_eq!(call.arguments["MessageBody"]["token"], json!(token));
    let done = h.engine.wait(&id).await.unwrap();
    assert_eq!(done.error.as_deref(), Some(names::HEARTBEAT_TIMEOUT));
    assert_eq!(done.end_time.unwrap() - done.start_time, 30_000);
    assert!(matches!(
        h.engine.send_task_success(&token, json!(1)),
        Err(Error::UnknownToken)
    ));

    // Heartbeats every 20 s keep it alive until TimeoutSeconds.
    let id = h.engine.start("slow", json!({}), named("to")).unwrap();
    let token = tokens.recv().await.unwrap().task_token.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
        let _ = h.engine.send_task_heartbeat(&token);
    }
    let done = h.engine.wait(&id).await.unwrap();
    assert_eq!(done.error.as_deref(), Some(names::TIMEOUT));
    assert_eq!(done.end_time.unwrap() - done.start_time, 100_000);
}

#[tokio::test(start_paused = true)]
async fn request_response_tasks_time_out_too() {
    let h = harness();
    h.register(
        "stuck",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Forever",
            "States": {
                "Forever": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "TimeoutSeconds": 7,
                            "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}], "End": true},
                "Late": {"Type": "Pass", "Output": "{% $states.input.Error %}", "End": true}
            }
        }),
    );
    let done = h.engine.run("stuck", json!({}), named("s")).await.unwrap();
    assert_eq!(done.output, Some(json!("States.Timeout")));
    assert_eq!(done.end_time.unwrap() - done.start_time, 7_000);
}

#[tokio::test(start_paused = true)]
async fn parallel_branches_wait_concurrently_and_keep_their_order() {
    let h = harness();
    let mut tokens = h.script.token_calls();
    h.register(
        "fork",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Init",
            "States": {
                "Init": {"Type": "Pass", "Assign": {"base": 100}, "Next": "Fork"},
                "Fork": {
                    "Type": "Parallel",
                    "Arguments": {"n": "{% $states.input.n %}"},
                    "Branches": [
                        {"StartAt": "A", "States": {"A": {
                            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Assign": {"inner": "a"},
                            "Output": "{% $states.result + $base + $states.input.n %}", "End": true}}},
                        {"StartAt": "B", "States": {"B": {
                            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Output": "{% $states.result + $base %}", "End": true}}}
                    ],
                    "Assign": {"sum": "{% $sum($states.result) %}"},
                    "Next": "After"
                },
                "After": {"Type": "Pass", "Output": {"sum": "{% $sum %}", "inner": "{% $exists($inner) %}", "all": "{% $states.input %}"}, "End": true}
            }
        }),
    );
    let id = h.engine.start("fork", json!({"n": 1}), named("f")).unwrap();
    let mut waiting = [tokens.recv().await.unwrap(), tokens.recv().await.unwrap()];
    waiting.sort_by(|a, b| a.state.cmp(&b.state));
    assert_eq!(waiting[0].state, "A");
    assert_eq!(waiting[1].state, "B");
    // Both branches are suspended at once; answer B first, then A.
    h.engine
        .send_task_success(waiting[1].task_token.as_deref().unwrap(), json!(20))
        .unwrap();
    tokio::task::yield_now().await;
    h.engine
        .send_task_success(waiting[0].task_token.as_deref().unwrap(), json!(10))
        .unwrap();
    let done = h.engine.wait(&id).await.unwrap();
    assert_eq!(
        done.output,
        Some(json!({"sum": 231, "inner": false, "all": [111, 120]}))
    );
    let history = h.history("f");
    let b_done = history.find("[Fork/1] TaskSucceeded").unwrap();
    let a_done = history.find("[Fork/0] TaskSucceeded").unwrap();
    assert!(b_done < a_done, "B completed first:\n{history}");
}

#[tokio::test(start_paused = true)]
async fn a_failing_branch_fails_the_parallel_with_its_error() {
    let h = harness();
    h.script
        .on("Bad", |_| Err(Failure::new("Ocf.Http4xx", "404")));
    h.register(
        "fork",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Fork",
            "States": {
                "Fork": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 60, "End": true}}},
                        {"StartAt": "Bad", "States": {"Bad": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}
                    ],
                    "Catch": [{"ErrorEquals": ["Ocf.Http4xx"], "Next": "Handled"}],
                    "End": true
                },
                "Handled": {"Type": "Pass", "End": true}
            }
        }),
    );
    let done = h.engine.run("fork", json!({}), named("p")).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output,
        Some(json!({"Error": "Ocf.Http4xx", "Cause": "404"}))
    );
    assert_eq!(
        done.end_time.unwrap() - done.start_time,
        0,
        "the slow branch was cancelled"
    );
}

#[tokio::test(start_paused = true)]
async fn map_runs_items_with_selector_and_bounded_concurrency() {
    let h = harness();
    h.register(
        "map",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "Items": "{% $states.input.items %}",
                    "ItemSelector": {"i": "{% $states.context.Map.Item.Index %}", "v": "{% $states.context.Map.Item.Value %}", "k": "{% $factor %}"},
                    "MaxConcurrency": 2,
                    "ItemProcessor": {"StartAt": "Work", "States": {
                        "Work": {"Type": "Wait", "Seconds": 10, "Next": "Calc"},
                        "Calc": {"Type": "Pass", "Output": "{% $states.input.v * $states.input.k + $states.input.i %}", "End": true}
                    }},
                    "Next": "Done"
                },
                "Done": {"Type": "Pass", "End": true}
            }
        }),
    );
    h.register(
        "outer",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Set",
            "States": {"Set": {"Type": "Pass", "Assign": {"factor": 3}, "End": true}}
        }),
    );
    // $factor is undefined in "map": the selector fails with a query evaluation error.
    let failed = h
        .engine
        .run("map", json!({"items": [1]}), named("m0"))
        .await
        .unwrap();
    assert_eq!(failed.error.as_deref(), Some(names::QUERY_EVALUATION_ERROR));

    h.register(
        "map2",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Set",
            "States": {
                "Set": {"Type": "Pass", "Assign": {"factor": 3}, "Next": "Each"},
                "Each": {
                    "Type": "Map",
                    "Items": "{% $states.input.items %}",
                    "ItemSelector": {"i": "{% $states.context.Map.Item.Index %}", "v": "{% $states.context.Map.Item.Value %}", "k": "{% $factor %}"},
                    "MaxConcurrency": 2,
                    "ItemProcessor": {"StartAt": "Work", "States": {
                        "Work": {"Type": "Wait", "Seconds": 10, "Next": "Calc"},
                        "Calc": {"Type": "Pass", "Output": "{% $states.input.v * $states.input.k + $states.input.i %}", "End": true}
                    }},
                    "End": true
                }
            }
        }),
    );
    let done = h
        .engine
        .run("map2", json!({"items": [1, 2, 3, 4, 5]}), named("m"))
        .await
        .unwrap();
    assert_eq!(done.output, Some(json!([3, 7, 11, 15, 19])));
    // Five 10-second iterations, two at a time: 30 s.
    assert_eq!(done.end_time.unwrap() - done.start_time, 30_000);
}

#[tokio::test(start_paused = true)]
async fn map_tolerates_failures_up_to_the_threshold() {
    let h = harness();
    h.script.on("Check", |call| {
        if call.arguments.as_i64().unwrap_or(0) % 2 == 0 {
            Err(Failure::new("Odd.Even", "even item"))
        } else {
            Ok(call.arguments.clone())
        }
    });
    let machine = |count: u64| {
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Each",
            "States": {"Each": {
                "Type": "Map",
                "ToleratedFailureCount": count,
                "ItemProcessor": {"StartAt": "Check", "States": {"Check": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
                "End": true
            }}
        })
    };
    h.register("lenient", machine(2));
    h.register("strict", machine(1));
    let ok = h
        .engine
        .run("lenient", json!([1, 2, 3, 4]), named("l"))
        .await
        .unwrap();
    assert_eq!(
        ok.output,
        Some(
            json!([1, {"Error": "Odd.Even", "Cause": "even item"}, 3, {"Error": "Odd.Even", "Cause": "even item"}])
        )
    );
    let failed = h
        .engine
        .run("strict", json!([1, 2, 3, 4]), named("s"))
        .await
        .unwrap();
    assert_eq!(
        failed.error.as_deref(),
        Some(names::EXCEED_TOLERATED_FAILURE_THRESHOLD)
    );

    let by_share = |percentage: f64| {
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Each",
            "States": {"Each": {
                "Type": "Map",
                "ToleratedFailurePercentage": percentage,
                "ItemProcessor": {"StartAt": "Check", "States": {"Check": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
                "End": true
            }}
        })
    };
    h.register("half", by_share(50.0));
    h.register("quarter", by_share(25.0));
    let half = h
        .engine
        .run("half", json!([1, 2, 3, 4]), named("p50"))
        .await
        .unwrap();
    assert_eq!(half.status, ExecutionStatus::Succeeded);
    let quarter = h
        .engine
        .run("quarter", json!([1, 2, 3, 4]), named("p25"))
        .await
        .unwrap();
    assert_eq!(
        quarter.error.as_deref(),
        Some(names::EXCEED_TOLERATED_FAILURE_THRESHOLD)
    );
}

#[tokio::test(start_paused = true)]
async fn child_executions_run_synchronously_or_not() {
    let h = harness();
    h.register(
        "child",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Double",
            "States": {"Double": {"Type": "Wait", "Seconds": 3, "Output": {"twice": "{% $states.input.n * 2 %}"}, "End": true}}
        }),
    );
    h.register(
        "parent",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Sync",
            "States": {
                "Sync": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Arguments": {"StateMachineArn": "${StateMachineArn_child}", "Input": {"n": "{% $states.input.n %}"}},
                    "Output": {"out": "{% $states.result.Output %}", "status": "{% $states.result.Status %}", "name": "{% $states.result.Name %}"},
                    "Next": "Async"
                },
                "Async": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution",
                    "Arguments": {"StateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:child", "Input": {"n": 0}, "Name": "fire-and-forget"},
                    "Output": {"sync": "{% $states.input %}", "arn": "{% $states.result.ExecutionArn %}"},
                    "End": true
                }
            }
        }),
    );
    let done = h
        .engine
        .run("parent", json!({"n": 21}), named("p"))
        .await
        .unwrap();
    assert_eq!(
        done.output,
        Some(json!({
            "sync": {"out": {"twice": 42}, "status": "SUCCEEDED", "name": "p-Sync-2"},
            "arn": "arn:aws:states:local:000000000000:execution:child:fire-and-forget"
        }))
    );
    let child = h.engine.describe("p-Sync-2").unwrap();
    assert_eq!(child.parent_id.as_deref(), Some("p"));
    let later = h.engine.wait("fire-and-forget").await.unwrap();
    assert_eq!(later.output, Some(json!({"twice": 0})));

    // A failing child fails the parent's task with States.TaskFailed and the description.
    h.register(
        "bad-child",
        json!({"QueryLanguage": "JSONata", "StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Child.Broke", "Cause": "no"}}}),
    );
    h.register(
        "parent2",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Sync",
            "States": {"Sync": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                                "Arguments": {"StateMachineArn": "bad-child", "Input": {}}, "End": true}}
        }),
    );
    let failed = h
        .engine
        .run("parent2", json!({}), named("p2"))
        .await
        .unwrap();
    assert_eq!(failed.error.as_deref(), Some(names::TASK_FAILED));
    let cause: Value = serde_json::from_str(failed.cause.as_deref().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "Child.Broke");
}

#[tokio::test(start_paused = true)]
async fn machine_timeout_and_stop_end_executions() {
    let h = harness();
    h.register(
        "long",
        json!({
            "QueryLanguage": "JSONata",
            "TimeoutSeconds": 5,
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}
        }),
    );
    let done = h.engine.run("long", json!({}), named("t")).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::TimedOut);
    assert_eq!(done.end_time.unwrap() - done.start_time, 5_000);

    h.register(
        "forever",
        json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}),
    );
    let id = h.engine.start("forever", json!({}), named("s")).unwrap();
    tokio::task::yield_now().await;
    let stopped = h.engine.stop(&id, "user asked").await.unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
    assert_eq!(stopped.cause.as_deref(), Some("user asked"));
    assert!(matches!(
        h.engine.stop(&id, "again").await,
        Err(Error::AlreadyEnded(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn jsonpath_machines_and_broken_graphs_are_refused() {
    let h = harness();
    let asl = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}});
    let definition = ocflow_engine::MachineDefinition::from_json(&asl).unwrap();
    let err = h.engine.register("old", definition).unwrap_err();
    assert!(matches!(err, Error::JsonPath { .. }));
    assert!(err.to_string().contains("JSONata"), "{err}");

    let asl = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}});
    let definition = ocflow_engine::MachineDefinition::from_json(&asl).unwrap();
    let err = h.engine.register("broken", definition).unwrap_err();
    assert!(err.to_string().contains("'Nowhere'"), "{err}");

    let asl = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Output": "{% 1 + %}", "End": true}}});
    let definition = ocflow_engine::MachineDefinition::from_json(&asl).unwrap();
    let err = h.engine.register("bad-expr", definition).unwrap_err();
    assert!(err.to_string().contains("state 'A', field Output"), "{err}");

    let asl = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "End": true},
        "Orphan": {"Type": "Pass", "End": true}
    }});
    let definition = ocflow_engine::MachineDefinition::from_json(&asl).unwrap();
    let err = h.engine.register("orphan", definition).unwrap_err();
    assert!(err.to_string().contains("unreachable-state"), "{err}");
    assert!(matches!(
        h.engine.start("nope", json!({}), named("x")),
        Err(Error::UnknownMachine(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn lambda_invoker_and_substitutions_serve_compiled_resources() {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use ocflow_engine::{Engine, LambdaInvoker, MachineDefinition, VirtualClock};

    let invoker = LambdaInvoker::new().function(
        "arn:aws:lambda:local:0:function:http",
        |payload| async move { Ok(json!({"status": 200, "echo": payload})) },
    );
    let engine = Engine::builder()
        .clock(Arc::new(VirtualClock::at_2026()))
        .invoker(Arc::new(invoker))
        .substitutions(BTreeMap::from([(
            "HttpTaskFunctionArn".to_owned(),
            "arn:aws:lambda:local:0:function:http".to_owned(),
        )]))
        .build();
    let asl = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Call",
        "States": {"Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "${HttpTaskFunctionArn}", "Payload": {"uri": "{% $states.input.uri %}"}},
            "Output": "{% $states.result.Payload %}",
            "End": true
        }}
    });
    engine
        .register("http", MachineDefinition::from_json(&asl).unwrap())
        .unwrap();
    let done = engine
        .run("http", json!({"uri": "ocf://orders/1"}), named("h"))
        .await
        .unwrap();
    assert_eq!(
        done.output,
        Some(json!({"status": 200, "echo": {"uri": "ocf://orders/1"}}))
    );
    // The stored definition keeps the placeholder; the history shows the resolved call.
    assert_eq!(
        done.definition["asl"]["States"]["Call"]["Arguments"]["FunctionName"],
        json!("${HttpTaskFunctionArn}")
    );
}

#[tokio::test(start_paused = true)]
async fn a_distributed_map_runs_inline_without_outer_variables() {
    let h = harness();
    h.register(
        "dist",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Set",
            "States": {
                "Set": {"Type": "Pass", "Assign": {"secret": 1}, "Next": "Each"},
                "Each": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "Peek",
                        "States": {"Peek": {"Type": "Pass", "Output": "{% $exists($secret) %}", "End": true}}
                    },
                    "Items": [1, 2],
                    "End": true
                }
            }
        }),
    );
    let done = h.engine.run("dist", json!({}), named("d")).await.unwrap();
    assert_eq!(done.output, Some(json!([false, false])));
}

#[tokio::test(start_paused = true)]
async fn map_and_parallel_histories_are_scoped_per_iteration() {
    let h = harness();
    h.register(
        "nested",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Lines",
            "States": {"Lines": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {"StartAt": "Fork", "States": {"Fork": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "Twice", "States": {"Twice": {"Type": "Pass", "Output": "{% $states.input * 2 %}", "End": true}}},
                        {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 1, "End": true}}}
                    ],
                    "Output": "{% $states.result[0] %}",
                    "End": true
                }}},
                "End": true
            }}
        }),
    );
    let done = h
        .engine
        .run("nested", json!([1, 2]), named("n"))
        .await
        .unwrap();
    assert_eq!(done.output, Some(json!([2, 4])));
    insta::assert_snapshot!(h.history("n"));
}

#[tokio::test(start_paused = true)]
async fn callback_failures_are_retried_with_a_fresh_token() {
    let h = harness();
    let mut tokens = h.script.token_calls();
    h.register(
        "worker",
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Work",
            "States": {"Work": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Arguments": {"MessageBody": {"token": "{% $states.context.Task.Token %}", "try": "{% $states.context.State.RetryCount %}"}},
                "Retry": [{"ErrorEquals": ["Worker.Failed"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gave up"}],
                "End": true
            },
            "Gave up": {"Type": "Pass", "Output": {"error": "{% $states.input.Error %}", "cause": "{% $states.input.Cause %}"}, "End": true}}
        }),
    );
    let id = h.engine.start("worker", json!({}), named("w")).unwrap();
    let first = tokens.recv().await.unwrap();
    let first_token = first.task_token.clone().unwrap();
    assert_eq!(first.arguments["MessageBody"]["try"], json!(0));
    h.engine
        .send_task_failure(&first_token, "Worker.Failed", "disk full")
        .unwrap();
    let second = tokens.recv().await.unwrap();
    let second_token = second.task_token.clone().unwrap();
    assert_ne!(first_token, second_token);
    assert!(second_token.len() <= ocflow_engine::MAX_TOKEN_LEN);
    assert_eq!(second.arguments["MessageBody"]["try"], json!(1));
    assert!(matches!(
        h.engine.send_task_success(&first_token, json!(1)),
        Err(Error::UnknownToken)
    ));
    h.engine
        .send_task_failure(&second_token, "Worker.Failed", "still full")
        .unwrap();
    let done = h.engine.wait(&id).await.unwrap();
    assert_eq!(
        done.output,
        Some(json!({"error": "Worker.Failed", "cause": "still full"}))
    );
    assert!(matches!(
        h.engine.describe("nope"),
        Err(Error::UnknownExecution(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn a_runaway_loop_stops_at_the_history_limit_and_can_be_stopped() {
    let h = harness();
    let asl = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Spin",
        "States": {
            "Spin": {"Type": "Pass", "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.stop = true %}", "Next": "Done"}], "Default": "Spin"},
            "Done": {"Type": "Succeed"}
        }
    });
    h.register("spin", asl);
    let done = h
        .engine
        .run("spin", json!({}), named("spin-1"))
        .await
        .unwrap();
    assert_eq!(done.error.as_deref(), Some(names::RUNTIME));
    assert!(done.cause.unwrap_or_default().contains("25000 events"));
    assert_eq!(
        h.engine.history("spin-1").unwrap().len() as u64,
        ocflow_engine::MAX_HISTORY_EVENTS + 1
    );

    // A loop that never waits still yields: stop reaches it.
    let id = h.engine.start("spin", json!({}), named("spin-2")).unwrap();
    tokio::task::yield_now().await;
    let stopped = h.engine.stop(&id, "enough").await.unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
}
