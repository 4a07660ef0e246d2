//! Compiles Conductor workflow definitions to AWS Step Functions state machines (ASL, JSONata mode).

pub mod js_condition;
