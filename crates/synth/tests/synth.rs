//! Synthesis of the example workflows as the compiler compiles them: the template snapshot,
//! least privilege of every role, and cfn-lint.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use ocflow_asl::{ExecutionType, StateMachine};
use ocflow_synth::{Error, SynthOptions, SynthOutput, SynthWorkflow, WorkflowOptions, synthesize};
use serde_json::{Value, json};

/// The workflows of `workflows/`, compiled, each child once; `price_quote` deployed as Express.
fn fixtures() -> Vec<SynthWorkflow> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows");
    let env = ocflow_local::defs::load_env(Some(&dir));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path().join("workflow.json"))
        .filter(|file| file.is_file())
        .collect();
    files.sort();
    let mut machines = std::collections::BTreeMap::new();
    for file in files {
        let (def, _) = ocflow_local::defs::load_workflow(&file).unwrap();
        let compiled = ocflow_compiler::compile(&def, &env).unwrap();
        for child in compiled.children.values() {
            machines.insert(child.name.clone(), child.machine.clone());
        }
        machines.insert(compiled.name, compiled.machine);
    }
    machines
        .into_iter()
        .map(|(name, machine)| {
            let mut workflow = SynthWorkflow::new(name.as_str(), machine);
            if name == "price_quote" {
                workflow.options = WorkflowOptions {
                    execution_type: ExecutionType::Express,
                };
            }
            workflow
        })
        .collect()
}

fn synthesized() -> SynthOutput {
    synthesize(&fixtures(), &SynthOptions::default()).unwrap()
}

fn parse_template(output: &SynthOutput) -> Value {
    serde_norway::from_str(&output.template).unwrap()
}

#[test]
fn template_snapshot() {
    let output = synthesized();
    insta::assert_snapshot!("template", output.template);
    let files: Vec<&str> = output.machines.keys().map(String::as_str).collect();
    assert_eq!(
        files,
        [
            "statemachines/checkout.asl.json",
            "statemachines/order_approval.asl.json",
            "statemachines/order_fulfillment.asl.json",
            "statemachines/payment.asl.json",
            "statemachines/price_quote.asl.json",
            "statemachines/shipment_tracking.asl.json",
        ]
    );
}

#[test]
fn output_is_deterministic_and_independent_of_input_order() {
    let mut reversed = fixtures();
    reversed.reverse();
    let again = synthesize(&reversed, &SynthOptions::default()).unwrap();
    assert_eq!(again, synthesized());
}

#[test]
fn machine_files_are_the_definitions_unchanged() {
    let output = synthesized();
    for workflow in fixtures() {
        let file = format!("statemachines/{}.asl.json", workflow.name.replace('-', "_"));
        let written: StateMachine = serde_json::from_str(&output.machines[&file]).unwrap();
        assert_eq!(written, workflow.machine, "{file}");
    }
}

/// A resource of a policy statement as comparable text: `Ref`/`GetAtt` by logical id,
/// `Fn::Sub` by its text.
fn resource_text(value: &Value) -> String {
    if let Some(text) = value.as_str() {
        return text.to_owned();
    }
    if let Some(id) = value.get("Ref").and_then(Value::as_str) {
        return id.to_owned();
    }
    if let Some(parts) = value.get("Fn::GetAtt").and_then(Value::as_array) {
        let parts: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
        return format!("${{{}}}", parts.join("."));
    }
    match value.get("Fn::Sub") {
        Some(Value::String(text)) => return text.clone(),
        // `[text, variables]`: the text names the resource; variables only fill it in.
        Some(Value::Array(parts)) => return resource_text(&parts[0]),
        _ => {}
    }
    value.to_string()
}

/// Every (action, resource) a role allows, including conditional policies.
fn grants(role: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for policy in role["Properties"]["Policies"].as_array().unwrap() {
        let policy = match policy.get("Fn::If") {
            Some(branches) => &branches[1],
            None => policy,
        };
        for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
            assert_eq!(statement["Effect"], "Allow");
            let actions = statement["Action"].as_array().unwrap();
            let resources = statement["Resource"].as_array().unwrap();
            for action in actions {
                for resource in resources {
                    out.insert((action.as_str().unwrap().to_owned(), resource_text(resource)));
                }
            }
        }
    }
    out
}

/// Actions that support no resource-level permission, for which AWS requires `"*"`.
fn star_is_required(action: &str) -> bool {
    action.starts_with("xray:")
        || matches!(
            action,
            "logs:CreateLogDelivery"
                | "logs:GetLogDelivery"
                | "logs:UpdateLogDelivery"
                | "logs:DeleteLogDelivery"
                | "logs:ListLogDeliveries"
                | "logs:PutResourcePolicy"
                | "logs:DescribeResourcePolicies"
                | "logs:DescribeLogGroups"
                | "states:SendTaskSuccess"
                | "states:SendTaskFailure"
                | "states:SendTaskHeartbeat"
        )
}

fn resources_of<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

#[test]
fn no_wildcard_except_where_aws_requires_it() {
    let template = parse_template(&synthesized());
    let roles = resources_of(&template, "AWS::IAM::Role");
    assert_eq!(
        roles.len(),
        ocflow_synth::Function::SHARED.len() + fixtures().len() + 1,
        "one role per function and per state machine, and the role of machines the API registers"
    );
    for (id, role) in roles {
        for (action, resource) in grants(role) {
            assert!(!action.contains('*'), "{id}: wildcard action {action}");
            if resource == "*" {
                assert!(star_is_required(&action), "{id}: {action} on *");
            } else {
                // A pattern must stay inside this stack's resources.
                let scoped = resource.contains("${AWS::StackName}-") || resource.contains(".Arn}");
                assert!(
                    !resource.contains('*') || scoped,
                    "{id}: {action} on unscoped {resource}"
                );
            }
        }
    }
}

/// What a Task state targets, found by walking the ASL JSON independently of the crate.
fn targets(value: &Value, out: &mut BTreeSet<(String, String)>) {
    match value {
        Value::Object(map) => {
            if map.get("Type").and_then(Value::as_str) == Some("Task") {
                let resource = map["Resource"].as_str().unwrap();
                let args = &map["Arguments"];
                let field = |name: &str| args[name].as_str().unwrap().to_owned();
                let target = match resource {
                    r if r.ends_with("lambda:invoke") => ("invoke", field("FunctionName")),
                    r if r.contains("sqs:sendMessage") => ("send", field("QueueUrl")),
                    r if r.ends_with("startExecution.sync:2") => ("sync", field("StateMachineArn")),
                    r if r.ends_with("startExecution") => ("start", field("StateMachineArn")),
                    r if r.ends_with("sns:publish") => ("publish", field("TopicArn")),
                    r if r.ends_with("events:putEvents") => (
                        "put",
                        args["Entries"][0]["EventBusName"]
                            .as_str()
                            .unwrap()
                            .to_owned(),
                    ),
                    other => panic!("fixture uses {other}"),
                };
                out.insert((target.0.to_owned(), target.1));
            }
            map.values().for_each(|v| targets(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| targets(v, out)),
        _ => {}
    }
}

/// The ARN text of a substituted placeholder: `Ref` of a queue or topic is not its ARN, so
/// those map to `${Id.Arn}` (queues) or the topic's `Ref` (SNS `Ref` is the ARN).
fn arn_of(substitution: &Value, template: &Value) -> String {
    if let Some(id) = substitution.get("Ref").and_then(Value::as_str) {
        return match template["Resources"][id]["Type"].as_str() {
            Some("AWS::SQS::Queue") => format!("${{{id}.Arn}}"),
            _ => id.to_owned(),
        };
    }
    resource_text(substitution)
}

#[test]
fn each_machine_role_allows_exactly_what_its_definition_targets() {
    let output = synthesized();
    let template = parse_template(&output);
    let machines = resources_of(&template, "AWS::Serverless::StateMachine");
    assert_eq!(machines.len(), fixtures().len());
    for (id, machine) in machines {
        let properties = &machine["Properties"];
        let file = properties["DefinitionUri"].as_str().unwrap();
        let definition: Value = serde_json::from_str(&output.machines[file]).unwrap();
        let substitutions = &properties["DefinitionSubstitutions"];
        let mut used = BTreeSet::new();
        targets(&definition, &mut used);

        let mut expected = BTreeSet::new();
        let executions = |arn: &str| arn.replace(":stateMachine:", ":execution:") + ":*";
        for (kind, placeholder) in used {
            let key = placeholder.trim_start_matches("${").trim_end_matches('}');
            let arn = arn_of(&substitutions[key], &template);
            let mut grant = |action: &str, resource: String| {
                expected.insert((action.to_owned(), resource));
            };
            match kind.as_str() {
                "invoke" => {
                    grant("lambda:InvokeFunction", format!("{arn}:*"));
                    grant("lambda:InvokeFunction", arn);
                }
                "send" => grant("sqs:SendMessage", arn),
                "start" => grant("states:StartExecution", arn),
                "sync" => {
                    grant("states:StartExecution", arn.clone());
                    grant("states:DescribeExecution", executions(&arn));
                    grant("states:StopExecution", executions(&arn));
                    for action in ["events:PutTargets", "events:PutRule", "events:DescribeRule"] {
                        grant(action, "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule".into());
                    }
                }
                "publish" => grant("sns:Publish", arn),
                "put" => grant("events:PutEvents", arn),
                _ => unreachable!(),
            }
        }
        let role_id = resource_text(&properties["Role"]);
        let role_id = role_id.trim_start_matches("${").trim_end_matches(".Arn}");
        let actual: BTreeSet<(String, String)> = grants(&template["Resources"][role_id])
            .into_iter()
            .filter(|(action, resource)| !(resource == "*" && star_is_required(action)))
            .collect();
        assert_eq!(actual, expected, "{id}");
        assert!(!expected.is_empty(), "{id} uses something");
    }
}

#[test]
fn child_machines_and_worker_queues_are_substituted() {
    let template = parse_template(&synthesized());
    let checkout = &template["Resources"]["CheckoutStateMachine"]["Properties"];
    assert_eq!(
        checkout["DefinitionSubstitutions"]["StateMachineArn_payment"]["Fn::Sub"],
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-payment"
    );
    assert_eq!(
        template["Resources"]["PaymentStateMachine"]["Properties"]["Name"]["Fn::Sub"],
        "${AWS::StackName}-payment"
    );
    let order = &template["Resources"]["OrderApprovalStateMachine"]["Properties"];
    assert_eq!(
        order["DefinitionSubstitutions"]["WorkerQueueUrl_pack_order"]["Ref"],
        "WorkerQueuePackOrder"
    );
    assert_eq!(
        order["DefinitionSubstitutions"]["WorkerQueueUrl_review_order"]["Ref"],
        "WorkerQueueReviewOrder"
    );
    let queue = &template["Resources"]["WorkerQueuePackOrder"]["Properties"];
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0],
        "WorkerQueuePackOrderDeadLetters"
    );
    assert_eq!(
        template["Resources"]["PriceQuoteStateMachine"]["Properties"]["Type"],
        "EXPRESS"
    );
    assert_eq!(checkout["Type"], "STANDARD");
}

fn single(name: &str, definition: &str) -> SynthWorkflow {
    SynthWorkflow::new(name, serde_json::from_str(definition).unwrap())
}

#[test]
fn express_machines_that_wait_are_refused() {
    let mut workflow = fixtures()
        .into_iter()
        .find(|w| w.name == "order_approval")
        .unwrap();
    workflow.options.execution_type = ExecutionType::Express;
    let err = synthesize(&[workflow], &SynthOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "workflow `order_approval` is EXPRESS but /States/review/Resource uses `arn:aws:states:::sqs:sendMessage.waitForTaskToken`, which only STANDARD machines support"
    );
}

#[test]
fn a_child_outside_the_deployment_is_refused() {
    let checkout = fixtures()
        .into_iter()
        .find(|w| w.name == "checkout")
        .unwrap();
    let err = synthesize(&[checkout], &SynthOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "workflow `checkout` at /States/pay/Arguments/StateMachineArn starts `payment`, which is not among the workflows being deployed"
    );
}

#[test]
fn workflows_with_the_same_machine_name_are_refused() {
    let def = r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#;
    let err = synthesize(
        &[single("a-b", def), single("a.b", def)],
        &SynthOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::DuplicateWorkflow { .. }), "{err}");
    assert!(matches!(
        synthesize(&[], &SynthOptions::default()),
        Err(Error::NoWorkflows)
    ));
}

#[test]
fn write_to_lays_out_template_and_machines() {
    let dir = tempfile::tempdir().unwrap();
    let output = synthesized();
    output.write_to(dir.path()).unwrap();
    let template = std::fs::read_to_string(dir.path().join("template.yaml")).unwrap();
    assert_eq!(template, output.template);
    let payment =
        std::fs::read_to_string(dir.path().join("statemachines/payment.asl.json")).unwrap();
    assert_eq!(payment, output.machines["statemachines/payment.asl.json"]);
}

fn cfn_lint() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = root.join("target/tools/cfn-venv/bin/cfn-lint");
    if venv.is_file() {
        return Some(venv);
    }
    let on_path = Command::new("cfn-lint").arg("--version").output();
    on_path
        .is_ok_and(|out| out.status.success())
        .then(|| PathBuf::from("cfn-lint"))
}

/// Runs cfn-lint on `output` and asserts it reports nothing.
fn assert_lint_clean(output: &SynthOutput) {
    let Some(cfn_lint) = cfn_lint() else {
        panic!(
            "cfn-lint not found on PATH or in target/tools/cfn-venv; install it with \
             `python3 -m venv target/tools/cfn-venv && target/tools/cfn-venv/bin/pip install -q cfn-lint` \
             (tests/run.sh does this)"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    output.write_to(dir.path()).unwrap();
    let out = Command::new(&cfn_lint)
        .arg("--format")
        .arg("parseable")
        .arg("template.yaml")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim().is_empty(),
        "cfn-lint reported:\n{stdout}{stderr}"
    );
}

#[test]
fn every_fixture_placeholder_has_a_substitution() {
    let output = synthesized();
    let template = parse_template(&output);
    for (_, machine) in resources_of(&template, "AWS::Serverless::StateMachine") {
        let properties = &machine["Properties"];
        let text = &output.machines[properties["DefinitionUri"].as_str().unwrap()];
        let keys: BTreeSet<&str> = text
            .match_indices("${")
            .map(|(i, _)| {
                let rest = &text[i + 2..];
                &rest[..rest.find('}').unwrap()]
            })
            .collect();
        let substituted: BTreeSet<&str> = properties["DefinitionSubstitutions"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, substituted);
    }
}

#[test]
fn cfn_lint_finds_nothing() {
    assert_lint_clean(&synthesized());
}

#[test]
fn event_sinks_become_stack_resources() {
    let definition = r#"{
      "QueryLanguage": "JSONata",
      "StartAt": "queue",
      "States": {
        "queue": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                  "Arguments": {"QueueUrl": "${EventQueueUrl_orders_v1}", "MessageBody": {}}, "Next": "bus"},
        "bus": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                "Arguments": {"Entries": [{"EventBusName": "${EventBusArn_audit}", "Source": "s", "DetailType": "d", "Detail": {}},
                                          {"Source": "s", "DetailType": "d", "Detail": {}}]}, "End": true}
      }
    }"#;
    let mut workflow = single("notify", definition);
    workflow.options.execution_type = ExecutionType::Express;
    let output = synthesize(&[workflow], &SynthOptions::default()).unwrap();
    let template = parse_template(&output);
    let resources = &template["Resources"];
    assert_eq!(resources["EventQueueOrdersV1"]["Type"], "AWS::SQS::Queue");
    assert_eq!(resources["EventBusAudit"]["Type"], "AWS::Events::EventBus");
    let role = grants(&resources["NotifyStateMachineRole"]);
    let put: BTreeSet<&str> = role
        .iter()
        .filter(|(action, _)| action == "events:PutEvents")
        .map(|(_, resource)| resource.as_str())
        .collect();
    assert_eq!(
        put,
        BTreeSet::from([
            "${EventBusAudit.Arn}",
            "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default",
        ])
    );
    assert!(role.contains(&(
        "sqs:SendMessage".to_owned(),
        "${EventQueueOrdersV1.Arn}".to_owned()
    )));
    assert_lint_clean(&output);
}

#[test]
fn only_functions_that_exist_are_deployed() {
    let output = synthesized();
    let template = parse_template(&output);
    let functions = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions");
    let mut deployed = Vec::new();
    for (id, function) in resources_of(&template, "AWS::Serverless::Function") {
        let code = function["Properties"]["CodeUri"].as_str().unwrap();
        let dir = code.strip_prefix("../../functions/").unwrap();
        assert!(
            functions.join(dir).join("Cargo.toml").is_file(),
            "{id}: {code}"
        );
        deployed.push(dir);
    }
    assert_eq!(
        deployed,
        ["http-task", "script-task", "starter", "tracker", "api"]
    );

    let event_function = r#"{"QueryLanguage": "JSONata", "StartAt": "fn", "States": {"fn": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "${EventTaskFunctionArn}", "Payload": {}}, "End": true}}}"#;
    let err = synthesize(
        &[single("notify", event_function)],
        &SynthOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::FunctionNotDeployed { .. }), "{err}");
    assert_eq!(err.workflow(), Some("notify"));
}

/// `Fn::Sub` text with the pseudo parameters of a made-up stack filled in.
fn resolve_sub(value: &Value) -> String {
    let text = value["Fn::Sub"].as_str().or(value.as_str()).unwrap();
    text.replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", "eu-west-1")
        .replace("${AWS::AccountId}", "123456789012")
        .replace("${AWS::StackName}", "shop")
}

#[test]
fn starter_and_tracker_find_every_machine_and_the_table_the_template_creates() {
    use ocflow_control::deployment::{env, table};
    use ocflow_control::directory::{Directory, MachineKind, StateMachineResolver};

    let template = parse_template(&synthesized());
    let resources = &template["Resources"];
    for function in ["StarterFunction", "TrackerFunction", "ApiFunction"] {
        let variables = &resources[function]["Properties"]["Environment"]["Variables"];
        assert_eq!(variables[env::EXECUTIONS_TABLE]["Ref"], "ExecutionsTable");
        let var = |name: &str| {
            let value = variables.get(name)?;
            Some(resolve_sub(value))
        };
        let directory = Directory::from_env(var).unwrap();
        for (id, machine) in resources_of(&template, "AWS::Serverless::StateMachine") {
            let properties = &machine["Properties"];
            let name = resolve_sub(&properties["Name"]);
            let file = properties["DefinitionUri"].as_str().unwrap();
            let workflow = fixtures()
                .into_iter()
                .find(|w| file == format!("statemachines/{}.asl.json", w.name))
                .unwrap();
            let target = directory.resolve(&workflow.name, None).unwrap();
            assert_eq!(
                target.state_machine_arn,
                format!("arn:aws:states:eu-west-1:123456789012:stateMachine:{name}"),
                "{function} {id}"
            );
            let express = properties["Type"] == "EXPRESS";
            assert_eq!(target.kind == MachineKind::Express, express, "{id}");
            assert_eq!(
                directory.workflow_name(&target.state_machine_arn),
                Some(workflow.name.clone())
            );
        }
    }

    // The table has the keys and indexes the aws adapter reads and writes.
    let properties = &resources["ExecutionsTable"]["Properties"];
    assert_eq!(
        properties["KeySchema"][0]["AttributeName"],
        table::attr::WORKFLOW_ID
    );
    let indexes: Vec<&str> = properties["GlobalSecondaryIndexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["IndexName"].as_str().unwrap())
        .collect();
    assert_eq!(
        indexes,
        [
            "byWorkflow",
            "byStatus",
            "byTrackedStatus",
            "byCorrelationId"
        ]
    );
    assert_eq!(
        properties["TimeToLiveSpecification"]["AttributeName"],
        "expiresAt"
    );
}

#[test]
fn the_api_is_an_iam_protected_function_url_with_least_privilege() {
    use ocflow_control::deployment::env;

    let template = parse_template(&synthesized());
    let resources = &template["Resources"];
    let api = &resources["ApiFunction"]["Properties"];
    assert_eq!(api["FunctionUrlConfig"], json!({"AuthType": "AWS_IAM"}));
    assert_eq!(
        template["Outputs"]["ApiUrl"]["Value"],
        json!({"Fn::GetAtt": ["ApiFunctionUrl", "FunctionUrl"]})
    );
    let variables = &api["Environment"]["Variables"];
    assert_eq!(
        resolve_sub(&variables[env::WORKER_QUEUE_PREFIX]),
        "shop-worker-"
    );
    assert_eq!(
        variables[env::STATE_MACHINE_ROLE_ARN]["Fn::If"][0],
        "ApiRegistrationOn",
        "registering is off unless the parameter turns it on"
    );

    let worker_queues: Vec<String> = resources_of(&template, "AWS::SQS::Queue")
        .into_iter()
        .filter(|(id, _)| id.starts_with("WorkerQueue") && !id.ends_with("DeadLetters"))
        .map(|(id, _)| format!("${{{id}.Arn}}"))
        .collect();
    assert!(!worker_queues.is_empty());
    let executions = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${AWS::StackName}-*:*";
    let machines = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-*";
    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    let mut grant = |action: &str, resource: &str| {
        expected.insert((action.to_owned(), resource.to_owned()));
    };
    grant("logs:CreateLogStream", "${ApiFunctionLogGroup.Arn}");
    grant("logs:PutLogEvents", "${ApiFunctionLogGroup.Arn}");
    grant("states:StartExecution", machines);
    for action in [
        "states:DescribeExecution",
        "states:GetExecutionHistory",
        "states:StopExecution",
        "states:RedriveExecution",
    ] {
        grant(action, executions);
    }
    for action in [
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
    ] {
        grant(&format!("dynamodb:{action}"), "${ExecutionsTable.Arn}");
        grant(
            &format!("dynamodb:{action}"),
            "${ExecutionsTable.Arn}/index/*",
        );
    }
    for queue in &worker_queues {
        for action in [
            "GetQueueUrl",
            "ReceiveMessage",
            "DeleteMessage",
            "ChangeMessageVisibility",
            "GetQueueAttributes",
        ] {
            grant(&format!("sqs:{action}"), queue);
        }
    }
    for action in ["SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"] {
        grant(&format!("states:{action}"), "*");
    }
    // Only with ApiRegistration=true (a conditional policy):
    grant("states:CreateStateMachine", machines);
    grant("states:UpdateStateMachine", machines);
    grant("iam:PassRole", "${ApiStateMachineRole.Arn}");
    for action in ["xray:PutTraceSegments", "xray:PutTelemetryRecords"] {
        grant(action, "*");
    }
    assert_eq!(grants(&resources["ApiFunctionRole"]), expected);
    let registration = resources["ApiFunctionRole"]["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["Fn::If"][1]["PolicyName"] == "registration")
        .expect("a registration policy");
    assert_eq!(registration["Fn::If"][0], "ApiRegistrationOn");
    assert_eq!(
        resources["ApiStateMachineRole"]["Condition"],
        "ApiRegistrationOn"
    );
}
