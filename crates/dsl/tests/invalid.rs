//! Invalid definitions: each row is a document and the exact diagnostics it must produce
//! (`pointer: [warning: ]message`), errors and warnings alike, in order. None may panic.

use ocflow_dsl::check_document;

/// A minimal valid task with this reference.
fn simple(reference: &str) -> String {
    format!(r#"{{"name":"{reference}","taskReferenceName":"{reference}","type":"SIMPLE"}}"#)
}

/// A workflow named `w` with these tasks.
fn wf(tasks: &[String]) -> String {
    format!(r#"{{"name":"w","tasks":[{}]}}"#, tasks.join(","))
}

fn check(case: &str, text: &str, expected: &[&str]) -> bool {
    let (_, diagnostics) = check_document("f.json", text);
    let got: Vec<String> = diagnostics
        .iter()
        .map(|d| {
            let shown = d.to_string();
            shown
                .strip_prefix("f.json")
                .unwrap_or(&shown)
                .trim_start_matches(':')
                .trim_start()
                .to_owned()
        })
        .collect();
    let same = got == expected;
    if !same {
        eprintln!("case: {case}\ninput: {text}\n  got:      {got:?}\n  expected: {expected:?}");
    }
    same
}

#[test]
fn invalid_definitions() {
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "malformed JSON: missing comma",
            "{\n  \"name\": \"w\"\n  \"tasks\": []\n}".into(),
            vec!["3:3: invalid JSON: expected `,` or `}`"],
        ),
        (
            "malformed JSON: truncated",
            "{\"name\": \"w\", \"tasks\": [".into(),
            vec!["1:24: invalid JSON: EOF while parsing a list"],
        ),
        ("not an object", "42".into(), vec!["expected a JSON object or array, found a number"]),
        (
            "wrong field type",
            r#"{"name":"w","tasks":[{"name":"a","taskReferenceName":"a","optional":"yes"}]}"#.into(),
            vec!["/tasks/0/optional: invalid type: string \"yes\", expected a boolean"],
        ),
        (
            "unknown retry logic",
            r#"{"name":"w","tasks":[{"name":"a","taskReferenceName":"a","taskDefinition":{"name":"a","retryLogic":"SOMETIMES"}}]}"#.into(),
            vec!["/tasks/0/taskDefinition/retryLogic: unknown variant `SOMETIMES`, expected one of `FIXED`, `EXPONENTIAL_BACKOFF`, `LINEAR_BACKOFF`"],
        ),
        ("missing name", r#"{"tasks":[{"name":"a","taskReferenceName":"a"}]}"#.into(), vec!["/name: workflow has no name (hint: add \"name\": \"my_workflow\")"]),
        (
            "bad name",
            r#"{"name":"my:flow","tasks":[{"name":"a","taskReferenceName":"a"}]}"#.into(),
            vec!["/name: workflow name 'my:flow' has characters Conductor refuses (hint: use letters, digits, '_', '-', spaces and <>{}#)"],
        ),
        (
            "bad name with a dot",
            r#"{"name":"a.b","tasks":[{"name":"a","taskReferenceName":"a"}]}"#.into(),
            vec!["/name: workflow name 'a.b' has characters Conductor refuses (hint: use letters, digits, '_', '-', spaces and <>{}#)"],
        ),
        ("no tasks", r#"{"name":"w","tasks":[]}"#.into(), vec!["/tasks: workflow has no tasks"]),
        ("tasks absent", r#"{"name":"w"}"#.into(), vec!["/tasks: workflow has no tasks"]),
        (
            "missing taskReferenceName",
            r#"{"name":"w","tasks":[{"name":"a"}]}"#.into(),
            vec!["/tasks/0/taskReferenceName: task has no taskReferenceName (hint: give every task a reference name unique in the workflow)"],
        ),
        (
            "missing task name",
            r#"{"name":"w","tasks":[{"taskReferenceName":"a"}]}"#.into(),
            vec!["/tasks/0/name: task has no name"],
        ),
        (
            "duplicate references",
            wf(&[simple("x"), simple("y"), simple("x")]),
            vec!["/tasks/2/taskReferenceName: duplicate reference 'x' (first at /tasks/0)"],
        ),
        (
            "duplicate reference nested in a switch",
            wf(&[simple("x"), r#"{"name":"s","taskReferenceName":"s","type":"SWITCH","evaluatorType":"value-param","expression":"v","inputParameters":{"v":"a"},"decisionCases":{"a":[{"name":"x","taskReferenceName":"x"}]}}"#.into()]),
            vec!["/tasks/1/decisionCases/a/0/taskReferenceName: duplicate reference 'x' (first at /tasks/0)"],
        ),
        (
            "reserved __ in reference",
            wf(&[simple("a__1")]),
            vec!["/tasks/0/taskReferenceName: reference 'a__1' contains '__', which Conductor reserves"],
        ),
        (
            "misspelt type HTTPS",
            wf(&[r#"{"name":"h","taskReferenceName":"h","type":"HTTPS"}"#.into()]),
            vec!["/tasks/0/type: warning: unknown task type 'HTTPS' is treated as a worker task type (hint: did you mean 'HTTP'?)"],
        ),
        (
            "misspelt type SWTICH",
            wf(&[r#"{"name":"s","taskReferenceName":"s","type":"SWTICH"}"#.into()]),
            vec!["/tasks/0/type: warning: unknown task type 'SWTICH' is treated as a worker task type (hint: did you mean 'SWITCH'?)"],
        ),
        (
            "lower-case system type",
            wf(&[r#"{"name":"s","taskReferenceName":"s","type":"do_while","loopOver":[]}"#.into()]),
            vec!["/tasks/0/type: warning: unknown task type 'do_while' is treated as a worker task type (hint: did you mean 'DO_WHILE'?)"],
        ),
        (
            "empty type",
            wf(&[r#"{"name":"s","taskReferenceName":"s","type":""}"#.into()]),
            vec!["/tasks/0/type: task type is empty"],
        ),
        (
            "SWITCH without expression",
            wf(&[r#"{"name":"s","taskReferenceName":"s","type":"SWITCH","evaluatorType":"value-param","decisionCases":{}}"#.into()]),
            vec!["/tasks/0/expression: SWITCH 's' has no expression"],
        ),
        (
            "SWITCH without evaluator or expression",
            wf(&[r#"{"name":"s","taskReferenceName":"s","type":"SWITCH"}"#.into()]),
            vec![
                "/tasks/0/evaluatorType: SWITCH 's' has no evaluatorType (hint: use \"value-param\" or \"javascript\")",
                "/tasks/0/expression: SWITCH 's' has no expression",
            ],
        ),
        (
            "DECISION without case parameter",
            wf(&[r#"{"name":"d","taskReferenceName":"d","type":"DECISION","decisionCases":{}}"#.into()]),
            vec!["/tasks/0/caseValueParam: DECISION 'd' has neither caseValueParam nor caseExpression"],
        ),
        (
            "fork without join",
            wf(&[format!(r#"{{"name":"f","taskReferenceName":"f","type":"FORK_JOIN","forkTasks":[[{}]]}}"#, simple("a")), simple("b")]),
            vec!["/tasks/0: FORK_JOIN 'f' is not followed by a JOIN (hint: put a JOIN task right after the fork)"],
        ),
        (
            "fork last in the list",
            wf(&[format!(r#"{{"name":"f","taskReferenceName":"f","type":"FORK_JOIN","forkTasks":[[{}]]}}"#, simple("a"))]),
            vec!["/tasks/0: FORK_JOIN 'f' is not followed by a JOIN (hint: put a JOIN task right after the fork)"],
        ),
        (
            "fork with no branches",
            wf(&[r#"{"name":"f","taskReferenceName":"f","type":"FORK_JOIN","forkTasks":[]}"#.into(), r#"{"name":"j","taskReferenceName":"j","type":"JOIN"}"#.into()]),
            vec!["/tasks/0/forkTasks: FORK_JOIN 'f' has no branches"],
        ),
        (
            "dynamic fork without join or parameter",
            wf(&[r#"{"name":"f","taskReferenceName":"f","type":"FORK_JOIN_DYNAMIC"}"#.into()]),
            vec![
                "/tasks/0/dynamicForkTasksParam: FORK_JOIN_DYNAMIC 'f' has no dynamicForkTasksParam",
                "/tasks/0: FORK_JOIN_DYNAMIC 'f' is not followed by a JOIN (hint: put a JOIN task right after the fork)",
            ],
        ),
        (
            "empty loop",
            wf(&[r#"{"name":"l","taskReferenceName":"l","type":"DO_WHILE","loopCondition":"false","loopOver":[]}"#.into()]),
            vec!["/tasks/0/loopOver: DO_WHILE 'l' has no tasks to loop over"],
        ),
        (
            "loop without condition",
            wf(&[format!(r#"{{"name":"l","taskReferenceName":"l","type":"DO_WHILE","loopOver":[{}]}}"#, simple("a"))]),
            vec!["/tasks/0/loopCondition: DO_WHILE 'l' has no loopCondition"],
        ),
        (
            "reference to an unknown task",
            wf(&[r#"{"name":"a","taskReferenceName":"a","inputParameters":{"x":"${nope.output.y}"}}"#.into()]),
            vec!["/tasks/0/inputParameters/x: warning: '${nope.output.y}' refers to 'nope', which is neither a task reference nor 'workflow'; it resolves to null (hint: references start with workflow., CPEWF_TASK_ID or a taskReferenceName)"],
        ),
        (
            "unknown reference inside text and a nested list",
            wf(&[r#"{"name":"a","taskReferenceName":"a","inputParameters":{"x":{"l":["id-${b.output.y}"]}}}"#.into()]),
            vec!["/tasks/0/inputParameters/x/l/0: warning: '${b.output.y}' refers to 'b', which is neither a task reference nor 'workflow'; it resolves to null (hint: references start with workflow., CPEWF_TASK_ID or a taskReferenceName)"],
        ),
        (
            "unknown reference in workflow output",
            r#"{"name":"w","tasks":[{"name":"a","taskReferenceName":"a"}],"outputParameters":{"r":"${z.output}"}}"#.into(),
            vec!["/outputParameters/r: warning: '${z.output}' refers to 'z', which is neither a task reference nor 'workflow'; it resolves to null (hint: references start with workflow., CPEWF_TASK_ID or a taskReferenceName)"],
        ),
        (
            "misspelt workflow field",
            wf(&[r#"{"name":"a","taskReferenceName":"a","inputParameters":{"x":"${workflow.inptu.y}"}}"#.into()]),
            vec!["/tasks/0/inputParameters/x: warning: '${workflow.inptu.y}' reads 'inptu', which a workflow does not have (hint: did you mean 'workflow.input.inptu'?)"],
        ),
        (
            "bad reference path",
            wf(&[r#"{"name":"a","taskReferenceName":"a","inputParameters":{"x":"${a.output[}"}}"#.into()]),
            vec!["/tasks/0/inputParameters/x: warning: '${a.output[}' is not a path (expected an index, a quoted name or `*` after `[` at offset 9); it resolves to null"],
        ),
        (
            "sub-workflow with no target",
            wf(&[r#"{"name":"s","taskReferenceName":"s","type":"SUB_WORKFLOW","subWorkflowParam":{"version":1}}"#.into()]),
            vec!["/tasks/0/subWorkflowParam: SUB_WORKFLOW 's' names no workflow and holds no definition (hint: set subWorkflowParam.name or subWorkflowParam.workflowDefinition)"],
        ),
        (
            "sub-workflow without params",
            wf(&[r#"{"name":"s","taskReferenceName":"s","type":"SUB_WORKFLOW"}"#.into()]),
            vec!["/tasks/0/subWorkflowParam: SUB_WORKFLOW 's' names no workflow and holds no definition (hint: set subWorkflowParam.name or subWorkflowParam.workflowDefinition)"],
        ),
        (
            "error inside an inline sub-workflow",
            wf(&[format!(r#"{{"name":"s","taskReferenceName":"s","type":"SUB_WORKFLOW","subWorkflowParam":{{"workflowDefinition":{{"name":"child","tasks":[{},{}]}}}}}}"#, simple("c"), simple("c"))]),
            vec!["/tasks/0/subWorkflowParam/workflowDefinition/tasks/1/taskReferenceName: duplicate reference 'c' (first at /tasks/0)"],
        ),
        (
            "response timeout above timeout",
            wf(&[r#"{"name":"a","taskReferenceName":"a","taskDefinition":{"name":"a","timeoutSeconds":10,"responseTimeoutSeconds":20}}"#.into()]),
            vec!["/tasks/0/taskDefinition/responseTimeoutSeconds: warning: responseTimeoutSeconds (20) exceeds timeoutSeconds (10) (hint: make responseTimeoutSeconds at most timeoutSeconds)"],
        ),
        (
            "default response timeout above timeout",
            wf(&[r#"{"name":"a","taskReferenceName":"a","taskDefinition":{"name":"a","timeoutSeconds":60}}"#.into()]),
            vec!["/tasks/0/taskDefinition/responseTimeoutSeconds: warning: responseTimeoutSeconds (3600) exceeds timeoutSeconds (60) (hint: the default responseTimeoutSeconds is 3600; set it to at most timeoutSeconds)"],
        ),
        (
            "registered task definition with response timeout above timeout",
            r#"{"name":"t","retryCount":1,"timeoutSeconds":5,"responseTimeoutSeconds":6}"#.into(),
            vec!["/responseTimeoutSeconds: responseTimeoutSeconds (6) exceeds timeoutSeconds (5) (hint: make responseTimeoutSeconds at most timeoutSeconds)"],
        ),
        (
            "second workflow of an array",
            format!("[{}, {}]", wf(&[simple("a")]), r#"{"name":"v","tasks":[]}"#),
            vec!["/1/tasks: workflow has no tasks"],
        ),
        (
            "several errors at once",
            r#"{"name":"","tasks":[{"name":"a"},{"name":"b","taskReferenceName":"b","type":"DO_WHILE"}]}"#.into(),
            vec![
                "/name: workflow has no name (hint: add \"name\": \"my_workflow\")",
                "/tasks/0/taskReferenceName: task has no taskReferenceName (hint: give every task a reference name unique in the workflow)",
                "/tasks/1/loopOver: DO_WHILE 'b' has no tasks to loop over",
                "/tasks/1/loopCondition: DO_WHILE 'b' has no loopCondition",
            ],
        ),
    ];
    assert!(cases.len() >= 30, "the table keeps at least 30 cases");
    let failed = cases
        .iter()
        .filter(|(case, text, expected)| !check(case, text, expected))
        .count();
    assert_eq!(
        failed, 0,
        "cases with other diagnostics than expected (see stderr)"
    );
}

#[test]
fn valid_definition_has_no_diagnostics() {
    let text = wf(&[
        r#"{"name":"f","taskReferenceName":"f","type":"FORK_JOIN","forkTasks":[[{"name":"a","taskReferenceName":"a"}],[{"name":"b","taskReferenceName":"b"}]]}"#.into(),
        r#"{"name":"j","taskReferenceName":"j","type":"JOIN","joinOn":["a","b"]}"#.into(),
        r#"{"name":"c","taskReferenceName":"c","inputParameters":{"x":"${a.output.v} ${workflow.input.q} ${CPEWF_TASK_ID}","y":"${b.output.list[${workflow.input.i}]}"}}"#.into(),
    ]);
    assert!(check("valid", &text, &[]));
}
