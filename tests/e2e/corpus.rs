//! Every Conductor corpus workflow that needs no external worker, run end to end on the
//! embedded engine and checked the way Conductor's own specs check it.

use std::path::{Path, PathBuf};

use ocflow_compiler::{CompileEnv, compile};
use ocflow_dsl::model::{TaskType, WorkflowDef, WorkflowTask};
use ocflow_dsl::{Document, check_document};
use ocflow_engine::StartOptions;
use ocflow_engine::conductor::{Task, Workflow};
use ocflow_local::defs::load_env;
use ocflow_local::{LocalHost, LocalOptions};
use ocflow_tests::conductor_corpus;
use serde_json::{Value, json};

/// One workflow of the corpus: its file stem, `/<index>` inside an array file, and the definition.
struct CorpusWorkflow {
    key: String,
    def: WorkflowDef,
}

/// Every workflow definition of the corpus (array files contribute one per item), by key.
fn corpus_workflows(dir: &Path) -> Vec<CorpusWorkflow> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let text = std::fs::read_to_string(&file).expect("readable corpus file");
        let (document, _) = check_document(&file.display().to_string(), &text);
        match document {
            Some(Document::Workflow(def)) => out.push(CorpusWorkflow {
                key: stem,
                def: *def,
            }),
            Some(Document::Workflows(defs)) => {
                out.extend(defs.into_iter().enumerate().map(|(i, def)| CorpusWorkflow {
                    key: format!("{stem}/{i}"),
                    def,
                }))
            }
            _ => {}
        }
    }
    out
}

/// Whether a task can only finish through something outside the engine: a polling worker, a
/// person, or a signal.
fn needs_outside_help(task: &WorkflowTask) -> bool {
    match task.task_type() {
        TaskType::Simple | TaskType::UserDefined | TaskType::Worker(_) | TaskType::Human => true,
        TaskType::Wait => {
            let inputs = task.inputs();
            !inputs.contains_key("duration") && !inputs.contains_key("until")
        }
        _ => false,
    }
}

/// Whether the workflow's own tasks all run without a worker (sub-workflows it starts are
/// not looked into: they are separate definitions).
fn runs_without_worker(def: &WorkflowDef) -> bool {
    !def.walk().iter().any(|at| needs_outside_help(at.task))
}

/// The corpus and a compile environment holding all of it, or `None` when it is absent.
struct Corpus {
    workflows: Vec<CorpusWorkflow>,
    env: CompileEnv,
}

impl Corpus {
    fn open(test: &str) -> Option<Corpus> {
        let dir = conductor_corpus(test)?;
        Some(Corpus {
            workflows: corpus_workflows(&dir),
            env: load_env(Some(&dir)),
        })
    }

    fn def(&self, key: &str) -> &WorkflowDef {
        &self
            .workflows
            .iter()
            .find(|w| w.key == key)
            .unwrap_or_else(|| panic!("no corpus workflow {key}"))
            .def
    }

    /// Compiles the workflow `key` and runs it to its end on a fresh host.
    async fn run_with(
        &self,
        key: &str,
        input: Value,
        options: LocalOptions,
    ) -> (Workflow, LocalHost) {
        let compiled = compile(self.def(key), &self.env)
            .unwrap_or_else(|e| panic!("{key} does not compile: {e:?}"));
        let host = LocalHost::open(options).expect("local host");
        host.register(&compiled).expect("register");
        let workflow = host
            .run(&compiled.name, input, StartOptions::default())
            .await
            .expect("run");
        (workflow, host)
    }

    async fn run(&self, key: &str, input: Value) -> Workflow {
        self.run_with(key, input, LocalOptions::default()).await.0
    }
}

fn task<'a>(workflow: &'a Workflow, reference: &str) -> &'a Task {
    workflow
        .tasks
        .iter()
        .rev()
        .find(|t| t.reference_task_name == reference)
        .unwrap_or_else(|| panic!("no task {reference} in {:#?}", workflow.tasks))
}

fn statuses(workflow: &Workflow) -> Vec<(&str, &str)> {
    workflow
        .tasks
        .iter()
        .map(|t| (t.reference_task_name.as_str(), t.status.as_str()))
        .collect()
}

fn reason(workflow: &Workflow) -> String {
    workflow.reason_for_incompletion.clone().unwrap_or_default()
}

/// The corpus workflows this file runs, by key (file stem, `/<index>` for array items).
const WITHOUT_WORKER: [&str; 26] = [
    "ai-examples-36a-ai-route-support-ticket",
    "docs-cookbook-events-publish-internal-event-workflow",
    "docs-cookbook-saga-order-compensation",
    "docs-cookbook-saga-order-fulfillment",
    "e2e-cpewf_task_id_dyn_fork_wf",
    "e2e-do_while_keep_last_n_switch_test",
    "e2e-dyn_fork_test",
    "e2e-sync_workflows.ARRAY/1",
    "e2e-sync_workflows.ARRAY/4",
    "e2e-sync_workflows.ARRAY/5",
    "e2e-sync_workflows.ARRAY/6",
    "e2e-sync_workflows.ARRAY/8",
    "th-do_while_high_iteration_test",
    "th-do_while_set_variable_fix",
    "th-do_while_timeline_ui_demo",
    "th-failure_workflow_for_terminate_task_workflow",
    "th-fork_join_with_optional_sub_workflow_forks_integration_test",
    "th-json_jq_transform_result_integration_test",
    "th-sequential_json_jq_transform_integration_test",
    "th-signal_sub_wf_parent_integration_test",
    "th-simple_json_jq_transform_integration_test",
    "th-simple_lambda_workflow_integration_test",
    "th-simple_set_variable_workflow_integration_test",
    "th-terminate_task_terminated_status_test",
    "th-test_task_failed_parent_workflow",
    "th-workflow_that_starts_another_workflow",
];

#[test]
fn the_workflows_needing_no_worker_are_the_ones_tested_here() {
    let Some(dir) = conductor_corpus("the_workflows_needing_no_worker_are_the_ones_tested_here")
    else {
        return;
    };
    let found: Vec<String> = corpus_workflows(&dir)
        .into_iter()
        .filter(|w| runs_without_worker(&w.def))
        .map(|w| w.key)
        .collect();
    assert_eq!(
        found, WITHOUT_WORKER,
        "a corpus file changed: add or drop its case here"
    );
}

#[test]
fn worker_waits_and_signals_are_what_excludes_a_workflow() {
    let parse = |text: &str| ocflow_dsl::parse_workflow("t.json", text).expect("parses");
    let timed = parse(
        r#"{"name": "w", "tasks": [{"name": "w", "taskReferenceName": "w", "type": "WAIT",
            "inputParameters": {"duration": "1 s"}}]}"#,
    );
    assert!(runs_without_worker(&timed));
    let nested_worker = parse(
        r#"{"name": "w", "tasks": [{"name": "l", "taskReferenceName": "l", "type": "DO_WHILE",
            "loopCondition": "false", "loopOver": [{"name": "s", "taskReferenceName": "s"}]}]}"#,
    );
    assert!(!runs_without_worker(&nested_worker));
    let signal = parse(
        r#"{"name": "w", "tasks": [{"name": "w", "taskReferenceName": "w", "type": "WAIT"}]}"#,
    );
    assert!(!runs_without_worker(&signal));
}

macro_rules! corpus_or_skip {
    ($test:literal) => {
        match Corpus::open($test) {
            Some(corpus) => corpus,
            None => return,
        }
    };
}

#[tokio::test(flavor = "multi_thread")]
async fn ai_route_support_ticket_records_the_support_route() {
    let corpus = corpus_or_skip!("ai_route_support_ticket_records_the_support_route");
    let input = json!({"request": "my invoice is wrong", "routingReason": "billing question"});
    let workflow = corpus
        .run("ai-examples-36a-ai-route-support-ticket", input)
        .await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    assert_eq!(
        workflow.output,
        json!({"route": "support", "request": "my invoice is wrong", "routingReason": "billing question"})
    );
    assert_eq!(statuses(&workflow), [("record_support_route", "COMPLETED")]);
}

#[test]
fn publishing_to_conductors_internal_queue_is_refused_at_compile_time() {
    let Some(corpus) = Corpus::open("publishing_to_conductors_internal_queue") else {
        return;
    };
    // Step Functions has no equivalent of Conductor's internal event queue (README,
    // "Unsupported Conductor features"): the compiler says so and names the sinks it supports.
    let errors = compile(
        corpus.def("docs-cookbook-events-publish-internal-event-workflow"),
        &corpus.env,
    )
    .expect_err("a conductor: sink does not compile");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].pointer, "/tasks/0/sink");
    assert!(
        errors[0].message.contains("conductor:order-status"),
        "{errors:?}"
    );
}

#[test]
fn starting_a_workflow_named_by_the_input_is_refused_at_compile_time() {
    let Some(corpus) = Corpus::open("starting_a_workflow_named_by_the_input") else {
        return;
    };
    // The child's state machine ARN is a deploy-time placeholder, so START_WORKFLOW needs a
    // static name (README, "Unsupported Conductor features").
    let errors = compile(
        corpus.def("th-workflow_that_starts_another_workflow"),
        &corpus.env,
    )
    .expect_err("a dynamic START_WORKFLOW does not compile");
    assert_eq!(
        errors[0].pointer,
        "/tasks/0/inputParameters/startWorkflow/name"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn saga_compensation_refunds_and_releases_what_the_failed_order_did() {
    let corpus = corpus_or_skip!("saga_compensation");
    let empty = corpus
        .run("docs-cookbook-saga-order-compensation", json!({}))
        .await;
    assert_eq!(empty.status, "COMPLETED", "{empty:#?}");
    assert_eq!(empty.output["paymentRefunded"], false);
    assert_eq!(empty.output["inventoryReleased"], false);
    assert_eq!(empty.output["compensatedOrder"], "unknown");
    assert_eq!(
        statuses(&empty),
        [
            ("completed_steps", "COMPLETED"),
            ("route_refund", "COMPLETED"),
            ("route_release", "COMPLETED"),
        ]
    );
}

/// Serves the three saga endpoints on 127.0.0.1:8088 (the port the corpus file names), or
/// `None` when the port is taken.
async fn serve_saga_services() -> Option<tokio::task::JoinHandle<()>> {
    use axum::Json;
    use axum::routing::post;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8088").await.ok()?;
    let app = axum::Router::new()
        .route(
            "/inventory/reserve",
            post(|| async { Json(json!({"reservationId": "RSV-1"})) }),
        )
        .route(
            "/payments/charge",
            post(|| async { Json(json!({"chargeId": "CHG-1"})) }),
        )
        .route(
            "/shipping/book",
            post(|| async { Json(json!({"trackingId": "TRK-1"})) }),
        );
    Some(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }))
}

#[tokio::test(flavor = "multi_thread")]
async fn saga_fulfillment_reserves_charges_and_ships() {
    let corpus = corpus_or_skip!("saga_fulfillment_reserves_charges_and_ships");
    let Some(server) = serve_saga_services().await else {
        eprintln!("saga_fulfillment_reserves_charges_and_ships: skipped: 127.0.0.1:8088 is in use");
        return;
    };
    let input = json!({"orderId": "ORD-7", "amount": 42, "shipmentStatus": "ok"});
    let workflow = corpus
        .run("docs-cookbook-saga-order-fulfillment", input)
        .await;
    server.abort();
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    assert_eq!(
        workflow.output,
        json!({"orderId": "ORD-7", "reservationId": "RSV-1", "chargeId": "CHG-1"})
    );
    assert_eq!(
        statuses(&workflow),
        [
            ("reserve_inventory", "COMPLETED"),
            ("charge_payment", "COMPLETED"),
            ("book_shipment", "COMPLETED"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_last_n_loop_runs_its_switches_until_the_limit() {
    let corpus = corpus_or_skip!("keep_last_n_loop");
    let workflow = corpus
        .run("e2e-do_while_keep_last_n_switch_test", json!({}))
        .await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    assert!(
        workflow.tasks.iter().all(|t| t.status == "COMPLETED"),
        "{:?}",
        statuses(&workflow)
    );
    assert_eq!(
        task(&workflow, "switch_ref__1").output_data["selectedCase"],
        "b"
    );
    assert_eq!(task(&workflow, "inline_ref__1").output_data["result"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamic_forks_of_worker_tasks_fail_without_a_worker() {
    let corpus = corpus_or_skip!("dynamic_forks_of_worker_tasks");
    // The INLINE task computes a fork of one worker task, `fail_on_purpose` (its task definition
    // is in the corpus, so the fork dispatches it to its queue): a one-shot run has no worker,
    // and the forked task fails saying so instead of hanging.
    let mailbot = corpus.run("e2e-cpewf_task_id_dyn_fork_wf", json!({})).await;
    assert_eq!(mailbot.status, "FAILED", "{mailbot:#?}");
    assert_eq!(task(&mailbot, "inline_ref").status, "COMPLETED");
    assert_eq!(task(&mailbot, "fail_on_purpose_ref").status, "FAILED");
    assert!(
        reason(&mailbot).contains("no workers"),
        "{}",
        reason(&mailbot)
    );

    // Here the forked SIMPLE tasks have no task definition: the compiled machine cannot know
    // their queues, and the fork fails naming the task it cannot dispatch.
    let dyn_fork = corpus.run("e2e-dyn_fork_test", json!({})).await;
    assert_eq!(dyn_fork.status, "FAILED", "{dyn_fork:#?}");
    assert_eq!(task(&dyn_fork, "inline_ref").status, "COMPLETED");
    assert!(
        reason(&dyn_fork).contains("unknown task type SIMPLE"),
        "{}",
        reason(&dyn_fork)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_workflows_without_workers_complete() {
    let corpus = corpus_or_skip!("sync_workflows_without_workers_complete");
    for key in ["e2e-sync_workflows.ARRAY/4", "e2e-sync_workflows.ARRAY/8"] {
        let workflow = corpus.run(key, json!({})).await;
        assert_eq!(workflow.status, "COMPLETED", "{key}: {workflow:#?}");
        assert_eq!(workflow.tasks.len(), 1, "{key}");
        assert_eq!(workflow.tasks[0].task_type, "SET_VARIABLE");
        assert_eq!(workflow.tasks[0].status, "COMPLETED");
    }
    let jq = corpus.run("e2e-sync_workflows.ARRAY/5", json!({})).await;
    assert_eq!(jq.status, "COMPLETED", "{jq:#?}");
    assert_eq!(
        jq.tasks[0].output_data["result"],
        json!([{"user": {"email": "mail@mail.com", "id": 1}}, {"user": {"email": "mail2@mail.com", "id": 2}}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sub_workflow_of_worker_tasks_fails_the_parent() {
    let corpus = corpus_or_skip!("a_sub_workflow_of_worker_tasks_fails_the_parent");
    // The child `http` is one SIMPLE task: a one-shot local run has no worker for it.
    let workflow = corpus.run("e2e-sync_workflows.ARRAY/6", json!({})).await;
    assert_eq!(workflow.status, "FAILED", "{workflow:#?}");
    assert_eq!(statuses(&workflow), [("http_sync", "FAILED")]);
    assert!(
        reason(&workflow).contains("no workers"),
        "{}",
        reason(&workflow)
    );

    // The child waits for a signal nobody sends in a one-shot run.
    let signal = corpus
        .run("th-signal_sub_wf_parent_integration_test", json!({}))
        .await;
    assert_eq!(signal.status, "FAILED", "{signal:#?}");
    assert_eq!(statuses(&signal), [("sub_wf_ref", "FAILED")]);
    assert!(
        reason(&signal).contains("external signal"),
        "{}",
        reason(&signal)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn high_iteration_loop_runs_every_lambda() {
    let corpus = corpus_or_skip!("high_iteration_loop_runs_every_lambda");
    // DoWhileSpec: "Test DO_WHILE with 500 LAMBDA iterations completes without StackOverflowError".
    let workflow = corpus
        .run("th-do_while_high_iteration_test", json!({"loop": 500}))
        .await;
    assert_eq!(workflow.status, "COMPLETED", "{}", reason(&workflow));
    assert_eq!(task(&workflow, "loopTask").output_data["iteration"], 500);
    let lambdas = workflow
        .tasks
        .iter()
        .filter(|t| t.task_type == "LAMBDA")
        .count();
    assert_eq!(lambdas, 500);
    assert!(workflow.tasks.iter().all(|t| t.status == "COMPLETED"));
}

#[tokio::test(flavor = "multi_thread")]
async fn set_variable_inside_a_loop_ends_the_loop() {
    let corpus = corpus_or_skip!("set_variable_inside_a_loop_ends_the_loop");
    // DoWhileSpec "Test workflow with Do While task contains set variable task": one iteration,
    // the variable set to "0" ends the loop.
    let workflow = corpus.run("th-do_while_set_variable_fix", json!({})).await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    assert_eq!(
        statuses(&workflow),
        [("loopTask", "COMPLETED"), ("set_variable__1", "COMPLETED")]
    );
    assert_eq!(task(&workflow, "loopTask").output_data["iteration"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn timeline_demo_fails_on_its_own_script() {
    let corpus = corpus_or_skip!("timeline_demo_fails_on_its_own_script");
    // The default-case INLINE reads `$.do_while_switch_ref`, which is not among its
    // inputParameters: the script throws, as it would in Conductor (no spec runs this file).
    let workflow = corpus
        .run("th-do_while_timeline_ui_demo", json!({"loop_limit": 2}))
        .await;
    assert_eq!(workflow.status, "FAILED", "{workflow:#?}");
    assert_eq!(task(&workflow, "default_case_ref__1").status, "FAILED");
    assert!(
        reason(&workflow).contains("iteration"),
        "{}",
        reason(&workflow)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_returns_by_the_input() {
    let corpus = corpus_or_skip!("lambda_returns_by_the_input");
    // LambdaAndTerminateTaskSpec "Test workflow with lambda task": a == 1 gives testvalue true.
    for key in [
        "th-simple_lambda_workflow_integration_test",
        "th-failure_workflow_for_terminate_task_workflow",
    ] {
        let yes = corpus.run(key, json!({"a": 1})).await;
        assert_eq!(yes.status, "COMPLETED", "{key}: {yes:#?}");
        assert_eq!(statuses(&yes), [("lambda0", "COMPLETED")]);
        assert_eq!(
            yes.tasks[0].output_data,
            json!({"result": {"testvalue": true}})
        );
        let no = corpus.run(key, json!({"a": 2})).await;
        assert_eq!(
            no.tasks[0].output_data,
            json!({"result": {"testvalue": false}})
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fork_of_optional_failing_sub_workflows_completes() {
    let corpus = corpus_or_skip!("fork_of_optional_failing_sub_workflows_completes");
    // ForkJoinSpec "Test fork join with sub workflows containing optional tasks": both
    // sub-workflows fail (here: their SIMPLE task has no worker), they are optional, the join
    // and the workflow complete.
    let workflow = corpus
        .run(
            "th-fork_join_with_optional_sub_workflow_forks_integration_test",
            json!({}),
        )
        .await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    assert_eq!(task(&workflow, "st1").status, "FAILED");
    assert_eq!(task(&workflow, "st2").status, "FAILED");
    assert_eq!(task(&workflow, "fanouttask_join").status, "COMPLETED");
}

#[tokio::test(flavor = "multi_thread")]
async fn jq_transform_concatenates_the_arrays() {
    let corpus = corpus_or_skip!("jq_transform_concatenates_the_arrays");
    // JsonJQTransformSpec "Test workflow with json jq transform task succeeds".
    let input = json!({"in1": {"array": ["a", "b"]}, "in2": {"array": ["c", "d"]}});
    let workflow = corpus
        .run("th-simple_json_jq_transform_integration_test", input)
        .await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    assert_eq!(statuses(&workflow), [("jq_1", "COMPLETED")]);
    let out = &workflow.tasks[0].output_data;
    assert_eq!(out["result"], json!({"out": ["a", "b", "c", "d"]}));
    assert_eq!(out["resultList"], json!([{"out": ["a", "b", "c", "d"]}]));
}

#[tokio::test(flavor = "multi_thread")]
async fn jq_transform_of_a_string_fails_the_workflow() {
    let corpus = corpus_or_skip!("jq_transform_of_a_string_fails_the_workflow");
    // JsonJQTransformSpec "Test workflow with json jq transform task fails".
    let input = json!({"in1": "a", "in2": "b"});
    let workflow = corpus
        .run("th-simple_json_jq_transform_integration_test", input)
        .await;
    assert_eq!(workflow.status, "FAILED", "{workflow:#?}");
    assert_eq!(statuses(&workflow), [("jq_1", "FAILED")]);
    assert!(reason(&workflow).contains("array"), "{}", reason(&workflow));
}

#[tokio::test(flavor = "multi_thread")]
async fn jq_result_decisions_pick_the_requested_action() {
    let corpus = corpus_or_skip!("jq_result_decisions_pick_the_requested_action");
    // JsonJQTransformSpec "Test json jq transform task with different json object results
    // succeeds": four tasks, no HTTP call.
    let input = json!({"requestedAction": "redeliver"});
    let workflow = corpus
        .run("th-json_jq_transform_result_integration_test", input)
        .await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    assert_eq!(
        statuses(&workflow),
        [
            ("json_jq_1", "COMPLETED"),
            ("decide_1", "COMPLETED"),
            ("json_jq_2", "COMPLETED"),
            ("decide_2", "COMPLETED"),
        ]
    );
    assert_eq!(workflow.tasks[0].output_data["result"], "CREATE");
    assert_eq!(
        workflow.tasks[1].output_data,
        json!({"caseOutput": ["CREATE"]}),
        "a DECISION's output, as Conductor's"
    );
    let actions = workflow.tasks[2].output_data["result"]
        .as_array()
        .expect("list");
    assert_eq!(actions.len(), 3);
    assert!(actions.contains(&json!("redeliver")));
    assert_eq!(workflow.tasks[3].output_data["caseOutput"], json!(["true"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn sequential_jq_transforms_apply_the_computed_filter() {
    let corpus = corpus_or_skip!("sequential_jq_transforms_apply_the_computed_filter");
    // JsonJQTransformSpec "Test json jq transform task with nested json object succeeds": the
    // second task's filter is the first task's output.
    let input = json!({
        "method": "POST",
        "body": {"name": "Beary Beariston", "title": "the Brown Bear"},
        "requestTransform": "{name: (.body.name + \" you are \" + .body.title) }",
        "responseTransform": "{result: \"reply: \" + .response.body.message}",
    });
    let workflow = corpus
        .run(
            "th-sequential_json_jq_transform_integration_test",
            input.clone(),
        )
        .await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    let first = &workflow.tasks[0].output_data["result"];
    assert_eq!(first["method"], "POST");
    assert_eq!(first["requestTransform"], input["requestTransform"]);
    assert_eq!(first["responseTransform"], input["responseTransform"]);
    assert_eq!(
        workflow.tasks[1].output_data["result"]["name"],
        "Beary Beariston you are the Brown Bear"
    );
    assert_eq!(workflow.tasks.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn set_variable_is_visible_in_the_output() {
    let corpus = corpus_or_skip!("set_variable_is_visible_in_the_output");
    // SetVariableTaskSpec: the variable set from the input is the workflow output.
    let workflow = corpus
        .run(
            "th-simple_set_variable_workflow_integration_test",
            json!({"var": "var_test_value"}),
        )
        .await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    assert_eq!(
        workflow.output,
        json!({"variables": {"var": "var_test_value"}})
    );
    assert_eq!(statuses(&workflow), [("set_variable_1", "COMPLETED")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn terminate_with_terminated_status_skips_the_rest() {
    let corpus = corpus_or_skip!("terminate_with_terminated_status_skips_the_rest");
    let workflow = corpus
        .run("th-terminate_task_terminated_status_test", json!({}))
        .await;
    assert_eq!(workflow.status, "TERMINATED", "{workflow:#?}");
    assert_eq!(reason(&workflow), "Early exit with TERMINATED status");
    assert_eq!(workflow.output, json!({"result": {"testvalue": true}}));
    assert_eq!(
        statuses(&workflow),
        [("lambda0", "COMPLETED"), ("terminate0", "COMPLETED")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sub_workflow_terminated_as_failed_fails_the_parent() {
    let corpus = corpus_or_skip!("a_sub_workflow_terminated_as_failed_fails_the_parent");
    // LambdaAndTerminateTaskSpec: the child's TERMINATE (status FAILED) fails the SUB_WORKFLOW
    // task and the parent; the last lambda never runs.
    let workflow = corpus
        .run(
            "th-test_task_failed_parent_workflow",
            json!({"lambdaValue": 1}),
        )
        .await;
    assert_eq!(workflow.status, "FAILED", "{workflow:#?}");
    assert_eq!(
        statuses(&workflow),
        [
            ("lambdaTask1", "COMPLETED"),
            ("test_task_failed_sub_wf", "FAILED")
        ]
    );
    assert_eq!(
        workflow.tasks[0].output_data["result"],
        json!({"testvalue": "Lambda value was 1", "iValue": 10})
    );
}

/// A host on a virtual clock: under paused tokio time, retry delays take no real time.
fn paused_time_options() -> LocalOptions {
    LocalOptions {
        clock: std::sync::Arc::new(ocflow_engine::VirtualClock::at_2026()),
        ..LocalOptions::default()
    }
}

#[tokio::test(start_paused = true)]
async fn https_to_the_internet_fails_after_its_retries() {
    let corpus = corpus_or_skip!("https_to_the_internet_fails_after_its_retries");
    // Conductor's spec expects a response from orkes-api-tester.orkesconductor.com; the test
    // machine has no internet, so the honest result is a connection failure after the retries.
    let (workflow, _host) = corpus
        .run_with(
            "e2e-sync_workflows.ARRAY/1",
            json!({}),
            paused_time_options(),
        )
        .await;
    assert_eq!(workflow.status, "FAILED", "{workflow:#?}");
    assert!(
        reason(&workflow).starts_with("Ocf."),
        "{}",
        reason(&workflow)
    );
    let attempts: Vec<&Task> = workflow.tasks.iter().collect();
    assert!(
        attempts.len() > 1,
        "the task is retried: {:?}",
        statuses(&workflow)
    );
    assert!(
        attempts
            .iter()
            .all(|t| t.reference_task_name == "http_no_fail" && t.status == "FAILED")
    );
}

#[tokio::test(start_paused = true)]
async fn jq_result_workflow_calls_datausa_when_the_action_is_unknown() {
    let corpus = corpus_or_skip!("jq_result_workflow_calls_datausa_when_the_action_is_unknown");
    // An action not among the transitions takes the HTTP branch; with no internet the call
    // fails after its retries, and the decisions before it are recorded as completed.
    let (workflow, _host) = corpus
        .run_with(
            "th-json_jq_transform_result_integration_test",
            json!({"requestedAction": "unknown"}),
            paused_time_options(),
        )
        .await;
    assert_eq!(workflow.status, "FAILED", "{workflow:#?}");
    assert!(
        reason(&workflow).starts_with("Ocf."),
        "{}",
        reason(&workflow)
    );
    assert_eq!(
        task(&workflow, "decide_2").output_data["caseOutput"],
        json!(["false"])
    );
    assert_eq!(task(&workflow, "get_population_data").status, "FAILED");
}
