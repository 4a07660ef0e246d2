//! The template `ocflow synth` writes for `workflows/`, deployed by hand on moto the way
//! CloudFormation would deploy it: its queues (with their dead-letter queues), the executions
//! table and the `order_approval` state machine with its `DefinitionSubstitutions` resolved.
//! One execution of `order_approval` then runs end to end, its worker tasks served from their
//! queues by `WorkerClient`; then the REST API, built from the environment the template gives
//! the API function, serves the same deployment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use ocflow_aws::service::{ApiSettings, AwsWorkflowService};
use tower::ServiceExt;

use ocflow_aws::{WorkerClient, aws_sdk_dynamodb, aws_sdk_sfn, aws_sdk_sqs, table};
use ocflow_control::worker::TaskResult;
use ocflow_protocol::placeholders;
use ocflow_synth::{SynthOptions, SynthOutput, SynthWorkflow, synthesize};
use ocflow_tests::moto::Moto;
use ocflow_tests::workspace_root;
use serde_json::{Map, Value, json};

/// The stack name CloudFormation would be given.
const STACK: &str = "ocflow-e2e";
/// Moto's region and account.
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
/// The workflow run end to end.
const WORKFLOW: &str = "order_approval";
/// How long the execution may take, worker round trips included.
const DEADLINE: Duration = Duration::from_secs(45);

/// The `workflow.json` files of `workflows/`, sorted.
fn workflow_files() -> Vec<PathBuf> {
    let dir = workspace_root().join("workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("workflows/ is readable")
        .flatten()
        .map(|entry| entry.path().join("workflow.json"))
        .filter(|file| file.is_file())
        .collect();
    files.sort();
    files
}

/// Every workflow of `workflows/` compiled (children once each), ready to synthesise.
fn synth_workflows(files: &[PathBuf]) -> Vec<SynthWorkflow> {
    let defs = workspace_root().join("workflows");
    let mut machines = BTreeMap::new();
    for file in files {
        let compiled = ocflow_tests::compile_file(file, Some(&defs));
        for child in compiled.children.values() {
            machines.insert(child.name.clone(), child.machine.clone());
        }
        machines.insert(compiled.name, compiled.machine);
    }
    machines
        .into_iter()
        .map(|(name, machine)| SynthWorkflow::new(name.as_str(), machine))
        .collect()
}

/// The task types of the `SIMPLE` (worker) tasks a Conductor definition holds, at any depth.
fn simple_task_types(definition: &Value, out: &mut BTreeSet<String>) {
    match definition {
        Value::Object(object) => {
            if object.get("type").and_then(Value::as_str) == Some("SIMPLE")
                && let Some(name) = object.get("name").and_then(Value::as_str)
            {
                out.insert(name.to_owned());
            }
            object.values().for_each(|v| simple_task_types(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| simple_task_types(v, out)),
        _ => {}
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} is unreadable: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The template's resources of one type, by logical id.
fn resources_of<'a>(template: &'a Value, kind: &str) -> BTreeMap<&'a str, &'a Value> {
    template["Resources"]
        .as_object()
        .expect("the template has Resources")
        .iter()
        .filter(|(_, resource)| resource["Type"] == kind)
        .map(|(id, resource)| (id.as_str(), resource))
        .collect()
}

/// What has been created so far, to resolve the template's intrinsic functions against:
/// `Ref` values and `Fn::GetAtt` attributes by logical id.
struct Deployed<'t> {
    template: &'t Value,
    refs: BTreeMap<String, String>,
    attributes: BTreeMap<(String, String), String>,
}

impl<'t> Deployed<'t> {
    fn new(template: &'t Value) -> Self {
        Deployed {
            template,
            refs: BTreeMap::new(),
            attributes: BTreeMap::new(),
        }
    }

    /// The value of `Ref: name`: a pseudo parameter, a created resource or a parameter's default.
    fn reference(&self, name: &str) -> Option<String> {
        match name {
            "AWS::StackName" => Some(STACK.to_owned()),
            "AWS::Region" => Some(REGION.to_owned()),
            "AWS::AccountId" => Some(ACCOUNT.to_owned()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            _ => self.refs.get(name).cloned().or_else(|| {
                match &self.template["Parameters"][name]["Default"] {
                    Value::String(text) => Some(text.clone()),
                    Value::Number(number) => Some(number.to_string()),
                    _ => None,
                }
            }),
        }
    }

    fn attribute(&self, id: &str, attribute: &str) -> Option<String> {
        self.attributes
            .get(&(id.to_owned(), attribute.to_owned()))
            .cloned()
    }

    /// Resolves a scalar property: text, a number, `Ref`, `Fn::GetAtt` or `Fn::Sub`; `None` when
    /// it names something not created (yet).
    fn resolve(&self, value: &Value) -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            Value::Object(object) if object.len() == 1 => {
                let (function, argument) = object.iter().next()?;
                match function.as_str() {
                    "Ref" => self.reference(argument.as_str()?),
                    "Fn::GetAtt" => {
                        let parts: Vec<&str> = argument
                            .as_array()?
                            .iter()
                            .filter_map(Value::as_str)
                            .collect();
                        match parts.as_slice() {
                            [id, attribute] => self.attribute(id, attribute),
                            _ => None,
                        }
                    }
                    "Fn::Sub" => match argument {
                        Value::String(text) => self.substitute(text, &Map::new()),
                        Value::Array(parts) => {
                            let text = parts.first()?.as_str()?;
                            let empty = Map::new();
                            let variables = parts.get(1).and_then(Value::as_object);
                            self.substitute(text, variables.unwrap_or(&empty))
                        }
                        _ => None,
                    },
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `Fn::Sub`: every `${Name}` / `${Id.Attribute}` replaced.
    fn substitute(&self, text: &str, variables: &Map<String, Value>) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}')? + start;
            let name = &rest[start + 2..end];
            let value = match variables.get(name) {
                Some(value) => self.resolve(value)?,
                None => match name.split_once('.') {
                    Some((id, attribute)) if !name.starts_with("AWS::") => {
                        self.attribute(id, attribute)?
                    }
                    _ => self.reference(name)?,
                },
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// SQS attribute text of a queue property (`RedrivePolicy` as its JSON text).
fn queue_attribute(deployed: &Deployed<'_>, name: &str, value: &Value) -> Option<String> {
    match value {
        Value::Object(policy) if name == "RedrivePolicy" => {
            let mut resolved = Map::new();
            for (key, value) in policy {
                let text = deployed.resolve(value)?;
                let value = text.parse::<u64>().map_or(Value::String(text), Value::from);
                resolved.insert(key.clone(), value);
            }
            Some(Value::Object(resolved).to_string())
        }
        _ => deployed.resolve(value),
    }
}

/// Creates every `AWS::SQS::Queue` of the template, each once the queues it names exist, and
/// records its `Ref` (URL) and `Arn` / `QueueUrl` / `QueueName` attributes.
async fn create_queues(sqs: &aws_sdk_sqs::Client, deployed: &mut Deployed<'_>) {
    let queues = resources_of(deployed.template, "AWS::SQS::Queue");
    assert!(!queues.is_empty(), "the template declares queues");
    let mut pending: Vec<(&str, &Value)> = queues.into_iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for (id, resource) in pending {
            let properties = resource["Properties"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let mut attributes = BTreeMap::new();
            let mut ready = true;
            for (name, value) in properties.iter().filter(|(n, _)| *n != "QueueName") {
                match queue_attribute(deployed, name, value) {
                    Some(text) => {
                        attributes.insert(name.clone(), text);
                    }
                    None => ready = false,
                }
            }
            if !ready {
                waiting.push((id, resource));
                continue;
            }
            // Without a QueueName, CloudFormation derives one from the stack and logical id.
            let name = match properties.get("QueueName") {
                Some(value) => deployed
                    .resolve(value)
                    .unwrap_or_else(|| panic!("{id}: QueueName {value} does not resolve")),
                None => format!("{STACK}-{id}"),
            };
            let mut request = sqs.create_queue().queue_name(&name);
            for (attribute, text) in &attributes {
                request = request.attributes(attribute.as_str().into(), text);
            }
            let url = request
                .send()
                .await
                .unwrap_or_else(|e| panic!("{id}: CreateQueue {name} failed: {e:?}"))
                .queue_url
                .expect("a queue URL");
            let arn = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send()
                .await
                .expect("queue attributes")
                .attributes
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                        .cloned()
                })
                .expect("a queue ARN");
            deployed.refs.insert(id.to_owned(), url.clone());
            for (attribute, value) in [("Arn", arn), ("QueueUrl", url), ("QueueName", name)] {
                deployed
                    .attributes
                    .insert((id.to_owned(), attribute.to_owned()), value);
            }
        }
        assert!(
            waiting.len() < before,
            "queues naming what never gets created: {:?}",
            waiting.iter().map(|(id, _)| *id).collect::<Vec<_>>()
        );
        pending = waiting;
    }
}

/// A key schema as `(attribute, HASH|RANGE)` pairs.
fn template_keys(schema: &Value) -> Vec<(String, String)> {
    schema
        .as_array()
        .expect("a KeySchema list")
        .iter()
        .map(|key| {
            (
                key["AttributeName"]
                    .as_str()
                    .expect("AttributeName")
                    .to_owned(),
                key["KeyType"].as_str().expect("KeyType").to_owned(),
            )
        })
        .collect()
}

fn created_keys(schema: &[aws_sdk_dynamodb::types::KeySchemaElement]) -> Vec<(String, String)> {
    schema
        .iter()
        .map(|key| {
            (
                key.attribute_name().to_owned(),
                key.key_type().as_str().to_owned(),
            )
        })
        .collect()
}

/// Creates the executions table with `ocflow_aws::table::create_table` and asserts that its
/// key, attributes, indexes and TTL are what the template declares.
async fn create_table(dynamodb: &aws_sdk_dynamodb::Client, deployed: &mut Deployed<'_>) {
    let tables = resources_of(deployed.template, "AWS::DynamoDB::Table");
    let [(id, resource)]: [(&str, &Value); 1] = tables
        .into_iter()
        .collect::<Vec<_>>()
        .try_into()
        .expect("the template declares one table");
    let properties = &resource["Properties"];
    let name = match properties.get("TableName") {
        Some(value) => deployed.resolve(value).expect("TableName resolves"),
        None => format!("{STACK}-{id}"),
    };
    table::create_table(dynamodb, &name)
        .await
        .expect("the executions table is created");
    let created = dynamodb
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .expect("DescribeTable")
        .table
        .expect("a table description");

    assert_eq!(
        created_keys(created.key_schema()),
        template_keys(&properties["KeySchema"]),
        "table key"
    );
    let template_attributes: BTreeSet<(String, String)> = properties["AttributeDefinitions"]
        .as_array()
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| {
            (
                a["AttributeName"]
                    .as_str()
                    .expect("AttributeName")
                    .to_owned(),
                a["AttributeType"]
                    .as_str()
                    .expect("AttributeType")
                    .to_owned(),
            )
        })
        .collect();
    let created_attributes: BTreeSet<(String, String)> = created
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        created_attributes, template_attributes,
        "attribute definitions"
    );

    let template_indexes: BTreeMap<String, (Vec<(String, String)>, String)> =
        properties["GlobalSecondaryIndexes"]
            .as_array()
            .expect("GlobalSecondaryIndexes")
            .iter()
            .map(|index| {
                (
                    index["IndexName"].as_str().expect("IndexName").to_owned(),
                    (
                        template_keys(&index["KeySchema"]),
                        index["Projection"]["ProjectionType"]
                            .as_str()
                            .expect("ProjectionType")
                            .to_owned(),
                    ),
                )
            })
            .collect();
    let created_indexes: BTreeMap<String, (Vec<(String, String)>, String)> = created
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            (
                index.index_name().unwrap_or_default().to_owned(),
                (
                    created_keys(index.key_schema()),
                    index
                        .projection()
                        .and_then(|p| p.projection_type())
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                ),
            )
        })
        .collect();
    assert_eq!(
        created_indexes, template_indexes,
        "global secondary indexes"
    );

    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .expect("DescribeTimeToLive")
        .time_to_live_description
        .expect("a TTL description");
    assert_eq!(
        ttl.attribute_name(),
        properties["TimeToLiveSpecification"]["AttributeName"].as_str(),
        "TTL attribute"
    );

    deployed.refs.insert(id.to_owned(), name.clone());
    if let Some(arn) = created.table_arn() {
        deployed
            .attributes
            .insert((id.to_owned(), "Arn".to_owned()), arn.to_owned());
    }
}

/// The template's state machine deploying `workflow` (found by its definition file).
fn machine_resource<'a>(
    template: &'a Value,
    output: &SynthOutput,
    workflow: &str,
) -> (&'a str, &'a Value) {
    let file = format!("statemachines/{workflow}.asl.json");
    assert!(output.machines.contains_key(&file), "{file} is synthesised");
    resources_of(template, "AWS::Serverless::StateMachine")
        .into_iter()
        .find(|(_, resource)| resource["Properties"]["DefinitionUri"] == file.as_str())
        .unwrap_or_else(|| panic!("no state machine deploys {file}"))
}

/// Creates the state machine of `id` as SAM would: its definition file with every
/// `DefinitionSubstitutions` value resolved, its name and type as the template states.
async fn create_state_machine(
    sfn: &aws_sdk_sfn::Client,
    deployed: &mut Deployed<'_>,
    output: &SynthOutput,
    id: &str,
    resource: &Value,
) -> String {
    let properties = &resource["Properties"];
    let file = properties["DefinitionUri"].as_str().expect("DefinitionUri");
    let mut definition = output.machines[file].clone();
    let substitutions = properties["DefinitionSubstitutions"]
        .as_object()
        .expect("DefinitionSubstitutions");
    for (key, value) in substitutions {
        let resolved = deployed
            .resolve(value)
            .unwrap_or_else(|| panic!("{id}: substitution {key} = {value} does not resolve"));
        let placeholder = format!("${{{key}}}");
        assert!(
            definition.contains(&placeholder),
            "{file} uses {placeholder}"
        );
        definition = definition.replace(&placeholder, &resolved);
    }
    assert!(
        !definition.contains("${"),
        "{file} keeps a placeholder no substitution fills"
    );
    let name = deployed
        .resolve(&properties["Name"])
        .expect("the machine's Name resolves");
    let kind = properties["Type"].as_str().unwrap_or("STANDARD");
    let arn = sfn
        .create_state_machine()
        .name(&name)
        .definition(definition)
        .r#type(kind.into())
        // Moto does not check roles; the template's role is not deployed here.
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/{STACK}-{id}Role"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{id}: CreateStateMachine failed: {e:?}"))
        .state_machine_arn;
    deployed.refs.insert(id.to_owned(), arn.clone());
    deployed
        .attributes
        .insert((id.to_owned(), "Name".to_owned()), name);
    arn
}

/// What the worker of each task type answers for a task of `order_approval`.
fn worker_output(task: &Value) -> Value {
    let order = task["inputData"]["orderId"].clone();
    match task["taskType"].as_str() {
        Some("review_order") => json!({"decision": "APPROVED", "reviewer": "alice"}),
        Some("pack_order") => json!({"parcelId": format!("PCL-{}", order.as_str().unwrap_or(""))}),
        other => panic!("no worker for task type {other:?}"),
    }
}

/// `workflows/` synthesised, and a moto server with the clients a deployment uses.
struct Stack {
    output: SynthOutput,
    template: Value,
    config: ocflow_aws::aws_config::SdkConfig,
    sqs: aws_sdk_sqs::Client,
    sfn: aws_sdk_sfn::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    /// Kept alive while the test runs.
    _moto: Moto,
}

impl Stack {
    async fn synthesise_on_moto() -> Stack {
        let files = workflow_files();
        let output = synthesize(&synth_workflows(&files), &SynthOptions::default())
            .expect("workflows/ synthesises");
        let template: Value =
            serde_norway::from_str(&output.template).expect("the template is YAML");
        let moto = Moto::start().expect("moto starts");
        let config = moto.sdk_config().await;
        Stack {
            sqs: aws_sdk_sqs::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            output,
            template,
            config,
            _moto: moto,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_synthesized_template_deploys_on_moto_and_runs_order_approval_with_workers() {
    let Stack {
        output,
        template,
        sqs,
        sfn,
        dynamodb,
        _moto,
        ..
    } = Stack::synthesise_on_moto().await;

    let mut deployed = Deployed::new(&template);
    create_queues(&sqs, &mut deployed).await;
    create_table(&dynamodb, &mut deployed).await;

    // Every redrive policy points at a queue that was created, by ARN.
    for (id, resource) in resources_of(&template, "AWS::SQS::Queue") {
        let Some(policy) = resource["Properties"].get("RedrivePolicy") else {
            continue;
        };
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&deployed.refs[id])
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .unwrap_or_default();
        let created: Value = attributes
            .get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .map(|text| serde_json::from_str(text).expect("a JSON redrive policy"))
            .unwrap_or_else(|| panic!("{id} was created without its redrive policy"));
        assert_eq!(
            created["deadLetterTargetArn"].as_str(),
            deployed.resolve(&policy["deadLetterTargetArn"]).as_deref(),
            "{id}: dead-letter queue"
        );
    }

    let (machine_id, machine) = machine_resource(&template, &output, WORKFLOW);
    let machine_arn = create_state_machine(&sfn, &mut deployed, &output, machine_id, machine).await;

    // The worker queues the machine dispatches to, by task type, as its substitutions say.
    let definition = read_json(&workspace_root().join("workflows/order-approval/workflow.json"));
    assert_eq!(definition["name"], WORKFLOW);
    let mut task_types = BTreeSet::new();
    simple_task_types(&definition, &mut task_types);
    let substitutions = machine["Properties"]["DefinitionSubstitutions"]
        .as_object()
        .expect("DefinitionSubstitutions");
    let workers: BTreeMap<String, WorkerClient> = task_types
        .iter()
        .map(|task_type| {
            let placeholder = placeholders::worker_queue_url(task_type);
            let key = placeholders::key(&placeholder).expect("a placeholder key");
            let url = substitutions
                .get(key)
                .and_then(|value| deployed.resolve(value))
                .unwrap_or_else(|| panic!("no worker queue substitution for {task_type}"));
            let worker = WorkerClient::new(sqs.clone(), sfn.clone(), url);
            (task_type.clone(), worker)
        })
        .collect();

    let input =
        std::fs::read_to_string(workspace_root().join("workflows/order-approval/input.json"))
            .expect("input.json");
    let execution_arn = sfn
        .start_execution()
        .state_machine_arn(&machine_arn)
        .name("order-42")
        .input(input.trim())
        .send()
        .await
        .expect("StartExecution")
        .execution_arn;

    let started = Instant::now();
    let mut served: Vec<(String, Value)> = Vec::new();
    let description = loop {
        assert!(
            started.elapsed() < DEADLINE,
            "the execution did not finish in {DEADLINE:?}; served {served:?}"
        );
        for (task_type, worker) in &workers {
            for task in worker
                .poll(10, Duration::from_millis(500), Some("e2e-worker"))
                .await
                .expect("poll")
            {
                assert_eq!(
                    task.task["taskType"],
                    task_type.as_str(),
                    "task on the {task_type} queue"
                );
                served.push((task_type.clone(), task.task["inputData"].clone()));
                let result: TaskResult = serde_json::from_value(json!({
                    "status": "COMPLETED",
                    "outputData": worker_output(&task.task),
                }))
                .expect("a task result");
                worker
                    .update(&task, &result)
                    .await
                    .expect("the answer is accepted");
            }
        }
        let description = sfn
            .describe_execution()
            .execution_arn(&execution_arn)
            .send()
            .await
            .expect("DescribeExecution");
        if description.status().as_str() != "RUNNING" {
            break description;
        }
    };

    assert_eq!(
        description.status().as_str(),
        "SUCCEEDED",
        "error {:?}, cause {:?}",
        description.error(),
        description.cause()
    );
    let result: Value =
        serde_json::from_str(description.output().expect("an output")).expect("JSON output");
    assert_eq!(
        result,
        json!({"orderId": "ORD-42", "decision": "APPROVED", "reviewer": "alice", "parcelId": "PCL-ORD-42"})
    );
    assert_eq!(
        served,
        [
            (
                "review_order".to_owned(),
                json!({"orderId": "ORD-42", "amount": 120})
            ),
            ("pack_order".to_owned(), json!({"orderId": "ORD-42"})),
        ],
        "each worker task was dispatched once, to its own queue, with its inputParameters"
    );
}

/// The `Ref`/`Fn::GetAtt` target of a substitution value, when it names a resource.
fn referenced_id(value: &Value) -> Option<&str> {
    value
        .get("Ref")
        .and_then(Value::as_str)
        .or_else(|| value.get("Fn::GetAtt")?.get(0)?.as_str())
}

/// The worker-queue substitutions of every machine of a template: placeholder key → queue id.
fn worker_queue_substitutions(
    template: &Value,
    task_types: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let keys: BTreeMap<String, &String> = task_types
        .iter()
        .map(|t| {
            let placeholder = placeholders::worker_queue_url(t);
            let key = placeholders::key(&placeholder)
                .expect("a placeholder key")
                .to_owned();
            (key, t)
        })
        .collect();
    let mut out = BTreeMap::new();
    for resource in resources_of(template, "AWS::Serverless::StateMachine").values() {
        let Some(substitutions) = resource["Properties"]["DefinitionSubstitutions"].as_object()
        else {
            continue;
        };
        for (key, value) in substitutions {
            if keys.contains_key(key) {
                let id = referenced_id(value).unwrap_or_else(|| panic!("{key} names no resource"));
                out.insert(key.clone(), id.to_owned());
            }
        }
    }
    out
}

#[test]
fn the_template_has_a_worker_queue_for_exactly_the_task_types_the_machines_use() {
    let files = workflow_files();
    let mut task_types = BTreeSet::new();
    for file in &files {
        simple_task_types(&read_json(file), &mut task_types);
    }
    assert!(!task_types.is_empty(), "workflows/ has worker tasks");
    let output = synthesize(&synth_workflows(&files), &SynthOptions::default())
        .expect("workflows/ synthesises");
    let template: Value = serde_norway::from_str(&output.template).expect("the template is YAML");

    // Each used task type is substituted with its own queue.
    let substituted = worker_queue_substitutions(&template, &task_types);
    let expected_keys: BTreeSet<String> = task_types
        .iter()
        .map(|t| {
            let placeholder = placeholders::worker_queue_url(t);
            placeholders::key(&placeholder)
                .expect("a placeholder key")
                .to_owned()
        })
        .collect();
    assert_eq!(
        substituted.keys().cloned().collect::<BTreeSet<_>>(),
        expected_keys
    );
    let queues = resources_of(&template, "AWS::SQS::Queue");
    let worker_queues: BTreeSet<&str> = substituted.values().map(String::as_str).collect();
    assert_eq!(
        worker_queues.len(),
        task_types.len(),
        "one queue per task type"
    );
    for id in &worker_queues {
        assert!(queues.contains_key(id), "{id} is a queue of the template");
    }

    // Every other queue is a worker queue's dead-letter queue or one every deployment has: the
    // queues of a template for a workflow without worker tasks.
    let dead_letters: BTreeSet<&str> = worker_queues
        .iter()
        .filter_map(|id| {
            queues[id]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
                .get("Fn::GetAtt")?
                .get(0)?
                .as_str()
        })
        .collect();
    assert_eq!(
        dead_letters.len(),
        worker_queues.len(),
        "each worker queue has its dead-letter queue"
    );
    let workerless = files
        .iter()
        .find_map(|file| {
            let mut types = BTreeSet::new();
            simple_task_types(&read_json(file), &mut types);
            if !types.is_empty() {
                return None;
            }
            let alone = synthesize(
                &synth_workflows(std::slice::from_ref(file)),
                &SynthOptions::default(),
            )
            .ok()?;
            serde_norway::from_str::<Value>(&alone.template).ok()
        })
        .expect("a workflow without worker tasks synthesises alone");
    let shared: BTreeSet<&str> = resources_of(&workerless, "AWS::SQS::Queue")
        .into_keys()
        .collect();
    assert!(
        shared
            .iter()
            .all(|id| !worker_queues.contains(id) && !dead_letters.contains(id)),
        "a template without worker tasks has no worker queue: {shared:?}"
    );
    let mut accounted: BTreeSet<&str> = shared;
    accounted.extend(&worker_queues);
    accounted.extend(&dead_letters);
    assert_eq!(
        queues.keys().copied().collect::<BTreeSet<_>>(),
        accounted,
        "no queue for a task type no machine uses"
    );

    // The order_approval machine is given exactly the queues of its own task types.
    let (_, machine) = machine_resource(&template, &output, WORKFLOW);
    let mut own = BTreeSet::new();
    simple_task_types(
        &read_json(&workspace_root().join("workflows/order-approval/workflow.json")),
        &mut own,
    );
    let machine_keys: BTreeSet<String> = machine["Properties"]["DefinitionSubstitutions"]
        .as_object()
        .expect("DefinitionSubstitutions")
        .keys()
        .filter(|key| expected_keys.contains(*key))
        .cloned()
        .collect();
    let own_keys: BTreeSet<String> = own
        .iter()
        .map(|t| {
            let placeholder = placeholders::worker_queue_url(t);
            placeholders::key(&placeholder)
                .expect("a placeholder key")
                .to_owned()
        })
        .collect();
    assert_eq!(machine_keys, own_keys);
}

impl Deployed<'_> {
    /// A condition of the template at the parameters in force (`Fn::Equals`, `Fn::Not`).
    fn condition(&self, value: &Value) -> bool {
        let object = value.as_object().expect("a condition is an object");
        if let Some(name) = object.get("Condition").and_then(Value::as_str) {
            return self.condition(&self.template["Conditions"][name]);
        }
        if let Some(arguments) = object.get("Fn::Equals").and_then(Value::as_array) {
            let [left, right] = arguments.as_slice() else {
                panic!("Fn::Equals takes two arguments: {value}");
            };
            return self.resolve(left) == self.resolve(right);
        }
        if let Some(arguments) = object.get("Fn::Not").and_then(Value::as_array) {
            return !self.condition(&arguments[0]);
        }
        panic!("unsupported condition {value}");
    }

    /// A function's environment as Lambda would see it: `Fn::If` decided by its condition,
    /// `AWS::NoValue` leaving the variable out; a value that does not resolve fails the test.
    fn environment(&self, function: &str) -> BTreeMap<String, String> {
        let variables =
            self.template["Resources"][function]["Properties"]["Environment"]["Variables"]
                .as_object()
                .unwrap_or_else(|| panic!("{function} has no environment"));
        let mut environment = BTreeMap::new();
        for (name, value) in variables {
            let mut value = value;
            if let Some([condition, then, otherwise]) = value
                .get("Fn::If")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
            {
                let condition = condition.as_str().expect("a condition name");
                value = if self.condition(&self.template["Conditions"][condition]) {
                    then
                } else {
                    otherwise
                };
            }
            if value == &json!({"Ref": "AWS::NoValue"}) {
                continue;
            }
            let resolved = self
                .resolve(value)
                .unwrap_or_else(|| panic!("{function}: {name} = {value} does not resolve"));
            environment.insert(name.clone(), resolved);
        }
        environment
    }
}

/// The REST API service as the API function builds it from the environment the template gives it.
fn api_router(
    config: &ocflow_aws::aws_config::SdkConfig,
    environment: &BTreeMap<String, String>,
) -> Router {
    let settings = ApiSettings::from_env(|name| environment.get(name).cloned())
        .unwrap_or_else(|e| panic!("the API function's environment is refused: {e}"));
    ocflow_api::router(Arc::new(AwsWorkflowService::new(config, settings)))
}

/// One request through the router: the status and the body as JSON (`null` when empty).
async fn call(app: &Router, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("a request");
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    let text = String::from_utf8_lossy(&bytes);
    let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()));
    (status, body)
}

/// Answers the worker tasks of `task_types` through the REST API until `id` ends; its record.
async fn run_with_api_workers(app: &Router, id: &str, task_types: &[&str]) -> Value {
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < DEADLINE,
            "{id} did not finish in {DEADLINE:?}"
        );
        for task_type in task_types {
            let uri = format!("/api/tasks/poll/batch/{task_type}?workerid=e2e&count=5&timeout=200");
            let (status, tasks) = call(app, Method::GET, &uri, None).await;
            assert_eq!(status, StatusCode::OK, "GET {uri}: {tasks}");
            for task in tasks.as_array().into_iter().flatten() {
                let result = json!({
                    "workflowInstanceId": task["workflowInstanceId"],
                    "taskId": task["taskId"],
                    "status": "COMPLETED",
                    "outputData": worker_output(task),
                });
                let (status, body) = call(app, Method::POST, "/api/tasks", Some(result)).await;
                assert_eq!(status, StatusCode::OK, "POST /api/tasks: {body}");
            }
        }
        let (status, workflow) = call(
            app,
            Method::GET,
            &format!("/api/workflow/{id}?includeTasks=true"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "GET /api/workflow/{id}: {workflow}");
        if workflow["status"] != "RUNNING" {
            return workflow;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_function_serves_the_deployed_stack_from_the_environment_the_template_gives_it() {
    let Stack {
        output,
        template,
        config,
        sqs,
        sfn,
        dynamodb,
        _moto,
    } = Stack::synthesise_on_moto().await;

    let mut deployed = Deployed::new(&template);
    create_queues(&sqs, &mut deployed).await;
    create_table(&dynamodb, &mut deployed).await;
    let (machine_id, machine) = machine_resource(&template, &output, WORKFLOW);
    create_state_machine(&sfn, &mut deployed, &output, machine_id, machine).await;
    for (id, _) in resources_of(&template, "AWS::Serverless::Function") {
        let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-{id}");
        deployed
            .attributes
            .insert((id.to_owned(), "Arn".to_owned()), arn);
    }

    // With the template's defaults, the API serves the deployed machines and registers nothing.
    let environment = deployed.environment("ApiFunction");
    assert!(
        !environment.contains_key("OCFLOW_STATE_MACHINE_ROLE_ARN"),
        "registration is off by default: {environment:?}"
    );
    let app = api_router(&config, &environment);
    let input: Value = read_json(&workspace_root().join("workflows/order-approval/input.json"));
    let start = json!({"name": WORKFLOW, "input": input, "correlationId": "order-42", "idempotencyKey": "order-42", "idempotencyStrategy": "RETURN_EXISTING"});
    let (status, id) = call(&app, Method::POST, "/api/workflow", Some(start.clone())).await;
    assert_eq!(status, StatusCode::OK, "start: {id}");
    let id = id
        .as_str()
        .expect("the start answers the workflow id")
        .to_owned();
    let (_, again) = call(&app, Method::POST, "/api/workflow", Some(start)).await;
    assert_eq!(
        again,
        json!(id),
        "the same idempotency key returns the existing workflow"
    );

    let workflow = run_with_api_workers(&app, &id, &["review_order", "pack_order"]).await;
    assert_eq!(workflow["status"], "COMPLETED", "{workflow}");
    assert_eq!(
        workflow["output"],
        json!({"orderId": "ORD-42", "decision": "APPROVED", "reviewer": "alice", "parcelId": "PCL-ORD-42"})
    );
    let (status, found) = call(
        &app,
        Method::GET,
        &format!("/api/workflow/{WORKFLOW}/correlated/order-42?includeClosed=true"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "correlated: {found}");
    let found: Vec<&Value> = found.as_array().into_iter().flatten().collect();
    assert_eq!(
        found.len(),
        1,
        "one workflow for correlation id order-42: {found:?}"
    );
    assert_eq!(found[0]["workflowId"], json!(id));

    let small = json!({
        "name": "stamp", "version": 1, "schemaVersion": 2,
        "tasks": [{"name": "stamp", "taskReferenceName": "stamp_ref", "type": "SET_VARIABLE",
                   "inputParameters": {"at": "${workflow.input.at}"}}],
        "outputParameters": {"at": "${workflow.variables.at}"}
    });
    let (status, refused) = call(
        &app,
        Method::POST,
        "/api/metadata/workflow",
        Some(small.clone()),
    )
    .await;
    assert!(
        status.is_client_error(),
        "registering is refused while ApiRegistration is off: {status} {refused}"
    );

    // With ApiRegistration on, the same function registers a workflow and runs it.
    deployed
        .refs
        .insert("ApiRegistration".into(), "true".into());
    let role = format!("arn:aws:iam::{ACCOUNT}:role/{STACK}-ApiStateMachineRole");
    deployed
        .attributes
        .insert(("ApiStateMachineRole".into(), "Arn".into()), role.clone());
    let environment = deployed.environment("ApiFunction");
    assert_eq!(
        environment.get("OCFLOW_STATE_MACHINE_ROLE_ARN"),
        Some(&role)
    );
    let app = api_router(&config, &environment);
    let (status, body) = call(&app, Method::POST, "/api/metadata/workflow", Some(small)).await;
    assert!(status.is_success(), "register: {status} {body}");
    let (status, id) = call(
        &app,
        Method::POST,
        "/api/workflow/stamp",
        Some(json!({"at": "2026-11-27"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "start stamp: {id}");
    let id = id.as_str().expect("a workflow id");
    let workflow = run_with_api_workers(&app, id, &[]).await;
    assert_eq!(workflow["status"], "COMPLETED", "{workflow}");
    assert_eq!(workflow["output"], json!({"at": "2026-11-27"}));
}
