//! A workflow compiled by `ocflow-compiler`, run on moto, its SIMPLE tasks served by
//! [`WorkerClient`]: the message body the compiler writes is what the worker client reads, and
//! task outputs flow into later tasks and the workflow output as Conductor says.

mod support;

use ocflow_aws::WorkerClient;
use ocflow_compiler::{CompileEnv, compile};
use ocflow_control::worker::TaskResult;
use ocflow_protocol::placeholders;
use serde_json::{Value, json};
use support::{create_machine, finished, one_task, sdk_config, unique};

#[tokio::test]
async fn compiled_worker_tasks_run_through_the_worker_client() {
    let def = serde_json::from_value(json!({
        "name": "media", "version": 2,
        "tasks": [
            {"name": "encode", "taskReferenceName": "encode_ref", "type": "SIMPLE",
             "inputParameters": {"file": "${workflow.input.file}"}},
            {"name": "publish", "taskReferenceName": "publish_ref", "type": "SIMPLE",
             "inputParameters": {"size": "${encode_ref.output.size}", "title": "clip ${workflow.input.file}"}}
        ],
        "outputParameters": {"size": "${encode_ref.output.size}", "url": "${publish_ref.output.url}"}
    }))
    .unwrap();
    let compiled = compile(&def, &CompileEnv::new()).expect("the workflow compiles");

    let config = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sfn = aws_sdk_sfn::Client::new(&config);
    let mut definition = serde_json::to_string(&compiled.machine).unwrap();
    let mut workers = Vec::new();
    for task_type in ["encode", "publish"] {
        let url = sqs
            .create_queue()
            .queue_name(unique(task_type))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        definition = definition.replace(&placeholders::worker_queue_url(task_type), &url);
        workers.push(WorkerClient::new(sqs.clone(), sfn.clone(), url));
    }
    let definition: Value = serde_json::from_str(&definition).unwrap();
    let machine = create_machine(&sfn, &unique("media"), &definition).await;
    let name = unique("wf");
    let execution_arn = sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name(&name)
        .input(r#"{"file": "a.mp4"}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;

    let encode = one_task(&workers[0]).await;
    assert_eq!(encode.task["taskType"], "encode");
    assert_eq!(encode.task["referenceTaskName"], "encode_ref");
    assert_eq!(encode.task["workflowInstanceId"], json!(name));
    assert_eq!(encode.task["workflowType"], "media");
    assert_eq!(encode.task["inputData"], json!({"file": "a.mp4"}));
    let done = |output: Value| -> TaskResult {
        serde_json::from_value(json!({"status": "COMPLETED", "outputData": output})).unwrap()
    };
    workers[0]
        .update(&encode, &done(json!({"size": 3})))
        .await
        .unwrap();

    let publish = one_task(&workers[1]).await;
    assert_eq!(
        publish.task["inputData"],
        json!({"size": 3, "title": "clip a.mp4"})
    );
    workers[1]
        .update(&publish, &done(json!({"url": "https://cdn.example/a"})))
        .await
        .unwrap();

    let description = finished(&sfn, &execution_arn).await;
    assert_eq!(description.status.as_str(), "SUCCEEDED", "{description:?}");
    assert_eq!(
        serde_json::from_str::<Value>(description.output.as_deref().unwrap()).unwrap(),
        json!({"size": 3, "url": "https://cdn.example/a"})
    );
}
