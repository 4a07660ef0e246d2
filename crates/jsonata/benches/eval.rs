//! Cost of evaluating the expressions a compiled state machine runs on every state transition.

use criterion::{Criterion, criterion_group, criterion_main};
use ocflow_jsonata::{Bindings, Expression, Template};
use serde_json::json;
use std::hint::black_box;

fn bindings() -> Bindings {
    let mut bindings = Bindings::with_states(json!({
        "input": {"orderId": "o-42", "customer": {"id": "c-7", "tier": "gold"}, "lines": [
            {"sku": "a", "qty": 2, "price": 1.5},
            {"sku": "b", "qty": 1, "price": 7}
        ]},
        "context": {"Execution": {"Id": "arn:aws:states:local:0:execution:m:e", "Name": "e"}}
    }));
    bindings.insert(
        "workflow",
        json!({"input": {"region": "eu", "priority": 3}}),
    );
    bindings.insert("vars", json!({"attempt": 1}));
    bindings
}

fn eval(c: &mut Criterion) {
    let bindings = bindings();

    let reference =
        Expression::parse("$exists($states.input.customer.id) ? $states.input.customer.id : null")
            .expect("parses");
    c.bench_function("guarded reference", |b| {
        b.iter(|| reference.evaluate_without_input(black_box(&bindings)))
    });

    let condition =
        Expression::parse("$workflow.input.priority > 2 and $vars.attempt < 3").expect("parses");
    c.bench_function("choice condition", |b| {
        b.iter(|| condition.evaluate_without_input(black_box(&bindings)))
    });

    let arguments = Template::compile(&json!({
        "orderId": "{% $states.input.orderId %}",
        "total": "{% $sum($states.input.lines.(qty * price)) %}",
        "region": "{% $workflow.input.region %}",
        "label": "{% 'order ' & $states.input.orderId & ' for ' & $states.input.customer.id %}",
        "static": "yes"
    }))
    .expect("compiles");
    c.bench_function("arguments template (4 expressions)", |b| {
        b.iter(|| arguments.evaluate(black_box(&bindings)))
    });

    c.bench_function("parse", |b| {
        b.iter(|| Expression::parse(black_box("$states.input.lines[qty > 1].sku")))
    });
}

criterion_group!(benches, eval);
criterion_main!(benches);
