//! Transitions per second of the same 10-state JSONata Pass chain on the local engine (SQLite
//! file store, WAL) and on moto's Step Functions, side by side in one process.
//!
//! Each round starts a batch of executions at once and waits for all of them; the figure is
//! (executions × 10) / wall time. Prints every round, then the medians and their ratio.
//!
//! `cargo bench -p ocflow-tests --bench engine_vs_moto` (options: `--rounds N`,
//! `--engine-batch N`, `--moto-batch N`, `--memory-store` to run the engine on its memory
//! store instead, which shows the share of SQLite, and `--engine-only` to skip moto, for
//! profiling the engine side).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ocflow_aws::aws_sdk_sfn;
use ocflow_aws::aws_sdk_sfn::types::{ExecutionStatus as SfnStatus, StateMachineType};
use ocflow_engine::store::{ExecutionStatus, ExecutionStore, MemoryStore};
use ocflow_engine::{Engine, MachineDefinition, StartOptions};
use ocflow_store::SqliteStore;
use ocflow_tests::moto::Moto;
use serde_json::{Map, Value, json};

/// States in the chain, and so transitions per execution.
const STATES: usize = 10;

/// The chain: each state adds to a variable and shapes its output with a small expression.
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

struct Options {
    rounds: usize,
    engine_batch: usize,
    moto_batch: usize,
    memory_store: bool,
    engine_only: bool,
}

fn options() -> Options {
    let mut options = Options {
        rounds: 5,
        engine_batch: 500,
        moto_batch: 40,
        memory_store: false,
        engine_only: false,
    };
    let args: Vec<String> = std::env::args().collect();
    options.memory_store = args.iter().any(|arg| arg == "--memory-store");
    options.engine_only = args.iter().any(|arg| arg == "--engine-only");
    for pair in args.windows(2) {
        let value = pair[1].parse().ok();
        match (pair[0].as_str(), value) {
            ("--rounds", Some(n)) => options.rounds = n,
            ("--engine-batch", Some(n)) => options.engine_batch = n,
            ("--moto-batch", Some(n)) => options.moto_batch = n,
            _ => {}
        }
    }
    options
}

async fn engine_round(engine: &Engine, batch: usize) -> f64 {
    let started = Instant::now();
    let ids: Vec<String> = (0..batch)
        .map(|i| {
            engine
                .start(
                    "chain",
                    json!({"step": 1, "name": format!("run-{i}")}),
                    StartOptions::default(),
                )
                .expect("starts")
        })
        .collect();
    for id in ids {
        let record = engine.wait(&id).await.expect("ends");
        assert_eq!(record.status, ExecutionStatus::Succeeded);
    }
    (batch * STATES) as f64 / started.elapsed().as_secs_f64()
}

async fn moto_round(sfn: &aws_sdk_sfn::Client, arn: &str, round: usize, batch: usize) -> f64 {
    let started = Instant::now();
    let mut executions = Vec::new();
    for i in 0..batch {
        let started = sfn
            .start_execution()
            .state_machine_arn(arn)
            .name(format!("r{round}-{i}"))
            .input(json!({"step": 1, "name": format!("run-{i}")}).to_string())
            .send()
            .await
            .expect("starts on moto");
        executions.push(started.execution_arn);
    }
    for execution in executions {
        loop {
            let described = sfn
                .describe_execution()
                .execution_arn(&execution)
                .send()
                .await
                .expect("described");
            if described.status != SfnStatus::Running {
                assert_eq!(described.status, SfnStatus::Succeeded);
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    (batch * STATES) as f64 / started.elapsed().as_secs_f64()
}

fn median(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures[figures.len() / 2]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// The machine on moto, ready to start.
struct MotoSide {
    sfn: aws_sdk_sfn::Client,
    arn: String,
}

async fn moto_side(moto: &Moto) -> MotoSide {
    let sfn = aws_sdk_sfn::Client::new(&moto.sdk_config().await);
    let arn = sfn
        .create_state_machine()
        .name("chain")
        .definition(chain().to_string())
        .role_arn("arn:aws:iam::123456789012:role/ocflow-bench")
        .r#type(StateMachineType::Standard)
        .send()
        .await
        .expect("moto creates the machine")
        .state_machine_arn;
    MotoSide { sfn, arn }
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let moto = (!options.engine_only).then(|| Moto::start().expect("moto starts"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    runtime.block_on(async {
        let store: Arc<dyn ExecutionStore> = if options.memory_store {
            Arc::new(MemoryStore::new())
        } else {
            Arc::new(SqliteStore::open(dir.path().join("bench.sqlite")).expect("a file store"))
        };
        let engine = Engine::builder().store(store).build();
        let definition = MachineDefinition::from_json(&chain()).expect("valid ASL");
        engine.register("chain", definition).expect("registers");
        let remote_side = match &moto {
            Some(moto) => Some(moto_side(moto).await),
            None => None,
        };

        // Warm-up: JSONata caches, SQLite pages, moto's imports.
        engine_round(&engine, options.engine_batch / 10 + 1).await;
        if let Some(side) = &remote_side {
            moto_round(&side.sfn, &side.arn, usize::MAX, 2).await;
        }

        let (mut local, mut remote) = (Vec::new(), Vec::new());
        println!(
            "engine store: {}; load average before: {}",
            if options.memory_store { "memory" } else { "SQLite file (WAL)" },
            load_average()
        );
        for round in 0..options.rounds {
            let e = engine_round(&engine, options.engine_batch).await;
            local.push(e);
            let Some(side) = &remote_side else {
                println!(
                    "round {round}: engine {e:>9.0} transitions/s ({} executions), load {}",
                    options.engine_batch,
                    load_average()
                );
                continue;
            };
            let m = moto_round(&side.sfn, &side.arn, round, options.moto_batch).await;
            println!(
                "round {round}: engine {e:>9.0} transitions/s ({} executions), moto {m:>6.0} transitions/s ({} executions), load {}",
                options.engine_batch,
                options.moto_batch,
                load_average()
            );
            remote.push(m);
        }
        let e = median(local);
        if remote.is_empty() {
            println!("median: engine {e:.0} transitions/s");
        } else {
            let m = median(remote);
            println!("median: engine {e:.0} transitions/s, moto {m:.0} transitions/s, ratio {:.0}x", e / m);
        }
    });
}
