//! Every workflow in `workflows/` run end to end on the embedded engine against the example
//! OCF services, checked the way a user reads the result: status, output, and task statuses.

use ocflow_engine::StartOptions;
use ocflow_engine::conductor::{Task, Workflow};
use ocflow_tests::{ExampleServices, compile_file, workspace_root};
use serde_json::{Value, json};

/// Compiles `workflows/<name>/workflow.json` and runs it with `input` against fresh services.
async fn run(name: &str, input: Value) -> Workflow {
    let root = workspace_root();
    let compiled = compile_file(
        &root.join("workflows").join(name).join("workflow.json"),
        Some(&root.join("workflows")),
    );
    let services = ExampleServices::start().await;
    let host = services.host();
    host.register(&compiled).expect("register");
    host.run(&compiled.name, input, StartOptions::default())
        .await
        .expect("run")
}

fn example_input(name: &str) -> Value {
    let path = workspace_root()
        .join("workflows")
        .join(name)
        .join("input.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn task<'a>(workflow: &'a Workflow, reference: &str) -> &'a Task {
    workflow
        .tasks
        .iter()
        .rev()
        .find(|t| t.reference_task_name == reference)
        .unwrap_or_else(|| panic!("no task {reference} in {:#?}", workflow.tasks))
}

fn starts_with(value: &Value, prefix: &str) -> bool {
    value.as_str().is_some_and(|s| s.starts_with(prefix))
}

#[tokio::test(flavor = "multi_thread")]
async fn order_fulfillment_by_card_retries_the_payment_and_ships() {
    let workflow = run("order-fulfillment", example_input("order-fulfillment")).await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    let out = &workflow.output;
    assert_eq!(out["orderId"], "ORD-1001");
    assert_eq!(out["total"], json!(28.6));
    assert!(starts_with(&out["reservationId"], "RSV-"), "{out}");
    assert!(starts_with(&out["chargeId"], "CHG-"), "{out}");
    assert!(starts_with(&out["trackingId"], "TRK-"), "{out}");
    assert_eq!(out["confirmationStatus"], 202);
    assert_eq!(out["billing"], Value::Null);

    // The payment service answers 503 to the first attempt: one retry, then success.
    let charge = task(&workflow, "charge");
    assert_eq!(charge.status, "COMPLETED");
    assert_eq!(charge.retry_count, 1);
    // "card" is no case of the switch: its default branch runs, and the task shows the value
    // it evaluated, as Conductor's SWITCH does.
    let route = task(&workflow, "payment_route");
    assert_eq!(
        route.output_data,
        json!({"evaluationResult": ["card"], "selectedCase": "card"})
    );
    assert_eq!(
        route.input_data,
        json!({"method": "card", "case": "card", "hasChildren": "true"})
    );
    for reference in ["validate", "reserve", "ship", "notify"] {
        assert_eq!(
            task(&workflow, reference).status,
            "COMPLETED",
            "{reference}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn order_fulfillment_by_invoice_sets_a_variable_and_charges_nothing() {
    let mut input = example_input("order-fulfillment");
    input["paymentMethod"] = json!("invoice");
    let workflow = run("order-fulfillment", input).await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    assert_eq!(workflow.output["billing"], "invoice due in 30 days");
    assert_eq!(workflow.output["chargeId"], Value::Null);
    assert!(
        workflow
            .tasks
            .iter()
            .all(|t| t.reference_task_name != "charge")
    );
    assert_eq!(task(&workflow, "mark_invoiced").status, "COMPLETED");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_out_of_stock_order_fails_at_the_reservation_without_retrying() {
    let mut input = example_input("order-fulfillment");
    input["items"][0]["sku"] = json!("OOS-1");
    let workflow = run("order-fulfillment", input).await;
    assert_eq!(workflow.status, "FAILED", "{workflow:#?}");
    let reserve = task(&workflow, "reserve");
    assert_eq!(reserve.status, "FAILED");
    assert_eq!(reserve.retry_count, 0, "a 409 is not retried");
    let reason = workflow.reason_for_incompletion.clone().unwrap_or_default();
    assert!(reason.contains("Ocf.Http4xx"), "{reason}");
    assert!(reason.contains("409"), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn price_quote_fans_out_one_call_per_line_and_sums_them() {
    let workflow = run("price-quote", example_input("price-quote")).await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    let lines = workflow.output["lines"].as_array().expect("lines").clone();
    assert_eq!(lines.len(), 3);
    let skus: Vec<&str> = lines.iter().filter_map(|l| l["sku"].as_str()).collect();
    assert_eq!(skus, ["BOOK-42", "LAMP-3", "PEN-7"], "sorted by sku");
    let sum: f64 = lines.iter().filter_map(|l| l["total"].as_f64()).sum();
    let total = workflow.output["total"].as_f64().expect("total");
    assert!((total - sum).abs() < 1e-9, "{total} != {sum}");
    for i in 0..3 {
        let quote = task(&workflow, &format!("quote_{i}"));
        assert_eq!(quote.status, "COMPLETED");
        assert_eq!(quote.task_type, "HTTP");
    }
    let join = task(&workflow, "quote_lines_join");
    let mut joined: Vec<&String> = join.output_data.as_object().expect("map").keys().collect();
    joined.sort();
    assert_eq!(joined, ["quote_0", "quote_1", "quote_2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn shipment_tracking_loops_until_delivered() {
    let workflow = run("shipment-tracking", example_input("shipment-tracking")).await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    // The service moves the parcel one step per check: PICKED_UP, IN_TRANSIT, DELIVERED.
    assert_eq!(workflow.output["status"], "DELIVERED");
    assert_eq!(workflow.output["checks"], 3);
    let checks: Vec<&Task> = workflow
        .tasks
        .iter()
        .filter(|t| t.reference_task_name.starts_with("check"))
        .collect();
    assert_eq!(checks.len(), 3, "{checks:#?}");
    assert!(checks.iter().all(|t| t.status == "COMPLETED"));
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_pays_through_the_payment_sub_workflow() {
    let workflow = run("checkout", example_input("checkout")).await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    assert_eq!(workflow.output["charged"], true);
    assert!(
        starts_with(&workflow.output["chargeId"], "CHG-"),
        "{}",
        workflow.output
    );
    let pay = task(&workflow, "pay");
    assert_eq!(pay.task_type, "SUB_WORKFLOW");
    assert_eq!(pay.status, "COMPLETED");
    let child = pay.output_data["subWorkflowId"]
        .as_str()
        .expect("subWorkflowId");
    assert_eq!(workflow.output["paymentWorkflowId"], child);
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_terminates_early_when_nothing_is_owed() {
    let workflow = run("checkout", json!({"orderId": "ORD-0", "amount": 0})).await;
    assert_eq!(workflow.status, "COMPLETED", "{workflow:#?}");
    assert_eq!(
        workflow.output,
        json!({"orderId": "ORD-0", "charged": false})
    );
    assert_eq!(task(&workflow, "nothing_to_pay").status, "COMPLETED");
    assert!(
        workflow
            .tasks
            .iter()
            .all(|t| t.reference_task_name != "pay")
    );
}

/// State transitions Step Functions would bill for an execution (states entered, plus retries)
/// and the Conductor tasks it executed, as Conductor lists them (each attempt is a task; JOINs
/// are tasks too).
fn transitions_and_tasks(host: &ocflow_local::LocalHost, workflow: &Workflow) -> (usize, usize) {
    use ocflow_engine::history::EventKind;
    let history = host
        .engine()
        .history(&workflow.workflow_id)
        .expect("history");
    let transitions = history
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::StateEntered { .. } | EventKind::RetryScheduled { .. }
            )
        })
        .count();
    (transitions, workflow.tasks.len())
}

#[tokio::test(flavor = "multi_thread")]
async fn executed_examples_cost_at_most_1_2_transitions_per_conductor_task() {
    let root = workspace_root();
    let mut ratios = Vec::new();
    for name in [
        "order-fulfillment",
        "price-quote",
        "shipment-tracking",
        "checkout",
        "payment",
    ] {
        let compiled = compile_file(
            &root.join("workflows").join(name).join("workflow.json"),
            Some(&root.join("workflows")),
        );
        let services = ExampleServices::start().await;
        let host = services.host();
        host.register(&compiled).expect("register");
        let input = if name == "payment" {
            json!({"orderId": "ORD-7", "amount": 12.5, "currency": "EUR"})
        } else {
            example_input(name)
        };
        let workflow = host
            .run(&compiled.name, input, StartOptions::default())
            .await
            .expect("run");
        assert_eq!(workflow.status, "COMPLETED", "{name}: {workflow:#?}");
        let (transitions, tasks) = transitions_and_tasks(&host, &workflow);
        let ratio = transitions as f64 / tasks as f64;
        println!("{name}: {transitions} transitions for {tasks} Conductor tasks = {ratio:.3}");
        ratios.push(ratio);
    }
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    println!("mean transitions per executed Conductor task: {mean:.3}");
    assert!(mean <= 1.2, "mean {mean:.3} is over the 1.2 budget");
}
