//! One focused test per task type: the shape of the states it compiles to.

use ocflow_asl::State;
use ocflow_protocol::placeholders;
use serde_json::{Value, json};

use crate::{CompileEnv, CompiledWorkflow, ErrorCode, compile};

fn compile_tasks(tasks: Value) -> CompiledWorkflow {
    compile_def(json!({"name": "t", "tasks": tasks}))
}

fn compile_def(def: Value) -> CompiledWorkflow {
    let def = serde_json::from_value(def).unwrap();
    let compiled = compile(&def, &CompileEnv::new()).unwrap();
    assert_eq!(compiled.machine.check(), vec![]);
    compiled
}

fn state<'a>(c: &'a CompiledWorkflow, name: &str) -> &'a State {
    c.machine
        .states
        .get(name)
        .unwrap_or_else(|| panic!("no state {name} in {:?}", c.machine.states.keys()))
}

fn task<'a>(c: &'a CompiledWorkflow, name: &str) -> &'a ocflow_asl::TaskState {
    match state(c, name) {
        State::Task(t) => t,
        other => panic!("{name} is {:?}", other.kind()),
    }
}

fn http(reference: &str) -> Value {
    json!({"name": reference, "taskReferenceName": reference, "type": "HTTP",
           "inputParameters": {"http_request": {"uri": "ocf://svc/x", "method": "GET"}}})
}

#[test]
fn http_is_one_lambda_invoke_reading_the_input_directly() {
    let mut t = http("call");
    t["inputParameters"]["http_request"]["body"] = json!({"id": "${workflow.input.id}"});
    let c = compile_tasks(json!([t]));
    assert_eq!(c.machine.states.len(), 1);
    let call = task(&c, "call");
    assert_eq!(call.resource, placeholders::LAMBDA_INVOKE);
    let args = call.arguments.as_ref().unwrap();
    assert_eq!(args["FunctionName"], placeholders::HTTP_TASK_FUNCTION);
    let id = args["Payload"]["http_request"]["body"]["id"]
        .as_str()
        .unwrap();
    assert_eq!(
        id,
        "{% ($exists($states.context.Execution.Input.id) ? $states.context.Execution.Input.id : null) %}"
    );
    assert!(call.assign.is_none(), "nothing reads the task's output");
}

#[test]
fn worker_task_waits_for_its_token_on_its_queue() {
    let c = compile_tasks(
        json!([{"name": "encode", "taskReferenceName": "enc", "type": "SIMPLE",
        "taskDefinition": {"name": "encode", "responseTimeoutSeconds": 30, "timeoutSeconds": 300}}]),
    );
    let t = task(&c, "enc");
    assert_eq!(t.resource, placeholders::SQS_SEND_WAIT_TOKEN);
    let args = t.arguments.as_ref().unwrap();
    assert_eq!(args["QueueUrl"], placeholders::worker_queue_url("encode"));
    assert_eq!(
        args["MessageBody"]["taskToken"],
        "{% $states.context.Task.Token %}"
    );
    assert_eq!(args["MessageBody"]["referenceTaskName"], "enc");
    assert_eq!(
        t.heartbeat_seconds.as_ref().and_then(|h| h.literal()),
        Some(&30)
    );
    assert_eq!(
        t.timeout_seconds.as_ref().and_then(|h| h.literal()),
        Some(&300)
    );
}

#[test]
fn fixed_retry_is_backoff_one_with_interval_at_least_one() {
    let mut t = http("call");
    t["taskDefinition"] =
        json!({"name": "call", "retryCount": 4, "retryLogic": "FIXED", "retryDelaySeconds": 0});
    let c = compile_tasks(json!([t]));
    let retry = &task(&c, "call").retry;
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].backoff_rate, Some(1.0));
    assert_eq!(retry[0].interval_seconds, Some(1));
    assert_eq!(retry[0].max_attempts, Some(4));
}

#[test]
fn value_param_switch_is_a_choice_with_no_task_state() {
    let c = compile_tasks(
        json!([{"name": "s", "taskReferenceName": "s", "type": "SWITCH",
        "evaluatorType": "value-param", "expression": "k", "inputParameters": {"k": "${workflow.input.k}"},
        "decisionCases": {"a": [{"name": "n", "taskReferenceName": "n", "type": "NOOP"}]}}]),
    );
    assert!(
        c.machine
            .states
            .values()
            .all(|s| !matches!(s, State::Task(_)))
    );
    let State::Choice(choice) = state(&c, "s") else {
        panic!("not a choice")
    };
    assert_eq!(choice.choices.len(), 1);
    assert!(choice.choices[0].condition.contains("\"a\""));
    // No default case: Conductor continues after the switch.
    assert!(choice.default.is_some());
}

#[test]
fn untranslatable_javascript_switch_asks_the_script_function() {
    let c = compile_tasks(
        json!([{"name": "s", "taskReferenceName": "s", "type": "SWITCH",
        "evaluatorType": "javascript", "expression": "$.x.map(f)[0]",
        "decisionCases": {"a": [{"name": "n", "taskReferenceName": "n", "type": "NOOP"}]}}]),
    );
    let eval = c
        .machine
        .states
        .iter()
        .find(|(_, s)| matches!(s, State::Task(_)));
    let (_, State::Task(eval)) = eval.expect("a script state") else {
        unreachable!()
    };
    let payload = &eval.arguments.as_ref().unwrap()["Payload"];
    assert_eq!(payload["kind"], "condition");
    assert!(matches!(state(&c, "s"), State::Choice(_)));
}

#[test]
fn set_variable_is_a_pass_assigning_merged_vars() {
    let c = compile_tasks(
        json!([http("first"), {"name": "v", "taskReferenceName": "v", "type": "SET_VARIABLE",
        "inputParameters": {"x": 1}}]),
    );
    let State::Pass(pass) = state(&c, "v") else {
        panic!("not a pass")
    };
    let vars = pass.assign.as_ref().unwrap()["vars"].as_str().unwrap();
    assert!(vars.contains("$merge([$vars"), "{vars}");
}

#[test]
fn a_set_variable_ending_the_workflow_outputs_the_variables_it_sets() {
    let c = compile_def(json!({"name": "t", "variables": {"kept": true},
        "tasks": [{"name": "v", "taskReferenceName": "v", "type": "SET_VARIABLE",
                   "inputParameters": {"x": "${workflow.input.x}"}}],
        "outputParameters": {"variables": "${workflow.variables}"}}));
    let State::Pass(pass) = state(&c, "v") else {
        panic!("not a pass")
    };
    // The first state: `$vars` is unassigned, the merge starts from the initial variables.
    let vars = pass.assign.as_ref().unwrap()["vars"].as_str().unwrap();
    assert!(vars.contains(r#"$merge([{"kept":true}, {"x""#), "{vars}");
    assert!(!vars.contains("$vars"), "{vars}");
    // `Output` reads variables before the state's `Assign`: it must use the merge itself.
    let output = pass.output.as_ref().unwrap()["variables"].as_str().unwrap();
    assert!(
        output.contains(r#"$merge([{"kept":true}, {"x""#),
        "{output}"
    );
}

#[test]
fn fork_join_is_a_parallel_and_join_emits_no_state() {
    let c = compile_tasks(json!([
        {"name": "f", "taskReferenceName": "f", "type": "FORK_JOIN", "forkTasks": [[http("a")], [http("b")]]},
        {"name": "j", "taskReferenceName": "j", "type": "JOIN", "joinOn": ["a", "b"]},
        {"name": "use", "taskReferenceName": "use", "inputParameters": {"joined": "${j.output}"}}
    ]));
    let State::Parallel(p) = state(&c, "f") else {
        panic!("not a parallel")
    };
    assert_eq!(p.branches.len(), 2);
    assert!(!c.machine.states.contains_key("j"));
    assert!(
        c.task_map
            .states
            .values()
            .all(|t| t.reference_task_name != "j")
    );
    let assign = p.assign.as_ref().unwrap();
    assert!(assign.get("t_j").is_some(), "{assign}");
}

#[test]
fn do_while_is_a_loop_with_a_choice_back_edge() {
    let c = compile_tasks(
        json!([{"name": "l", "taskReferenceName": "l", "type": "DO_WHILE",
        "loopCondition": "$.l['iteration'] < 3", "loopOver": [http("body")]}]),
    );
    let State::Choice(check) = state(&c, "l_check") else {
        panic!("no check")
    };
    assert_eq!(check.choices[0].next, "body");
    assert_eq!(c.task_map.task("body").unwrap().loops, vec!["l".to_owned()]);
    let assign = check.choices[0].assign.as_ref().unwrap().to_string();
    assert!(assign.contains("iteration + 1"), "{assign}");
}

#[test]
fn sub_workflow_runs_the_child_machine_synchronously() {
    let c = compile_tasks(
        json!([{"name": "child", "taskReferenceName": "child", "type": "SUB_WORKFLOW",
        "subWorkflowParam": {"workflowDefinition": {"name": "c", "tasks": [http("x")]}}}]),
    );
    let t = task(&c, "child");
    assert_eq!(t.resource, placeholders::START_EXECUTION_SYNC);
    assert_eq!(c.children.len(), 1);
    let name = c.children.keys().next().unwrap();
    assert_eq!(
        t.arguments.as_ref().unwrap()["StateMachineArn"],
        placeholders::state_machine_arn(name)
    );
}

#[test]
fn start_workflow_does_not_wait() {
    let c = compile_tasks(
        json!([{"name": "s", "taskReferenceName": "s", "type": "START_WORKFLOW",
        "inputParameters": {"startWorkflow": {"name": "other", "input": {}}}}]),
    );
    assert_eq!(task(&c, "s").resource, placeholders::START_EXECUTION);
}

#[test]
fn wait_durations_and_signals() {
    let c = compile_tasks(json!([
        {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "2 days"}},
        {"name": "h", "taskReferenceName": "h", "type": "HUMAN"}
    ]));
    let State::Wait(w) = state(&c, "w") else {
        panic!("not a wait")
    };
    assert_eq!(w.seconds.as_ref().and_then(|s| s.literal()), Some(&172_800));
    let h = task(&c, "h");
    assert_eq!(h.resource, placeholders::SQS_SEND_WAIT_TOKEN);
    assert_eq!(
        h.arguments.as_ref().unwrap()["QueueUrl"],
        placeholders::EXTERNAL_TASK_QUEUE_URL
    );
}

#[test]
fn terminate_failed_is_a_fail_with_a_json_cause() {
    let c = compile_tasks(
        json!([http("a"), {"name": "t", "taskReferenceName": "t", "type": "TERMINATE",
        "inputParameters": {"terminationStatus": "FAILED", "terminationReason": "no"}}]),
    );
    let State::Fail(f) = state(&c, "t") else {
        panic!("not a fail")
    };
    assert_eq!(
        f.error
            .as_ref()
            .and_then(|e| e.literal())
            .map(String::as_str),
        Some("Workflow.Terminated")
    );
}

#[test]
fn optional_task_catches_everything_and_continues() {
    let mut a = http("a");
    a["optional"] = json!(true);
    let c = compile_tasks(json!([a, http("b")]));
    let catch = &task(&c, "a").catch;
    assert_eq!(catch[0].error_equals, vec!["States.ALL".to_owned()]);
    assert_eq!(catch[0].next, "b");
}

#[test]
fn inline_value_param_is_a_pass_and_javascript_calls_the_script_function() {
    let c = compile_tasks(json!([
        {"name": "v", "taskReferenceName": "v", "type": "INLINE",
         "inputParameters": {"evaluatorType": "value-param", "expression": "x", "x": 5}},
        {"name": "j", "taskReferenceName": "j", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "expression": "1 + 1"}}
    ]));
    assert!(matches!(state(&c, "v"), State::Pass(_)));
    let j = task(&c, "j");
    assert_eq!(
        j.arguments.as_ref().unwrap()["FunctionName"],
        placeholders::SCRIPT_TASK_FUNCTION
    );
    assert_eq!(
        j.arguments.as_ref().unwrap()["Payload"]["kind"],
        "javascript"
    );
}

#[test]
fn event_sinks_map_to_service_integrations() {
    let c = compile_tasks(json!([
        {"name": "q", "taskReferenceName": "q", "type": "EVENT", "sink": "sqs:orders"},
        {"name": "s", "taskReferenceName": "s", "type": "EVENT", "sink": "sns:news"},
        {"name": "b", "taskReferenceName": "b", "type": "EVENT", "sink": "eventbridge:bus"}
    ]));
    assert_eq!(task(&c, "q").resource, placeholders::SQS_SEND);
    assert_eq!(task(&c, "s").resource, placeholders::SNS_PUBLISH);
    assert_eq!(task(&c, "b").resource, placeholders::EVENTBRIDGE_PUT_EVENTS);
}

#[test]
fn kafka_publish_is_reported_unsupported_with_its_pointer() {
    let def = serde_json::from_value(json!({"name": "t", "tasks": [http("a"),
        {"name": "k", "taskReferenceName": "k", "type": "KAFKA_PUBLISH"}]}))
    .unwrap();
    let errors = compile(&def, &CompileEnv::new()).unwrap_err();
    assert_eq!(errors[0].code, ErrorCode::Unsupported);
    assert_eq!(errors[0].pointer, "/tasks/1");
    assert!(
        errors[0]
            .to_string()
            .starts_with("unsupported: KAFKA_PUBLISH task at /tasks/1")
    );
}

#[test]
fn dynamic_fork_is_a_map() {
    let c = compile_tasks(json!([
        {"name": "d", "taskReferenceName": "d", "type": "FORK_JOIN_DYNAMIC",
         "inputParameters": {"forkTaskName": "resize", "forkTaskInputs": [{"w": 1}]}},
        {"name": "j", "taskReferenceName": "j", "type": "JOIN"}
    ]));
    assert!(matches!(state(&c, "d"), State::Map(_)));
}

#[test]
fn a_dynamic_fork_of_one_task_still_maps_over_a_list() {
    // JSONata's `$map` returns a lone value for a one-element list; Items must stay an array.
    for inputs in [
        json!({"forkTaskName": "resize", "forkTaskInputs": [{"w": 1}]}),
        json!({"dynamicTasks": [{"name": "r", "taskReferenceName": "r", "type": "NOOP"}],
               "dynamicTasksInput": {}}),
    ] {
        let c = compile_tasks(json!([
            {"name": "d", "taskReferenceName": "d", "type": "FORK_JOIN_DYNAMIC",
             "dynamicForkTasksParam": "dynamicTasks",
             "dynamicForkTasksInputParamName": "dynamicTasksInput", "inputParameters": inputs},
            {"name": "j", "taskReferenceName": "j", "type": "JOIN"}
        ]));
        let State::Map(map) = state(&c, "d") else {
            panic!("not a map")
        };
        let items = map.items.as_ref().and_then(Value::as_str).unwrap();
        let expression = ocflow_asl::jsonata::unwrap(items).unwrap();
        let bindings = ocflow_jsonata::Bindings::with_states(json!({"input": {}}));
        let value = ocflow_jsonata::Expression::parse(expression)
            .unwrap()
            .evaluate_without_input(&bindings)
            .unwrap();
        let items = value.as_ref().and_then(Value::as_array);
        assert_eq!(items.map(Vec::len), Some(1), "{value:?}");
    }
}

#[test]
fn references_to_missing_data_are_guarded_and_templates_concatenate() {
    let c = compile_tasks(json!([http("a"), {"name": "b", "taskReferenceName": "b",
        "inputParameters": {"whole": "${a.output.x}", "text": "id-${a.output.y}"}}]));
    let body = &task(&c, "b").arguments.as_ref().unwrap()["MessageBody"]["inputData"];
    assert_eq!(
        body["whole"],
        "{% ($exists($t_a.output.x) ? $t_a.output.x : null) %}"
    );
    assert!(body["text"].as_str().unwrap().contains("\"null\""));
}

#[test]
fn timeout_policy_time_out_wf_sets_the_machine_timeout() {
    let c = compile_def(
        json!({"name": "t", "timeoutPolicy": "TIME_OUT_WF", "timeoutSeconds": 60, "tasks": [http("a")]}),
    );
    assert_eq!(c.machine.timeout_seconds, Some(60));
    let c = compile_def(
        json!({"name": "t", "timeoutPolicy": "ALERT_ONLY", "timeoutSeconds": 60, "tasks": [http("a")]}),
    );
    assert_eq!(c.machine.timeout_seconds, None);
}

#[test]
fn http_with_an_ocf_uri_is_one_lambda_invoke_too() {
    let mut t = http("call");
    t["inputParameters"]["http_request"]["uri"] = json!("https://example.com/x");
    let c = compile_tasks(json!([t, http("ocf")]));
    for name in ["call", "ocf"] {
        let call = task(&c, name);
        assert_eq!(call.resource, placeholders::LAMBDA_INVOKE);
        assert_eq!(
            call.arguments.as_ref().unwrap()["FunctionName"],
            placeholders::HTTP_TASK_FUNCTION
        );
    }
}

#[test]
fn jq_transform_and_lambda_call_the_script_function() {
    let c = compile_tasks(json!([
        {"name": "jq", "taskReferenceName": "jq", "type": "JSON_JQ_TRANSFORM",
         "inputParameters": {"queryExpression": ".a + 1", "a": 1}},
        {"name": "l", "taskReferenceName": "l", "type": "LAMBDA", "scriptExpression": "return 1;"}
    ]));
    let jq = task(&c, "jq").arguments.as_ref().unwrap();
    assert_eq!(jq["Payload"]["kind"], "jq");
    assert_eq!(jq["Payload"]["expression"], ".a + 1");
    // The filter reads the whole task input, as Conductor's JSON_JQ_TRANSFORM does.
    assert_eq!(
        jq["Payload"]["input"],
        json!({"queryExpression": ".a + 1", "a": 1})
    );
    let l = task(&c, "l").arguments.as_ref().unwrap();
    assert_eq!(l["Payload"]["kind"], "javascript");
}

#[test]
fn a_jq_filter_computed_by_an_earlier_task_is_read_at_run_time() {
    let c = compile_tasks(json!([
        {"name": "f", "taskReferenceName": "f", "type": "JSON_JQ_TRANSFORM",
         "inputParameters": {"queryExpression": "{q: \".a\"}"}},
        {"name": "jq", "taskReferenceName": "jq", "type": "JSON_JQ_TRANSFORM",
         "inputParameters": {"queryExpression": "${f.output.result.q}", "a": 1}}
    ]));
    let jq = task(&c, "jq").arguments.as_ref().unwrap();
    let expression = jq["Payload"]["expression"].as_str().unwrap();
    assert!(expression.starts_with("{%"), "{expression}");
    assert!(expression.contains("$t_f.output.result.q"), "{expression}");
}

#[test]
fn translatable_javascript_switch_is_a_choice_without_a_task() {
    let c = compile_tasks(
        json!([{"name": "s", "taskReferenceName": "s", "type": "SWITCH",
        "evaluatorType": "javascript", "expression": "$.n > 10 ? 'big' : 'small'",
        "inputParameters": {"n": "${workflow.input.n}"},
        "decisionCases": {"big": [{"name": "n", "taskReferenceName": "n", "type": "NOOP"}]}}]),
    );
    assert!(
        c.machine
            .states
            .values()
            .all(|s| !matches!(s, State::Task(_)))
    );
    let State::Choice(choice) = state(&c, "s") else {
        panic!("not a choice")
    };
    // The case value is compared as Conductor's string form, "null" for nothing.
    let condition = &choice.choices[0].condition;
    assert!(condition.contains("$string($case)"), "{condition}");
    assert!(condition.ends_with("= \"big\" %}"), "{condition}");
}

#[test]
fn decision_with_case_value_param_is_a_choice() {
    let c = compile_tasks(
        json!([{"name": "d", "taskReferenceName": "d", "type": "DECISION", "caseValueParam": "k",
        "inputParameters": {"k": "${workflow.input.k}"},
        "decisionCases": {"x": [{"name": "n", "taskReferenceName": "n", "type": "NOOP"}]},
        "defaultCase": [{"name": "m", "taskReferenceName": "m", "type": "NOOP"}]}]),
    );
    let State::Choice(choice) = state(&c, "d") else {
        panic!("not a choice")
    };
    assert_eq!(choice.choices[0].next, "n");
    assert_eq!(choice.default.as_deref(), Some("m"));
}

#[test]
fn exclusive_join_emits_no_state_and_reads_the_branch_that_ran() {
    let c = compile_tasks(json!([
        {"name": "d", "taskReferenceName": "d", "type": "SWITCH", "evaluatorType": "value-param",
         "expression": "k", "inputParameters": {"k": "${workflow.input.k}"},
         "decisionCases": {"a": [http("a")], "b": [http("b")]}},
        {"name": "x", "taskReferenceName": "x", "type": "EXCLUSIVE_JOIN", "joinOn": ["a", "b"]},
        http("after")
    ]));
    assert!(!c.machine.states.contains_key("x"));
    assert!(
        c.task_map
            .states
            .values()
            .all(|t| t.task_type != "EXCLUSIVE_JOIN")
    );
    assert_eq!(
        task(&c, "a").transition,
        Some(ocflow_asl::Transition::Next("after".into()))
    );
}

#[test]
fn dynamic_fork_in_all_three_input_styles_is_a_map() {
    let styles = [
        json!({"name": "d", "taskReferenceName": "d", "type": "FORK_JOIN_DYNAMIC",
               "dynamicForkTasksParam": "tasks", "dynamicForkTasksInputParamName": "inputs",
               "inputParameters": {"tasks": "${workflow.input.tasks}", "inputs": "${workflow.input.inputs}"}}),
        json!({"name": "d", "taskReferenceName": "d", "type": "FORK_JOIN_DYNAMIC",
               "inputParameters": {"forkTaskName": "resize", "forkTaskInputs": "${workflow.input.images}"}}),
        json!({"name": "d", "taskReferenceName": "d", "type": "FORK_JOIN_DYNAMIC",
               "inputParameters": {"forkTaskWorkflow": "child", "forkTaskInputs": [{"a": 1}]}}),
    ];
    for (style, fork) in styles.into_iter().enumerate() {
        let c =
            compile_tasks(json!([fork, {"name": "j", "taskReferenceName": "j", "type": "JOIN"}]));
        let State::Map(map) = state(&c, "d") else {
            panic!("style {style}: not a map")
        };
        let processor = map.item_processor.as_ref().unwrap();
        let resources: Vec<&str> = processor
            .states
            .values()
            .filter_map(|s| match s {
                State::Task(t) => Some(t.resource.as_str()),
                _ => None,
            })
            .collect();
        let expected = match style {
            0 => placeholders::LAMBDA_INVOKE,
            1 => placeholders::SQS_SEND_WAIT_TOKEN,
            _ => placeholders::START_EXECUTION_SYNC,
        };
        assert_eq!(resources, vec![expected], "style {style}");
    }
}

#[test]
fn do_while_items_mode_walks_the_list() {
    let c = compile_tasks(
        json!([{"name": "l", "taskReferenceName": "l", "type": "DO_WHILE",
        "inputParameters": {"items": "${workflow.input.items}"},
        "loopOver": [{"name": "h", "taskReferenceName": "h", "inputParameters": {"item": "${l.output.item}"}}]}]),
    );
    let State::Pass(entry) = state(&c, "l") else {
        panic!("no loop entry")
    };
    assert!(
        entry
            .assign
            .as_ref()
            .unwrap()
            .to_string()
            .contains("\\\"index\\\": 0")
    );
    let State::Choice(check) = state(&c, "l_check") else {
        panic!("no check")
    };
    assert!(check.choices[0].condition.contains("$count("));
}

#[test]
fn sub_workflow_by_name_compiles_the_child_from_the_environment() {
    let mut env = CompileEnv::new();
    env.add_workflow(
        serde_json::from_value(json!({"name": "child", "version": 3, "tasks": [http("x")]}))
            .unwrap(),
    );
    let def = serde_json::from_value(json!({"name": "p", "tasks": [
        {"name": "c", "taskReferenceName": "c", "type": "SUB_WORKFLOW",
         "subWorkflowParam": {"name": "child", "version": 3}}]}))
    .unwrap();
    let c = compile(&def, &env).unwrap();
    assert_eq!(task(&c, "c").resource, placeholders::START_EXECUTION_SYNC);
    assert!(c.children.contains_key("child"));
}

#[test]
fn wait_until_is_a_timestamp_and_wait_without_either_waits_for_a_signal() {
    let c = compile_tasks(json!([
        {"name": "u", "taskReferenceName": "u", "type": "WAIT", "inputParameters": {"until": "2030-01-02 03:04 UTC"}},
        {"name": "s", "taskReferenceName": "s", "type": "WAIT"}
    ]));
    let State::Wait(u) = state(&c, "u") else {
        panic!("not a wait")
    };
    assert_eq!(
        u.timestamp
            .as_ref()
            .and_then(|t| t.literal())
            .map(String::as_str),
        Some("2030-01-02T03:04:00Z")
    );
    let s = task(&c, "s");
    assert_eq!(s.resource, placeholders::SQS_SEND_WAIT_TOKEN);
    assert_eq!(
        s.arguments.as_ref().unwrap()["QueueUrl"],
        placeholders::EXTERNAL_TASK_QUEUE_URL
    );
}

#[test]
fn terminate_completed_is_a_succeed_and_ends_the_list() {
    let c = compile_tasks(json!([
        {"name": "t", "taskReferenceName": "t", "type": "TERMINATE",
         "inputParameters": {"terminationStatus": "COMPLETED", "workflowOutput": {"x": 1}}},
        http("never")
    ]));
    assert!(matches!(state(&c, "t"), State::Succeed(_)));
    assert!(!c.machine.states.contains_key("never"));
}

#[test]
fn noop_is_a_pass() {
    let c =
        compile_tasks(json!([http("a"), {"name": "n", "taskReferenceName": "n", "type": "NOOP"}]));
    assert!(matches!(state(&c, "n"), State::Pass(_)));
}

#[test]
fn dynamic_with_a_static_name_is_that_task_and_otherwise_dispatches() {
    let c = compile_tasks(json!([
        {"name": "d", "taskReferenceName": "d", "type": "DYNAMIC", "dynamicTaskNameParam": "t",
         "inputParameters": {"t": "HTTP", "http_request": {"uri": "ocf://svc/x", "method": "GET"}}}
    ]));
    assert_eq!(task(&c, "d").resource, placeholders::LAMBDA_INVOKE);
    let c = compile_tasks(json!([
        {"name": "d", "taskReferenceName": "d", "type": "DYNAMIC", "dynamicTaskNameParam": "t",
         "inputParameters": {"t": "${workflow.input.kind}"}}
    ]));
    let State::Pass(resolve) = state(&c, "d_resolve") else {
        panic!("no resolve state")
    };
    assert!(
        resolve
            .output
            .as_ref()
            .unwrap()
            .to_string()
            .contains("Execution.Input.kind")
    );
}

#[test]
fn initial_variables_go_into_the_first_state_whatever_its_type() {
    let c = compile_def(json!({"name": "t", "variables": {"n": 1}, "tasks": [
        {"name": "s", "taskReferenceName": "s", "type": "SWITCH", "evaluatorType": "value-param",
         "expression": "k", "inputParameters": {"k": "${workflow.variables.n}"},
         "decisionCases": {"1": [http("a")]}},
        http("b")
    ]}));
    assert_eq!(c.machine.start_at, "s");
    let State::Choice(choice) = state(&c, "s") else {
        panic!("not a choice")
    };
    // Not assigned yet where the Choice reads it: the initial value is read in place.
    assert!(
        choice.choices[0].condition.contains("{\"n\":1}.n"),
        "{}",
        choice.choices[0].condition
    );
    assert_eq!(
        choice.choices[0].assign.as_ref().unwrap()["vars"],
        json!({"n": 1})
    );
    assert_eq!(choice.assign.as_ref().unwrap()["vars"], json!({"n": 1}));
}

#[test]
fn failure_workflow_catches_every_task_and_reraises() {
    let c = compile_def(json!({"name": "t", "failureWorkflow": "cleanup", "tasks": [http("a")]}));
    let catch = &task(&c, "a").catch;
    assert_eq!(catch[0].next, "StartFailureWorkflow");
    let start = task(&c, "StartFailureWorkflow");
    assert_eq!(start.resource, placeholders::START_EXECUTION);
    let input = start.arguments.as_ref().unwrap()["Input"].as_str().unwrap();
    for field in ["workflowId", "reason", "failureStatus", "failedWorkflow"] {
        assert!(
            input.contains(&format!("\"{field}\"")),
            "{field} in {input}"
        );
    }
    let State::Fail(fail) = state(&c, "Failed") else {
        panic!("no fail")
    };
    assert_eq!(
        fail.error,
        Some(ocflow_asl::JsonataOr::expression("$failure.Error"))
    );
}

#[test]
fn permissive_task_continues_and_fails_the_workflow_at_the_end() {
    let mut a = http("a");
    a["permissive"] = json!(true);
    let c = compile_tasks(json!([a, http("b")]));
    let catch = &task(&c, "a").catch[0];
    assert_eq!(catch.next, "b");
    assert!(
        catch
            .assign
            .as_ref()
            .unwrap()
            .get("permissive_failure")
            .is_some()
    );
    assert_eq!(
        task(&c, "b").transition,
        Some(ocflow_asl::Transition::Next("CheckPermissiveTasks".into()))
    );
    let State::Choice(check) = state(&c, "CheckPermissiveTasks") else {
        panic!("no check")
    };
    assert!(matches!(state(&c, &check.choices[0].next), State::Fail(_)));
}
