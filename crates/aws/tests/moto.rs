//! The AWS adapters and the control logic against moto, through the real SDK clients.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use ocflow_aws::table::{self, attr};
use ocflow_aws::{DynamoExecutionTable, StepFunctionsClient, WorkerClient};
use ocflow_control::directory::{Directory, MachineKind};
use ocflow_control::execution::{Retention, StartRecord};
use ocflow_control::ports::{Applied, ExecutionTable};
use ocflow_control::reconcile::{Reconciler, Report};
use ocflow_control::sqs::{SqsEvent, SqsMessage};
use ocflow_control::starter::Starter;
use ocflow_control::tracker::{StatusChangeEvent, Tracker};
use ocflow_control::worker::TaskResult;
use serde_json::{Value, json};
use support::{create_machine, finished, one_task, sdk_config, unique};

fn pass_machine() -> Value {
    json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Echo",
        "States": {"Echo": {"Type": "Pass", "Output": "{% {'echo': $states.input} %}", "End": true}}
    })
}

/// A worker task state with the message body the compiler writes for SIMPLE tasks (and the
/// timeouts it writes for a task definition with `responseTimeoutSeconds`).
fn worker_machine(queue_url: &str) -> Value {
    json!({
        "QueryLanguage": "JSONata",
        "StartAt": "encode_ref",
        "States": {"encode_ref": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Arguments": {"QueueUrl": queue_url, "MessageBody": {
                "taskToken": "{% $states.context.Task.Token %}",
                "taskId": "{% $join([$states.context.Execution.Name, $states.context.State.Name], '/') %}",
                "workflowId": "{% $states.context.Execution.Name %}",
                "workflowType": "media",
                "taskType": "encode",
                "taskDefName": "encode",
                "referenceTaskName": "encode_ref",
                "retryCount": "{% $states.context.State.RetryCount %}",
                "inputData": "{% $states.input %}"
            }},
            "TimeoutSeconds": 300,
            "HeartbeatSeconds": 60,
            "Output": "{% $states.result %}",
            "End": true
        }}
    })
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

struct Aws {
    sfn: aws_sdk_sfn::Client,
    sqs: aws_sdk_sqs::Client,
    table: DynamoExecutionTable,
}

async fn aws() -> Aws {
    let config = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let name = unique("executions");
    table::create_table(&dynamodb, &name)
        .await
        .expect("table created");
    Aws {
        sfn: aws_sdk_sfn::Client::new(&config),
        sqs: aws_sdk_sqs::Client::new(&config),
        table: DynamoExecutionTable::new(dynamodb, name),
    }
}

async fn queue(sqs: &aws_sdk_sqs::Client) -> String {
    sqs.create_queue()
        .queue_name(unique("queue"))
        .send()
        .await
        .expect("queue created")
        .queue_url
        .expect("queue url")
}

async fn executions(sfn: &aws_sdk_sfn::Client, machine: &str) -> Vec<String> {
    sfn.list_executions()
        .state_machine_arn(machine)
        .send()
        .await
        .expect("executions listed")
        .executions
        .into_iter()
        .map(|e| e.name)
        .collect()
}

#[tokio::test]
async fn the_same_message_delivered_three_times_starts_one_execution() {
    let aws = aws().await;
    let machine = create_machine(&aws.sfn, &unique("orders"), &pass_machine()).await;
    let starter = Starter::new(
        Directory::new().with_machine("orders", &machine, MachineKind::Standard, Some(1)),
        StepFunctionsClient::new(aws.sfn.clone()),
        aws.table.clone(),
        Retention::DEFAULT,
    );
    let queue = queue(&aws.sqs).await;
    let body =
        json!({"name": "orders", "version": 1, "input": {"id": 42}, "correlationId": "c-42"});
    aws.sqs
        .send_message()
        .queue_url(&queue)
        .message_body(body.to_string())
        .send()
        .await
        .expect("message sent");

    let mut message_ids = Vec::new();
    for _ in 0..3 {
        // Visibility 0: the message is delivered again at once, as after a Lambda timeout.
        let received = aws
            .sqs
            .receive_message()
            .queue_url(&queue)
            .visibility_timeout(0)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .expect("message received")
            .messages
            .unwrap_or_default();
        assert_eq!(received.len(), 1);
        let message = &received[0];
        let event = SqsEvent {
            records: vec![SqsMessage {
                message_id: message.message_id.clone().unwrap_or_default(),
                body: message.body.clone().unwrap_or_default(),
                attributes: HashMap::new(),
            }],
        };
        message_ids.push(event.records[0].message_id.clone());
        let response = starter.handle(event).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    assert!(message_ids.windows(2).all(|w| w[0] == w[1]));

    let names = executions(&aws.sfn, &machine).await;
    assert_eq!(names.len(), 1, "{names:?}");
    let row = aws
        .table
        .get(&names[0])
        .await
        .unwrap()
        .expect("row recorded");
    assert_eq!(text(&row, attr::CORRELATION_ID).as_deref(), Some("c-42"));
    assert_eq!(text(&row, attr::WORKFLOW_NAME).as_deref(), Some("orders"));
    assert_eq!(number(&row, attr::WORKFLOW_VERSION), Some(1));
    assert!(text(&row, attr::EXECUTION_ARN).is_some_and(|arn| arn.ends_with(&names[0])));
}

#[tokio::test]
async fn express_redeliveries_start_one_execution() {
    let aws = aws().await;
    let machine = aws
        .sfn
        .create_state_machine()
        .name(unique("quick"))
        .definition(pass_machine().to_string())
        .role_arn("arn:aws:iam::123456789012:role/ocflow-test")
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let starter = Starter::new(
        Directory::new().with_machine("quick", &machine, MachineKind::Express, None),
        StepFunctionsClient::new(aws.sfn.clone()),
        aws.table.clone(),
        Retention { days: 1 },
    );
    let message = SqsMessage {
        message_id: "m-express".into(),
        body: r#"{"name": "quick", "input": {}, "correlationId": "c-x"}"#.into(),
        attributes: HashMap::new(),
    };
    let first = starter.start(&message).await.unwrap();
    for _ in 0..2 {
        let again = starter.start(&message).await.unwrap();
        assert!(again.already_existed);
        assert_eq!(again.execution_arn, first.execution_arn);
    }
    assert_eq!(executions(&aws.sfn, &machine).await.len(), 1);
    let row = aws
        .table
        .get(&first.workflow_id)
        .await
        .unwrap()
        .expect("row");
    assert_eq!(text(&row, attr::STATUS).as_deref(), Some("RUNNING"));
    assert_eq!(text(&row, attr::TRACKED_STATUS), None, "not reconcilable");
    assert!(number(&row, attr::EXPIRES_AT).is_some());
}

#[tokio::test]
async fn a_poison_message_is_the_only_batch_item_failure() {
    let aws = aws().await;
    let machine = create_machine(&aws.sfn, &unique("orders"), &pass_machine()).await;
    let starter = Starter::new(
        Directory::new().with_machine("orders", &machine, MachineKind::Standard, None),
        StepFunctionsClient::new(aws.sfn.clone()),
        aws.table.clone(),
        Retention::DEFAULT,
    );
    let message = |id: &str, body: &str| SqsMessage {
        message_id: id.into(),
        body: body.into(),
        attributes: HashMap::new(),
    };
    let event = SqsEvent {
        records: vec![
            message("good-1", r#"{"name": "orders", "input": {"n": 1}}"#),
            message("poison", r#"{"input": "no name"}"#),
            message(
                "good-2",
                r#"{"name": "orders", "input": {"n": 2}, "idempotencyKey": "k-2"}"#,
            ),
        ],
    };
    let response = starter.handle(event).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["poison"]);
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "poison"}]})
    );
    assert_eq!(executions(&aws.sfn, &machine).await.len(), 2);
}

fn status_event(
    machine: &str,
    name: &str,
    status: &str,
    time: &str,
    stop: Option<i64>,
) -> StatusChangeEvent {
    let execution = machine.replacen(":stateMachine:", ":execution:", 1) + ":" + name;
    serde_json::from_value(json!({
        "version": "0", "id": unique("event"), "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states", "account": "123456789012", "time": time, "region": "us-east-1",
        "resources": [execution],
        "detail": {
            "executionArn": execution, "stateMachineArn": machine, "name": name, "status": status,
            "startDate": 1_700_000_000_000_i64, "stopDate": stop,
            "input": "{\"id\":1}", "output": if stop.is_some() { json!("{\"ok\":true}") } else { Value::Null },
            "redriveCount": 0
        }
    }))
    .expect("event parses")
}

#[tokio::test]
async fn a_late_running_event_leaves_the_row_succeeded() {
    let aws = aws().await;
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:ocflow-orders";
    let tracker = Tracker::new(
        Directory::new().with_prefix("arn:aws:states:us-east-1:123456789012:stateMachine:ocflow"),
        aws.table.clone(),
        Retention { days: 3 },
    );
    let succeeded = status_event(
        machine,
        "wf-1",
        "SUCCEEDED",
        "2023-11-14T22:13:30Z",
        Some(1_700_000_010_000),
    );
    let late_running = status_event(machine, "wf-1", "RUNNING", "2023-11-14T22:13:20Z", None);

    assert_eq!(tracker.handle(&succeeded).await.unwrap(), Applied::Written);
    assert_eq!(
        tracker.handle(&late_running).await.unwrap(),
        Applied::Ignored
    );
    assert_eq!(tracker.handle(&succeeded).await.unwrap(), Applied::Ignored);
    // A start recorded after the fact keeps the status too.
    aws.table
        .record_start(&StartRecord {
            workflow_id: "wf-1".into(),
            execution_arn: "arn:x".into(),
            state_machine_arn: machine.into(),
            workflow_name: "orders".into(),
            workflow_version: None,
            correlation_id: Some("c-1".into()),
            priority: Some(5),
            start_time: 1_700_000_000_000,
            idempotency_key: None,
            expires_at: None,
            reconcilable: true,
        })
        .await
        .unwrap();

    let row = aws.table.get("wf-1").await.unwrap().expect("row");
    assert_eq!(text(&row, attr::STATUS).as_deref(), Some("SUCCEEDED"));
    assert_eq!(
        text(&row, attr::TRACKED_STATUS).as_deref(),
        Some("SUCCEEDED")
    );
    assert_eq!(text(&row, attr::OUTPUT).as_deref(), Some("{\"ok\":true}"));
    assert_eq!(text(&row, attr::WORKFLOW_NAME).as_deref(), Some("orders"));
    assert_eq!(text(&row, attr::CORRELATION_ID).as_deref(), Some("c-1"));
    assert_eq!(
        text(&row, attr::EXECUTION_ARN).as_deref(),
        Some(succeeded.detail.execution_arn.as_str())
    );
    assert_eq!(
        text(&row, attr::STATUS_START_TIME).as_deref(),
        Some("SUCCEEDED#001700000000000")
    );
    assert_eq!(
        number(&row, attr::EXPIRES_AT),
        Some(1_700_000_010 + 3 * 86_400)
    );

    // Running updates among themselves: equal or later event time wins.
    let first = status_event(machine, "wf-2", "RUNNING", "2023-11-14T22:13:22Z", None);
    let earlier = status_event(machine, "wf-2", "RUNNING", "2023-11-14T22:13:21Z", None);
    assert_eq!(tracker.handle(&first).await.unwrap(), Applied::Written);
    assert_eq!(tracker.handle(&first).await.unwrap(), Applied::Written);
    assert_eq!(tracker.handle(&earlier).await.unwrap(), Applied::Ignored);
}

#[tokio::test]
async fn the_reconciler_settles_a_running_row_from_describe_execution() {
    let aws = aws().await;
    let machine = create_machine(&aws.sfn, &unique("orders"), &pass_machine()).await;
    let name = unique("wf");
    let started = aws
        .sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name(&name)
        .input(r#"{"id":7}"#)
        .send()
        .await
        .unwrap();
    let start_time = started.start_date.to_millis().unwrap();
    aws.table
        .record_start(&StartRecord {
            workflow_id: name.clone(),
            execution_arn: started.execution_arn.clone(),
            state_machine_arn: machine.clone(),
            workflow_name: "orders".into(),
            workflow_version: None,
            correlation_id: None,
            priority: None,
            start_time,
            idempotency_key: None,
            expires_at: None,
            reconcilable: true,
        })
        .await
        .unwrap();
    // An Express execution's row is never listed: DescribeExecution does not serve it.
    aws.table
        .record_start(&StartRecord {
            workflow_id: unique("express"),
            execution_arn: "arn:aws:states:us-east-1:123456789012:express:quick:x".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:quick".into(),
            workflow_name: "quick".into(),
            workflow_version: None,
            correlation_id: None,
            priority: None,
            start_time: start_time - 60_000,
            idempotency_key: None,
            expires_at: Some(start_time / 1000 + 86_400),
            reconcilable: false,
        })
        .await
        .unwrap();
    let description = finished(&aws.sfn, &started.execution_arn).await;

    let reconciler = Reconciler::new(
        Directory::new(),
        StepFunctionsClient::new(aws.sfn.clone()),
        aws.table.clone(),
        Retention::DEFAULT,
    );
    let fresh = reconciler
        .run(start_time + 60_000, 15 * 60_000, 10)
        .await
        .unwrap();
    assert_eq!(fresh, Report::default(), "a young row is left alone");
    let report = reconciler
        .run(start_time + 60 * 60_000, 15 * 60_000, 10)
        .await
        .unwrap();
    assert_eq!((report.checked, report.settled), (1, 1), "{report:?}");

    let row = aws.table.get(&name).await.unwrap().expect("row");
    assert_eq!(text(&row, attr::STATUS).as_deref(), Some("SUCCEEDED"));
    assert_eq!(text(&row, attr::OUTPUT), description.output);
    assert_eq!(
        serde_json::from_str::<Value>(&text(&row, attr::OUTPUT).unwrap()).unwrap(),
        json!({"echo": {"id": 7}})
    );
    assert!(number(&row, attr::STOP_TIME).is_some());
    assert!(number(&row, attr::EXPIRES_AT).is_some());
    let again = reconciler
        .run(start_time + 60 * 60_000, 15 * 60_000, 10)
        .await
        .unwrap();
    assert_eq!(again.checked, 0);
}

async fn start_worker_execution(aws: &Aws) -> (WorkerClient, String, String) {
    let queue = queue(&aws.sqs).await;
    let machine = create_machine(&aws.sfn, &unique("media"), &worker_machine(&queue)).await;
    let name = unique("wf");
    let execution_arn = aws
        .sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name(&name)
        .input(r#"{"file":"a.mp4"}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let worker = WorkerClient::new(aws.sqs.clone(), aws.sfn.clone(), queue);
    (worker, name, execution_arn)
}

#[tokio::test]
async fn a_worker_completes_a_task_through_its_token() {
    let aws = aws().await;
    let (worker, name, execution_arn) = start_worker_execution(&aws).await;
    let task = one_task(&worker).await;
    assert_eq!(task.task["taskType"], "encode");
    assert_eq!(task.task["workflowInstanceId"], json!(name));
    assert_eq!(task.task["taskId"], json!(format!("{name}/encode_ref")));
    assert_eq!(task.task["referenceTaskName"], "encode_ref");
    assert_eq!(task.task["inputData"], json!({"file": "a.mp4"}));
    assert_eq!(task.task["pollCount"], 1);
    assert_eq!(task.task["workerId"], "worker-1");
    assert_eq!(task.task["status"], "IN_PROGRESS");

    let result: TaskResult = serde_json::from_value(json!({
        "status": "COMPLETED", "outputData": {"size": 3, "codec": "av1"}
    }))
    .unwrap();
    worker.update(&task, &result).await.unwrap();
    let description = finished(&aws.sfn, &execution_arn).await;
    assert_eq!(description.status.as_str(), "SUCCEEDED");
    assert_eq!(
        serde_json::from_str::<Value>(description.output.as_deref().unwrap()).unwrap(),
        json!({"size": 3, "codec": "av1"})
    );
    let left = worker.poll(1, Duration::ZERO, None).await.unwrap();
    assert!(left.is_empty(), "the answered message was deleted");
}

#[tokio::test]
async fn a_worker_failure_surfaces_with_error_and_cause() {
    let aws = aws().await;
    let (worker, _, execution_arn) = start_worker_execution(&aws).await;
    let task = one_task(&worker).await;
    let result: TaskResult = serde_json::from_value(json!({
        "status": "FAILED_WITH_TERMINAL_ERROR", "reasonForIncompletion": "codec not supported"
    }))
    .unwrap();
    worker.update(&task, &result).await.unwrap();
    let description = finished(&aws.sfn, &execution_arn).await;
    assert_eq!(description.status.as_str(), "FAILED");
    assert_eq!(description.error.as_deref(), Some("Worker.TerminalError"));
    assert_eq!(description.cause.as_deref(), Some("codec not supported"));
}

#[tokio::test]
async fn in_progress_hides_the_task_and_keeps_it_answerable() {
    let aws = aws().await;
    let (worker, _, execution_arn) = start_worker_execution(&aws).await;
    let task = one_task(&worker).await;
    let in_progress: TaskResult =
        serde_json::from_value(json!({"status": "IN_PROGRESS", "callbackAfterSeconds": 60}))
            .unwrap();
    worker.update(&task, &in_progress).await.unwrap();
    let hidden = worker.poll(1, Duration::from_secs(1), None).await.unwrap();
    assert!(
        hidden.is_empty(),
        "the task is hidden for callbackAfterSeconds"
    );

    let done: TaskResult =
        serde_json::from_value(json!({"status": "COMPLETED", "outputData": {"ok": true}})).unwrap();
    worker.update(&task, &done).await.unwrap();
    assert_eq!(
        finished(&aws.sfn, &execution_arn).await.status.as_str(),
        "SUCCEEDED"
    );
}

/// `AWS_ENDPOINT_URL` points [`ocflow_aws::config::load`] at moto: this test runs itself again
/// with the variable set (the environment cannot be changed safely in-process).
#[tokio::test]
async fn the_endpoint_comes_from_aws_endpoint_url() {
    if std::env::var_os("OCFLOW_ENDPOINT_CHILD").is_some() {
        let config = ocflow_aws::config::load().await;
        assert_eq!(
            config.endpoint_url(),
            std::env::var("AWS_ENDPOINT_URL").ok().as_deref()
        );
        let sqs = aws_sdk_sqs::Client::new(&config);
        let url = sqs
            .create_queue()
            .queue_name("from-env")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        assert!(url.ends_with("/from-env"), "{url}");
        return;
    }
    let endpoint = &support::moto().endpoint;
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_endpoint_comes_from_aws_endpoint_url",
            "--test-threads=1",
        ])
        .env("OCFLOW_ENDPOINT_CHILD", "1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    // The child's queue is on this test's server.
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let urls = sqs
        .list_queues()
        .queue_name_prefix("from-env")
        .send()
        .await
        .unwrap()
        .queue_urls
        .unwrap_or_default();
    assert_eq!(urls.len(), 1);
}
