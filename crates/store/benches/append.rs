//! Cost of persisting state transitions: each call appends the StateEntered + StateExited pair
//! one transition makes, to a file store in WAL mode with `synchronous=NORMAL`.

use std::hint::black_box;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ocflow_engine::history::{EventKind, HistoryEvent, Millis};
use ocflow_engine::store::{ExecutionRecord, ExecutionStatus, ExecutionStore};
use ocflow_store::SqliteStore;
use serde_json::{Value, json};

/// Transitions per execution before the writer starts a new one (Step Functions caps a
/// history at 25,000 events).
const TRANSITIONS_PER_EXECUTION: u64 = 5_000;

/// Appends transitions to a sequence of executions, as the engine would.
struct Writer {
    store: Arc<SqliteStore>,
    name: String,
    executions: u64,
    next_event: u64,
    payload: Value,
}

impl Writer {
    fn new(store: Arc<SqliteStore>, name: &str, payload: Value) -> Self {
        Writer {
            store,
            name: name.to_owned(),
            executions: 0,
            next_event: 0,
            payload,
        }
    }

    fn execution_id(&self) -> String {
        format!("{}-{}", self.name, self.executions)
    }

    fn transition(&mut self) {
        if self.next_event == 0 || self.next_event > 2 * TRANSITIONS_PER_EXECUTION {
            self.executions += 1;
            self.next_event = 1;
            let record = ExecutionRecord {
                id: self.execution_id(),
                machine: "bench".into(),
                definition: Arc::new(json!({"asl": {"StartAt": "A", "States": {}}})),
                input: self.payload.clone(),
                status: ExecutionStatus::Running,
                start_time: 0,
                end_time: None,
                output: None,
                error: None,
                cause: None,
                parent_id: None,
                correlation_id: None,
            };
            self.store.create_execution(&record).expect("creates");
        }
        let id = self.next_event;
        let events = [
            HistoryEvent {
                id,
                timestamp: id as Millis,
                scope: String::new(),
                kind: EventKind::StateEntered {
                    state: "Charge card".into(),
                    input: self.payload.clone(),
                },
            },
            HistoryEvent {
                id: id + 1,
                timestamp: id as Millis + 1,
                scope: String::new(),
                kind: EventKind::StateExited {
                    state: "Charge card".into(),
                    output: self.payload.clone(),
                    assigned: Default::default(),
                },
            },
        ];
        self.store
            .append_events(&self.execution_id(), black_box(&events))
            .expect("appends");
        self.next_event += 2;
    }
}

fn small_payload() -> Value {
    json!({"orderId": "o-42", "customer": {"id": "c-7", "tier": "gold"}, "lines": [
        {"sku": "a", "qty": 2, "price": 1.5},
        {"sku": "b", "qty": 1, "price": 7}
    ]})
}

fn payload_of(bytes: usize) -> Value {
    let line = json!({"sku": "sku-000000", "qty": 1, "price": 9.99, "note": "x"});
    let per_line = line.to_string().len() + 1;
    json!({"orderId": "o-42", "lines": vec![line; bytes / per_line]})
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open(dir.path().join("bench.db")).expect("opens"));

    let mut group = c.benchmark_group("append transition");
    group.throughput(Throughput::Elements(2));

    let mut small = Writer::new(Arc::clone(&store), "small", small_payload());
    group.bench_function("small payload", |b| b.iter(|| small.transition()));

    let mut large = Writer::new(Arc::clone(&store), "4k", payload_of(4 * 1024));
    group.bench_function("4 KiB payload", |b| b.iter(|| large.transition()));

    let threads = 4;
    let mut round = 0;
    group.bench_function("small payload, 4 threads", |b| {
        b.iter_custom(|iters| {
            round += 1;
            let per_thread = iters.div_ceil(threads);
            let start = Instant::now();
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let store = Arc::clone(&store);
                    thread::spawn(move || {
                        let name = format!("threads-{round}-{t}");
                        let mut writer = Writer::new(store, &name, small_payload());
                        for _ in 0..per_thread {
                            writer.transition();
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.join().expect("writer thread");
            }
            // Report the time of `iters` transitions even when rounding up made a few more.
            let elapsed = start.elapsed();
            Duration::from_secs_f64(
                elapsed.as_secs_f64() * iters as f64 / (per_thread * threads) as f64,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
