//! Shared helpers of the engine's scenario tests: an engine on a virtual clock, a scriptable
//! invoker, and a one-event-per-line rendering of histories for snapshots.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ocflow_engine::history::HistoryEvent;
use ocflow_engine::store::{ExecutionStore, MemoryStore};
use ocflow_engine::{
    BoxFuture, Engine, Failure, Invocation, MachineDefinition, ResourceInvoker, VirtualClock,
};
use serde_json::Value;
use tokio::sync::mpsc;

/// Answers Task invocations by state name; `.waitForTaskToken` calls are also sent to a channel
/// so that a test can complete their tokens.
#[derive(Default, Clone)]
pub struct Script {
    handlers: Arc<Mutex<HashMap<String, Handler>>>,
    calls: Arc<Mutex<Vec<Invocation>>>,
    tokens: Arc<Mutex<Option<mpsc::UnboundedSender<Invocation>>>>,
}

type Handler = Arc<dyn Fn(&Invocation) -> Result<Value, Failure> + Send + Sync>;

impl Script {
    pub fn on(
        &self,
        state: &str,
        handler: impl Fn(&Invocation) -> Result<Value, Failure> + Send + Sync + 'static,
    ) -> &Self {
        self.handlers
            .lock()
            .unwrap()
            .insert(state.to_owned(), Arc::new(handler));
        self
    }

    /// Every invocation so far, in order.
    pub fn calls(&self) -> Vec<Invocation> {
        self.calls.lock().unwrap().clone()
    }

    /// A channel receiving each `.waitForTaskToken` invocation.
    pub fn token_calls(&self) -> mpsc::UnboundedReceiver<Invocation> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.tokens.lock().unwrap() = Some(tx);
        rx
    }
}

impl ResourceInvoker for Script {
    fn invoke(&self, invocation: Invocation) -> BoxFuture<'static, Result<Value, Failure>> {
        self.calls.lock().unwrap().push(invocation.clone());
        if invocation.task_token.is_some()
            && let Some(tx) = &*self.tokens.lock().unwrap()
        {
            let _ = tx.send(invocation.clone());
        }
        let handler = self
            .handlers
            .lock()
            .unwrap()
            .get(&invocation.state)
            .cloned();
        Box::pin(async move {
            match handler {
                Some(handler) => handler(&invocation),
                None => Ok(Value::Null),
            }
        })
    }
}

pub struct Harness {
    pub engine: Engine,
    pub script: Script,
    pub store: Arc<MemoryStore>,
}

pub fn harness() -> Harness {
    harness_on(Arc::new(MemoryStore::new()), Script::default())
}

pub fn harness_on(store: Arc<MemoryStore>, script: Script) -> Harness {
    let engine = Engine::builder()
        .store(store.clone() as Arc<dyn ExecutionStore>)
        .clock(Arc::new(VirtualClock::at_2026()))
        .invoker(Arc::new(script.clone()))
        .build();
    Harness {
        engine,
        script,
        store,
    }
}

impl Harness {
    pub fn register(&self, name: &str, asl: Value) {
        let definition = MachineDefinition::from_json(&asl).expect("valid ASL");
        self.engine.register(name, definition).expect("registers");
    }

    /// The history rendered one event per line, timestamps relative to the start.
    pub fn history(&self, id: &str) -> String {
        render(&self.engine.history(id).expect("history"))
    }
}

pub fn render(history: &[HistoryEvent]) -> String {
    let start = history.first().map_or(0, |e| e.timestamp);
    history
        .iter()
        .map(|event| {
            let mut value = serde_json::to_value(event).expect("serialises");
            let fields = value.as_object_mut().expect("an object");
            fields.remove("id");
            fields.remove("timestamp");
            let scope = fields
                .remove("scope")
                .and_then(|s| s.as_str().map(str::to_owned));
            let kind = fields
                .remove("type")
                .and_then(|s| s.as_str().map(str::to_owned));
            format!(
                "{:>3} {:>+8}ms {}{} {}",
                event.id,
                event.timestamp - start,
                scope.map(|s| format!("[{s}] ")).unwrap_or_default(),
                kind.unwrap_or_default(),
                Value::Object(fields.clone())
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
