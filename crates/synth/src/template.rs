//! The SAM template, built as a JSON value (key order is the template's order) and written as
//! YAML. Intrinsics use their long form (`Fn::GetAtt`, `Ref`, `Fn::Sub`), which YAML and JSON
//! tooling read without custom tags.

use std::collections::BTreeMap;

use ocflow_asl::ExecutionType;
use serde_json::{Map, Value, json};

use crate::SynthOptions;
use crate::names::{self, LogicalIds};
use crate::usage::{DEFAULT_BUS, Function, Placeholder, Queue, Usage};
use ocflow_control::deployment::{self, env, table as schema};

/// One workflow as the template sees it.
pub(crate) struct Planned<'a> {
    /// The Conductor name.
    pub name: &'a str,
    /// The sanitised name (`A-Z a-z 0-9 _`): file stem and placeholder suffix.
    pub machine: String,
    /// Logical id stem (`OrderFulfillment`).
    pub id: String,
    /// Standard or Express.
    pub execution_type: ExecutionType,
    /// What it uses.
    pub usage: Usage,
}

/// Everything the template holds, derived from the workflows.
pub(crate) struct Plan<'a> {
    pub workflows: Vec<Planned<'a>>,
    pub worker_queues: BTreeMap<String, String>,
    pub event_queues: BTreeMap<String, String>,
    pub event_topics: BTreeMap<String, String>,
    pub event_buses: BTreeMap<String, String>,
    pub functions: Vec<Function>,
    /// Sanitised name → the state machine name part (`ocflow_control::deployment`).
    pub machine_names: BTreeMap<String, String>,
}

impl<'a> Plan<'a> {
    pub fn new(
        workflows: Vec<Planned<'a>>,
        ids: &mut LogicalIds,
    ) -> Result<Plan<'a>, crate::Error> {
        let mut plan = Plan {
            workflows: Vec::new(),
            worker_queues: BTreeMap::new(),
            event_queues: BTreeMap::new(),
            event_topics: BTreeMap::new(),
            event_buses: BTreeMap::new(),
            functions: Function::SHARED.to_vec(),
            machine_names: workflows
                .iter()
                .map(|w| (w.machine.clone(), deployment::machine_name_part(w.name)))
                .collect(),
        };
        for workflow in &workflows {
            for placeholder in &workflow.usage.placeholders {
                match placeholder {
                    Placeholder::WorkerQueue(name) => {
                        let id = ids.claim("WorkerQueue", name, "")?;
                        plan.worker_queues.insert(name.clone(), id);
                    }
                    Placeholder::EventQueue(name) => {
                        let id = ids.claim("EventQueue", name, "")?;
                        plan.event_queues.insert(name.clone(), id);
                    }
                    Placeholder::EventTopic(name) => {
                        let id = ids.claim("EventTopic", name, "")?;
                        plan.event_topics.insert(name.clone(), id);
                    }
                    Placeholder::EventBus(name) if name != DEFAULT_BUS => {
                        let id = ids.claim("EventBus", name, "")?;
                        plan.event_buses.insert(name.clone(), id);
                    }
                    _ => {}
                }
            }
        }
        plan.workflows = workflows;
        Ok(plan)
    }

    /// The `Fn::Sub` text of the name of the machine of sanitised workflow name `machine`.
    fn machine_name(&self, machine: &str) -> String {
        names::state_machine_name(
            self.machine_names
                .get(machine)
                .map_or(machine, String::as_str),
        )
    }

    /// The `Fn::Sub` text of the ARN of the machine of sanitised workflow name `machine`.
    fn machine_arn(&self, machine: &str) -> String {
        let part = self
            .machine_names
            .get(machine)
            .map_or(machine, String::as_str);
        format!("{}{part}", names::STATE_MACHINE_ARN_PREFIX)
    }
}

/// Template parameters, by logical name.
mod param {
    pub const ENVIRONMENT: &str = "EnvironmentName";
    pub const REGISTRY: &str = "ServiceRegistry";
    pub const LOG_RETENTION: &str = "LogRetentionDays";
    pub const SFN_LOG_LEVEL: &str = "StateMachineLogLevel";
    pub const SFN_LOG_DATA: &str = "StateMachineLogExecutionData";
    pub const TRACING: &str = "Tracing";
    pub const API_REGISTRATION: &str = "ApiRegistration";
}

/// Template conditions, by logical name.
mod cond {
    pub const SFN_LOGGING: &str = "StateMachineLoggingOn";
    pub const SFN_LOG_DATA: &str = "StateMachineLogExecutionDataOn";
    pub const TRACING: &str = "TracingOn";
    pub const REGISTRY: &str = "ServiceRegistrySet";
    pub const API_REGISTRATION: &str = "ApiRegistrationOn";
}

const TABLE: &str = "ExecutionsTable";
/// The variable the http-task function reads the service registry JSON from.
const REGISTRY_VARIABLE: &str = "OCFLOW_REGISTRY";
const START_QUEUE: &str = "StartQueue";
const START_DLQ: &str = "StartDeadLetterQueue";
const EXTERNAL_QUEUE: &str = "ExternalTaskQueue";
const STATUS_RULE: &str = "ExecutionStatusRule";
const RECONCILE_RULE: &str = "ReconcileScheduleRule";
/// The role of state machines the API function registers (only with `ApiRegistration`).
const API_MACHINE_ROLE: &str = "ApiStateMachineRole";
/// Receives after which a start or worker message goes to its dead-letter queue.
const MAX_RECEIVE_COUNT: u32 = 5;
/// Fourteen days, SQS's longest retention, for dead letters.
const DLQ_RETENTION_SECONDS: u32 = 1_209_600;
/// Seconds each function may run.
const FUNCTION_TIMEOUT: u32 = 30;

fn r(id: &str) -> Value {
    json!({ "Ref": id })
}

fn get_att(id: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [id, attribute] })
}

fn sub(text: impl Into<String>) -> Value {
    json!({ "Fn::Sub": text.into() })
}

fn if_(condition: &str, then: Value, otherwise: Value) -> Value {
    json!({ "Fn::If": [condition, then, otherwise] })
}

fn no_value() -> Value {
    r("AWS::NoValue")
}

fn allow(actions: &[&str], resources: Vec<Value>) -> Value {
    json!({ "Effect": "Allow", "Action": actions, "Resource": resources })
}

fn policy(name: &str, statements: Vec<Value>) -> Value {
    json!({
        "PolicyName": name,
        "PolicyDocument": { "Version": "2012-10-17", "Statement": statements },
    })
}

fn role(service: &str, policies: Vec<Value>, source_account: bool) -> Value {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": { "Service": service },
        "Action": "sts:AssumeRole",
    });
    if source_account {
        // Confused-deputy guard: only this account's machines may assume the role.
        statement["Condition"] =
            json!({ "StringEquals": { "aws:SourceAccount": r("AWS::AccountId") } });
    }
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": { "Version": "2012-10-17", "Statement": [statement] },
            "Policies": policies,
        },
    })
}

/// X-Ray segment upload; these actions support no resource-level permissions, so AWS requires
/// `"*"`.
fn xray_policy(sampling: bool) -> Value {
    let mut actions = vec!["xray:PutTraceSegments", "xray:PutTelemetryRecords"];
    if sampling {
        actions.extend(["xray:GetSamplingRules", "xray:GetSamplingTargets"]);
    }
    if_(
        cond::TRACING,
        policy("xray", vec![allow(&actions, vec![json!("*")])]),
        no_value(),
    )
}

fn log_group(retention: bool) -> Value {
    let mut properties = Map::new();
    if retention {
        properties.insert("RetentionInDays".into(), r(param::LOG_RETENTION));
    }
    json!({ "Type": "AWS::Logs::LogGroup", "Properties": properties })
}

fn queue(name: Option<String>, visibility: u32, dead_letters: Option<&str>) -> Value {
    let mut properties = Map::new();
    if let Some(name) = name {
        properties.insert("QueueName".into(), sub(name));
    }
    properties.insert("VisibilityTimeout".into(), json!(visibility));
    properties.insert("SqsManagedSseEnabled".into(), json!(true));
    if let Some(dlq) = dead_letters {
        properties.insert(
            "RedrivePolicy".into(),
            json!({ "deadLetterTargetArn": get_att(dlq, "Arn"), "maxReceiveCount": MAX_RECEIVE_COUNT }),
        );
    }
    json!({ "Type": "AWS::SQS::Queue", "Properties": properties })
}

fn dead_letter_queue(name: Option<String>) -> Value {
    let mut properties = Map::new();
    if let Some(name) = name {
        properties.insert("QueueName".into(), sub(name));
    }
    properties.insert(
        "MessageRetentionPeriod".into(),
        json!(DLQ_RETENTION_SECONDS),
    );
    properties.insert("SqsManagedSseEnabled".into(), json!(true));
    json!({ "Type": "AWS::SQS::Queue", "Properties": properties })
}

/// Builds the whole template.
pub(crate) fn build(plan: &Plan<'_>, options: &SynthOptions) -> Value {
    let mut resources = Map::new();
    shared_resources(plan, &mut resources);
    for function in &plan.functions {
        function_resources(plan, *function, options, &mut resources);
    }
    tracker_triggers(&mut resources, options);
    resources.insert(API_MACHINE_ROLE.into(), api_machine_role(plan));
    for workflow in &plan.workflows {
        workflow_resources(plan, workflow, &mut resources);
    }

    let names: Vec<&str> = plan.workflows.iter().map(|w| w.name).collect();
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": format!("ocflow: Conductor workflows on AWS Step Functions ({})", names.join(", ")),
        "Parameters": parameters(),
        "Conditions": conditions(),
        "Globals": {
            "Function": {
                "Runtime": "provided.al2023",
                "Architectures": ["arm64"],
                "Handler": "bootstrap",
                "MemorySize": 256,
                "Timeout": FUNCTION_TIMEOUT,
                "Tracing": if_(cond::TRACING, json!("Active"), json!("PassThrough")),
            },
        },
        "Resources": resources,
        "Outputs": outputs(plan),
    })
}

fn parameters() -> Value {
    json!({
        param::ENVIRONMENT: {
            "Type": "String",
            "Default": "dev",
            "AllowedPattern": "^[a-z0-9-]{1,32}$",
            "Description": "Environment name (dev, staging, prod, ...), given to every function as OCFLOW_ENVIRONMENT.",
        },
        param::REGISTRY: {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^$|^/[A-Za-z0-9_./-]+$",
            "Description": "SSM parameter (String, /ocflow/registry) holding the OCF service registry JSON, given to the http-task function as OCFLOW_REGISTRY at deploy time; empty for none.",
        },
        param::LOG_RETENTION: {
            "Type": "Number",
            "Default": 30,
            "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
            "Description": "Days every log group keeps its events.",
        },
        param::SFN_LOG_LEVEL: {
            "Type": "String",
            "Default": "ERROR",
            "AllowedValues": ["ALL", "ERROR", "FATAL", "OFF"],
            "Description": "State machine execution logging; OFF creates no state machine log groups.",
        },
        param::SFN_LOG_DATA: {
            "Type": "String",
            "Default": "false",
            "AllowedValues": ["true", "false"],
            "Description": "Whether state machine logs include execution input, output and variables.",
        },
        param::TRACING: {
            "Type": "String",
            "Default": "false",
            "AllowedValues": ["true", "false"],
            "Description": "X-Ray tracing of state machines and functions.",
        },
        param::API_REGISTRATION: {
            "Type": "String",
            "Default": "false",
            "AllowedValues": ["true", "false"],
            "Description": "Whether the API function may register workflows (POST /api/metadata/workflow creates and updates state machines, which run with ApiStateMachineRole).",
        },
    })
}

fn conditions() -> Value {
    let equals = |parameter: &str, value: &str| json!({ "Fn::Equals": [r(parameter), value] });
    json!({
        cond::SFN_LOGGING: { "Fn::Not": [equals(param::SFN_LOG_LEVEL, "OFF")] },
        cond::SFN_LOG_DATA: equals(param::SFN_LOG_DATA, "true"),
        cond::TRACING: equals(param::TRACING, "true"),
        cond::REGISTRY: { "Fn::Not": [equals(param::REGISTRY, "")] },
        cond::API_REGISTRATION: equals(param::API_REGISTRATION, "true"),
    })
}

fn shared_resources(plan: &Plan<'_>, resources: &mut Map<String, Value>) {
    let key = |name: &str, kind: &str| json!({ "AttributeName": name, "KeyType": kind });
    let definitions: Vec<Value> = schema::key_attributes()
        .iter()
        .map(|k| json!({ "AttributeName": k.attribute, "AttributeType": k.key_type.code() }))
        .collect();
    let indexes: Vec<Value> = schema::INDEXES
        .iter()
        .map(|index| {
            json!({
                "IndexName": index.name,
                "KeySchema": [key(index.partition.attribute, "HASH"), key(index.sort.attribute, "RANGE")],
                "Projection": { "ProjectionType": "ALL" },
            })
        })
        .collect();
    resources.insert(
        TABLE.into(),
        json!({
            "Type": "AWS::DynamoDB::Table",
            // Execution history is data: deleting or replacing the stack keeps the table.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": definitions,
                "KeySchema": [key(schema::PARTITION_KEY.attribute, "HASH")],
                "GlobalSecondaryIndexes": indexes,
                "TimeToLiveSpecification": { "AttributeName": schema::TTL_ATTRIBUTE, "Enabled": true },
                "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": true },
                "SSESpecification": { "SSEEnabled": true },
            },
        }),
    );
    // Lambda's guidance for SQS event sources: visibility at least six times the timeout.
    resources.insert(
        START_QUEUE.into(),
        queue(None, 6 * FUNCTION_TIMEOUT, Some(START_DLQ)),
    );
    resources.insert(START_DLQ.into(), dead_letter_queue(None));
    resources.insert(EXTERNAL_QUEUE.into(), queue(None, 300, None));
    for (task_type, id) in &plan.worker_queues {
        let dlq = format!("{id}DeadLetters");
        resources.insert(
            id.clone(),
            queue(Some(names::worker_queue_name(task_type)), 300, Some(&dlq)),
        );
        resources.insert(
            dlq,
            dead_letter_queue(Some(format!("{}-dlq", names::worker_queue_name(task_type)))),
        );
    }
    for id in plan.event_queues.values() {
        resources.insert(id.clone(), queue(None, 30, None));
    }
    for id in plan.event_topics.values() {
        resources.insert(
            id.clone(),
            json!({
                "Type": "AWS::SNS::Topic",
                "Properties": { "KmsMasterKeyId": "alias/aws/sns" },
            }),
        );
    }
    for (name, id) in &plan.event_buses {
        resources.insert(
            id.clone(),
            json!({
                "Type": "AWS::Events::EventBus",
                "Properties": { "Name": sub(format!("${{AWS::StackName}}-{name}")) },
            }),
        );
    }
}

fn table_arns() -> Vec<Value> {
    vec![
        get_att(TABLE, "Arn"),
        sub(format!("${{{TABLE}.Arn}}/index/*")),
    ]
}

fn state_machines_arn() -> Value {
    sub(format!("{}*", names::STATE_MACHINE_ARN_PREFIX))
}

fn executions_arn() -> Value {
    sub(format!(
        "{}*:*",
        names::STATE_MACHINE_ARN_PREFIX.replace(":stateMachine:", ":execution:")
    ))
}

fn function_resources(
    plan: &Plan<'_>,
    function: Function,
    options: &SynthOptions,
    resources: &mut Map<String, Value>,
) {
    let id = function.logical_id();
    let log_group_id = format!("{id}LogGroup");
    let role_id = format!("{id}Role");

    let mut environment = Map::new();
    environment.insert("OCFLOW_ENVIRONMENT".into(), r(param::ENVIRONMENT));
    let mut statements = vec![allow(
        &["logs:CreateLogStream", "logs:PutLogEvents"],
        vec![get_att(&log_group_id, "Arn")],
    )];
    let mut properties = Map::new();
    match function {
        Function::HttpTask => {
            // A dynamic reference: CloudFormation reads the parameter at deploy time, so the
            // function needs no SSM permission (redeploy after changing the registry).
            environment.insert(
                REGISTRY_VARIABLE.into(),
                if_(
                    cond::REGISTRY,
                    sub(format!("{{{{resolve:ssm:${{{}}}}}}}", param::REGISTRY)),
                    no_value(),
                ),
            );
        }
        Function::ScriptTask => {}
        Function::Starter => {
            control_environment(plan, &mut environment);
            statements.push(allow(
                &[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                ],
                vec![get_att(START_QUEUE, "Arn")],
            ));
            statements.push(allow(
                &["states:StartExecution"],
                vec![state_machines_arn()],
            ));
            statements.push(allow(
                &[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                ],
                vec![get_att(TABLE, "Arn")],
            ));
            properties.insert(
                "Events".into(),
                json!({
                    "Starts": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": get_att(START_QUEUE, "Arn"),
                            "BatchSize": 10,
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        },
                    },
                }),
            );
        }
        Function::Api => {}
        Function::Tracker => {
            control_environment(plan, &mut environment);
            statements.push(allow(&["states:DescribeExecution"], vec![executions_arn()]));
            statements.push(allow(
                &[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:Query",
                ],
                table_arns(),
            ));
        }
    }

    let mut extra_policies = Vec::new();
    if function == Function::Api {
        api_function(plan, &mut environment, &mut statements, &mut extra_policies);
        properties.insert("FunctionUrlConfig".into(), json!({ "AuthType": "AWS_IAM" }));
    }

    resources.insert(log_group_id.clone(), log_group(true));
    let mut policies = vec![policy("function", statements)];
    policies.extend(extra_policies);
    policies.push(xray_policy(false));
    resources.insert(
        role_id.clone(),
        role("lambda.amazonaws.com", policies, false),
    );

    let crate_dir = format!(
        "{}/{}",
        options.functions_dir.trim_end_matches('/'),
        function.dir_name()
    );
    let mut all = Map::new();
    all.insert("CodeUri".into(), json!(crate_dir));
    all.insert("Role".into(), get_att(&role_id, "Arn"));
    all.insert(
        "LoggingConfig".into(),
        json!({ "LogGroup": r(&log_group_id), "LogFormat": "JSON" }),
    );
    all.insert("Environment".into(), json!({ "Variables": environment }));
    all.extend(properties);
    resources.insert(
        id.into(),
        json!({
            "Type": "AWS::Serverless::Function",
            // cargo-lambda builds the package at CodeUri; its binary is the package name.
            "Metadata": {
                "BuildMethod": "rust-cargolambda",
                "BuildProperties": { "Binary": format!("ocflow-fn-{}", function.dir_name()) },
            },
            "Properties": all,
        }),
    );
}

/// The API function: the control environment, what registering workflows needs, and a role
/// allowing what the REST API does (start, describe, history, stop, redrive; the table and its
/// indexes; the worker queues), plus creating and updating this stack's machines when
/// `ApiRegistration` is on.
fn api_function(
    plan: &Plan<'_>,
    environment: &mut Map<String, Value>,
    statements: &mut Vec<Value>,
    policies: &mut Vec<Value>,
) {
    control_environment(plan, environment);
    environment.insert(
        env::WORKER_QUEUE_PREFIX.into(),
        sub(names::worker_queue_name("")),
    );
    environment.insert(
        env::STATE_MACHINE_ROLE_ARN.into(),
        if_(
            cond::API_REGISTRATION,
            get_att(API_MACHINE_ROLE, "Arn"),
            no_value(),
        ),
    );
    environment.insert(
        env::HTTP_TASK_FUNCTION_ARN.into(),
        get_att(Function::HttpTask.logical_id(), "Arn"),
    );
    environment.insert(
        env::SCRIPT_TASK_FUNCTION_ARN.into(),
        get_att(Function::ScriptTask.logical_id(), "Arn"),
    );
    environment.insert(env::EXTERNAL_TASK_QUEUE_URL.into(), r(EXTERNAL_QUEUE));
    statements.push(allow(
        &["states:StartExecution"],
        vec![state_machines_arn()],
    ));
    statements.push(allow(
        &[
            "states:DescribeExecution",
            "states:GetExecutionHistory",
            "states:StopExecution",
            "states:RedriveExecution",
        ],
        vec![executions_arn()],
    ));
    statements.push(allow(
        &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
            "dynamodb:Scan",
        ],
        table_arns(),
    ));
    if !plan.worker_queues.is_empty() {
        let queues = plan
            .worker_queues
            .values()
            .map(|id| get_att(id, "Arn"))
            .collect();
        statements.push(allow(
            &[
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                // GET /api/tasks/queue/sizes: ApproximateNumberOfMessages.
                "sqs:GetQueueAttributes",
            ],
            queues,
        ));
    }
    // Task tokens name no resource type in IAM: AWS requires "*".
    statements.push(allow(
        &[
            "states:SendTaskSuccess",
            "states:SendTaskFailure",
            "states:SendTaskHeartbeat",
        ],
        vec![json!("*")],
    ));
    policies.push(if_(
        cond::API_REGISTRATION,
        policy(
            "registration",
            vec![
                allow(
                    &["states:CreateStateMachine", "states:UpdateStateMachine"],
                    vec![state_machines_arn()],
                ),
                allow(&["iam:PassRole"], vec![get_att(API_MACHINE_ROLE, "Arn")]),
            ],
        ),
        no_value(),
    ));
}

/// The role of machines the API registers: what compiled workflows of this deployment may
/// target (the task functions, the worker and external-task queues, this stack's machines).
fn api_machine_role(plan: &Plan<'_>) -> Value {
    let functions = [Function::HttpTask, Function::ScriptTask]
        .iter()
        .flat_map(|f| {
            let id = f.logical_id();
            [get_att(id, "Arn"), sub(format!("${{{id}.Arn}}:*"))]
        })
        .collect();
    let mut queues = vec![get_att(EXTERNAL_QUEUE, "Arn")];
    queues.extend(plan.worker_queues.values().map(|id| get_att(id, "Arn")));
    let statements = vec![
        allow(&["lambda:InvokeFunction"], functions),
        allow(&["sqs:SendMessage"], queues),
        allow(&["states:StartExecution"], vec![state_machines_arn()]),
        allow(
            &["states:DescribeExecution", "states:StopExecution"],
            vec![executions_arn()],
        ),
        allow(
            &["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            vec![sub(
                "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule",
            )],
        ),
    ];
    let mut role = role(
        "states.amazonaws.com",
        vec![policy("integrations", statements), xray_policy(true)],
        true,
    );
    role["Condition"] = json!(cond::API_REGISTRATION);
    reorder(role, &["Type", "Condition", "Properties"])
}

/// The environment the starter and tracker read (`ocflow_control::deployment::env`): the table
/// and the state machine naming convention of [`names::state_machine_name`].
fn control_environment(plan: &Plan<'_>, environment: &mut Map<String, Value>) {
    environment.insert(env::EXECUTIONS_TABLE.into(), r(TABLE));
    environment.insert(
        env::STATE_MACHINE_ARN_PREFIX.into(),
        sub(names::STATE_MACHINE_ARN_PREFIX.trim_end_matches('-')),
    );
    let express: Vec<&str> = plan
        .workflows
        .iter()
        .filter(|w| w.execution_type == ExecutionType::Express)
        .map(|w| w.name)
        .collect();
    if !express.is_empty() {
        environment.insert(env::EXPRESS_WORKFLOWS.into(), json!(express.join(",")));
    }
}

fn tracker_triggers(resources: &mut Map<String, Value>, options: &SynthOptions) {
    let tracker = Function::Tracker.logical_id();
    let target = json!([{ "Arn": get_att(tracker, "Arn"), "Id": "tracker" }]);
    resources.insert(
        STATUS_RULE.into(),
        json!({
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": "Step Functions status changes of this stack's state machines, to the tracker.",
                "EventPattern": {
                    "source": ["aws.states"],
                    "detail-type": ["Step Functions Execution Status Change"],
                    "detail": { "stateMachineArn": [{ "prefix": sub(names::STATE_MACHINE_ARN_PREFIX) }] },
                },
                "Targets": target,
            },
        }),
    );
    resources.insert(
        RECONCILE_RULE.into(),
        json!({
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": "Runs the tracker's reconciler over executions stuck in RUNNING.",
                "ScheduleExpression": options.reconcile_schedule,
                "Targets": target,
            },
        }),
    );
    for (rule, permission) in [
        (STATUS_RULE, "TrackerStatusPermission"),
        (RECONCILE_RULE, "TrackerSchedulePermission"),
    ] {
        resources.insert(
            permission.into(),
            json!({
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": r(tracker),
                    "Principal": "events.amazonaws.com",
                    "SourceArn": get_att(rule, "Arn"),
                },
            }),
        );
    }
}

/// The `DefinitionSubstitutions` value of a placeholder.
fn substitution(plan: &Plan<'_>, placeholder: &Placeholder) -> Value {
    match placeholder {
        Placeholder::Function(function) => get_att(function.logical_id(), "Arn"),
        Placeholder::ExternalTaskQueue => r(EXTERNAL_QUEUE),
        Placeholder::WorkerQueue(name) => r(&plan.worker_queues[name]),
        Placeholder::StateMachine(name) => sub(plan.machine_arn(name)),
        Placeholder::EventQueue(name) => r(&plan.event_queues[name]),
        Placeholder::EventTopic(name) => r(&plan.event_topics[name]),
        Placeholder::EventBus(name) => match plan.event_buses.get(name) {
            Some(id) => get_att(id, "Arn"),
            None => default_bus_arn(),
        },
    }
}

fn default_bus_arn() -> Value {
    sub(format!(
        "arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:event-bus/{DEFAULT_BUS}"
    ))
}

fn queue_arn(plan: &Plan<'_>, queue: &Queue) -> Value {
    match queue {
        Queue::ExternalTask => get_att(EXTERNAL_QUEUE, "Arn"),
        Queue::Worker(name) => get_att(&plan.worker_queues[name], "Arn"),
        Queue::Event(name) => get_att(&plan.event_queues[name], "Arn"),
    }
}

/// The statements of a state machine role: exactly what its Task states target.
fn machine_statements(plan: &Plan<'_>, usage: &Usage) -> Vec<Value> {
    let mut statements = Vec::new();
    if !usage.invokes.is_empty() {
        let resources = usage
            .invokes
            .iter()
            .flat_map(|f| {
                let id = f.logical_id();
                // The function and its versions/aliases (lambda:invoke may name either).
                [get_att(id, "Arn"), sub(format!("${{{id}.Arn}}:*"))]
            })
            .collect();
        statements.push(allow(&["lambda:InvokeFunction"], resources));
    }
    if !usage.sends.is_empty() {
        let resources = usage.sends.iter().map(|q| queue_arn(plan, q)).collect();
        statements.push(allow(&["sqs:SendMessage"], resources));
    }
    if !usage.starts.is_empty() {
        let resources = usage
            .starts
            .keys()
            .map(|child| sub(plan.machine_arn(child)))
            .collect();
        statements.push(allow(&["states:StartExecution"], resources));
    }
    let synced: Vec<&String> = usage
        .starts
        .iter()
        .filter_map(|(child, sync)| sync.then_some(child))
        .collect();
    if !synced.is_empty() {
        let executions = names::STATE_MACHINE_ARN_PREFIX.replace(":stateMachine:", ":execution:");
        let resources = synced
            .iter()
            .map(|child| {
                let part = plan
                    .machine_names
                    .get(*child)
                    .map_or(child.as_str(), String::as_str);
                sub(format!("{executions}{part}:*"))
            })
            .collect();
        statements.push(allow(
            &["states:DescribeExecution", "states:StopExecution"],
            resources,
        ));
        // `.sync` integrations watch the child through this AWS-managed rule.
        statements.push(allow(
            &["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            vec![sub(
                "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule",
            )],
        ));
    }
    if !usage.publishes.is_empty() {
        let resources = usage
            .publishes
            .iter()
            .map(|t| r(&plan.event_topics[t]))
            .collect();
        statements.push(allow(&["sns:Publish"], resources));
    }
    if !usage.puts.is_empty() {
        let resources = usage
            .puts
            .iter()
            .map(|b| substitution(plan, &Placeholder::EventBus(b.clone())))
            .collect();
        statements.push(allow(&["events:PutEvents"], resources));
    }
    statements
}

fn workflow_resources(plan: &Plan<'_>, workflow: &Planned<'_>, resources: &mut Map<String, Value>) {
    let machine_id = format!("{}StateMachine", workflow.id);
    let role_id = format!("{machine_id}Role");
    let log_group_id = format!("{machine_id}LogGroup");

    let mut policies = Vec::new();
    let statements = machine_statements(plan, &workflow.usage);
    if !statements.is_empty() {
        policies.push(policy("integrations", statements));
    }
    // CloudWatch Logs delivery actions name no resource type in IAM: AWS requires "*".
    policies.push(if_(
        cond::SFN_LOGGING,
        policy(
            "log-delivery",
            vec![allow(
                &[
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ],
                vec![json!("*")],
            )],
        ),
        no_value(),
    ));
    policies.push(xray_policy(true));
    resources.insert(
        role_id.clone(),
        role("states.amazonaws.com", policies, true),
    );

    let mut log_group = log_group(true);
    log_group["Condition"] = json!(cond::SFN_LOGGING);
    log_group["Properties"]["LogGroupName"] = sub(format!(
        "/aws/vendedlogs/states/{}",
        plan.machine_name(&workflow.machine)
    ));
    // Move `Condition` before `Properties` for readability.
    let log_group = reorder(log_group, &["Type", "Condition", "Properties"]);
    resources.insert(log_group_id.clone(), log_group);

    let substitutions: Map<String, Value> = workflow
        .usage
        .placeholders
        .iter()
        .map(|p| (p.key(), substitution(plan, p)))
        .collect();
    let mut properties = Map::new();
    properties.insert("Name".into(), sub(plan.machine_name(&workflow.machine)));
    properties.insert(
        "Type".into(),
        json!(match workflow.execution_type {
            ExecutionType::Standard => "STANDARD",
            ExecutionType::Express => "EXPRESS",
        }),
    );
    properties.insert(
        "DefinitionUri".into(),
        json!(crate::machine_file(&workflow.machine)),
    );
    if !substitutions.is_empty() {
        properties.insert(
            "DefinitionSubstitutions".into(),
            Value::Object(substitutions),
        );
    }
    properties.insert("Role".into(), get_att(&role_id, "Arn"));
    properties.insert(
        "Logging".into(),
        if_(
            cond::SFN_LOGGING,
            json!({
                "Level": r(param::SFN_LOG_LEVEL),
                "IncludeExecutionData": if_(cond::SFN_LOG_DATA, json!(true), json!(false)),
                "Destinations": [{ "CloudWatchLogsLogGroup": { "LogGroupArn": get_att(&log_group_id, "Arn") } }],
            }),
            no_value(),
        ),
    );
    properties.insert(
        "Tracing".into(),
        json!({ "Enabled": if_(cond::TRACING, json!(true), json!(false)) }),
    );
    resources.insert(
        machine_id,
        json!({ "Type": "AWS::Serverless::StateMachine", "Properties": properties }),
    );
}

fn reorder(value: Value, order: &[&str]) -> Value {
    let Value::Object(mut map) = value else {
        return value;
    };
    let mut out = Map::new();
    for key in order {
        if let Some(v) = map.shift_remove(*key) {
            out.insert((*key).to_owned(), v);
        }
    }
    out.extend(map);
    Value::Object(out)
}

fn outputs(plan: &Plan<'_>) -> Value {
    let output =
        |description: String, value: Value| json!({ "Description": description, "Value": value });
    let mut out = Map::new();
    out.insert(
        "StartQueueUrl".into(),
        output("Queue that starts workflows".into(), r(START_QUEUE)),
    );
    out.insert(
        "ExternalTaskQueueUrl".into(),
        output(
            "Queue of tasks completed from outside (WAIT, HUMAN)".into(),
            r(EXTERNAL_QUEUE),
        ),
    );
    out.insert(
        "ApiUrl".into(),
        output(
            "Conductor REST API (function URL, IAM authentication: sign requests with SigV4)"
                .into(),
            get_att(&format!("{}Url", Function::Api.logical_id()), "FunctionUrl"),
        ),
    );
    out.insert(
        "ExecutionsTableName".into(),
        output("Table of executions".into(), r(TABLE)),
    );
    for (task_type, id) in &plan.worker_queues {
        out.insert(
            format!("{id}Url"),
            output(format!("Worker queue of task type {task_type}"), r(id)),
        );
    }
    for (name, id) in &plan.event_queues {
        out.insert(
            format!("{id}Url"),
            output(format!("EVENT sink queue {name}"), r(id)),
        );
    }
    for (name, id) in &plan.event_topics {
        out.insert(
            format!("{id}Arn"),
            output(format!("EVENT sink topic {name}"), r(id)),
        );
    }
    for (name, id) in &plan.event_buses {
        out.insert(
            format!("{id}Arn"),
            output(format!("EVENT sink bus {name}"), get_att(id, "Arn")),
        );
    }
    for workflow in &plan.workflows {
        out.insert(
            format!("{}StateMachineArn", workflow.id),
            output(
                format!("State machine of workflow {}", workflow.name),
                r(&format!("{}StateMachine", workflow.id)),
            ),
        );
    }
    Value::Object(out)
}
