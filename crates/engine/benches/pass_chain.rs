//! Transitions per second of a 10-state JSONata Pass chain on a [`MemoryStore`]: each state
//! assigns a variable and shapes its output with a small expression. Criterion's throughput
//! figure (elements/s) is transitions/s.

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ocflow_engine::store::{ExecutionStatus, MemoryStore};
use ocflow_engine::{Engine, MachineDefinition, StartOptions};
use serde_json::{Map, Value, json};

const STATES: usize = 10;

fn chain() -> Value {
    let mut states = Map::new();
    for i in 0..STATES {
        let mut state = json!({
            "Type": "Pass",
            "Assign": {"total": "{% $total + $states.input.step %}"},
            "Output": {"step": "{% $states.input.step + 1 %}", "name": "{% $states.input.name %}"}
        });
        if i + 1 < STATES {
            state["Next"] = json!(format!("S{}", i + 1));
        } else {
            state["End"] = json!(true);
        }
        states.insert(format!("S{i}"), state);
    }
    states["S0"]["Assign"] = json!({"total": "{% $states.input.step %}"});
    json!({"QueryLanguage": "JSONata", "StartAt": "S0", "States": states})
}

fn pass_chain(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let engine = runtime.block_on(async {
        let engine = Engine::builder()
            .store(Arc::new(MemoryStore::new()))
            .build();
        let definition = MachineDefinition::from_json(&chain()).expect("valid ASL");
        engine.register("chain", definition).expect("registers");
        engine
    });
    let input = json!({"step": 1, "name": "bench"});
    let mut group = c.benchmark_group("pass_chain");
    group.throughput(Throughput::Elements(STATES as u64));
    group.bench_function("10 Pass states, MemoryStore", |b| {
        b.iter(|| {
            let done = runtime
                .block_on(engine.run("chain", input.clone(), StartOptions::default()))
                .expect("runs");
            assert_eq!(done.status, ExecutionStatus::Succeeded);
        });
    });
    group.finish();
}

criterion_group!(benches, pass_chain);
criterion_main!(benches);
