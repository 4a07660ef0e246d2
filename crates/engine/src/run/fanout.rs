//! Parallel branches and Map iterations, each a tokio task with its own history scope.

use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{Ctx, Env, Vars, child_path, eval};
use crate::error::{Failure, names};
use crate::history::EventKind;
use crate::machine::{Field, MapNode, Scope};

impl Ctx {
    pub(super) async fn parallel(
        &self,
        env: &Env<'_>,
        vars: &Vars,
        branches: &[Arc<Scope>],
        input: Value,
    ) -> Result<Value, Failure> {
        let outer = vars.snapshot();
        let mut set = JoinSet::new();
        for (index, branch) in branches.iter().enumerate() {
            let ctx = self.clone();
            let branch = branch.clone();
            let path = child_path(env.path, &env.node.name, index);
            let input = input.clone();
            let outer = outer.clone();
            set.spawn(async move {
                let mut vars = Vars::nested(outer);
                (index, ctx.run_scope(&branch, &path, input, &mut vars).await)
            });
        }
        let mut outputs = vec![Value::Null; branches.len()];
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((index, Ok(output))) => outputs[index] = output,
                Ok((_, Err(failure))) => return Err(failure),
                Err(e) => return Err(Failure::runtime(format!("a branch stopped: {e}"))),
            }
        }
        Ok(Value::Array(outputs))
    }

    pub(super) async fn map(
        &self,
        env: &Env<'_>,
        vars: &Vars,
        map: &MapNode,
    ) -> Result<Value, Failure> {
        let name = &env.node.name;
        if map.has_item_reader {
            return Err(Failure::new(
                names::ITEM_READER_FAILED,
                format!("state '{name}': ItemReader is not supported by the local engine"),
            ));
        }
        let bindings = self.bindings(env, vars, None, None, None);
        let items = match &map.items {
            Some(field) => eval(field, name, &bindings)?,
            None => env.input.clone(),
        };
        let Value::Array(items) = items else {
            return Err(Failure::new(
                names::QUERY_EVALUATION_ERROR,
                format!("state '{name}', field Items: expected an array"),
            ));
        };
        let number = |field: &Option<Field>, label: &str| -> Result<Option<f64>, Failure> {
            field
                .as_ref()
                .map(|f| {
                    let value = eval(f, name, &bindings)?;
                    value.as_f64().ok_or_else(|| {
                        Failure::new(
                            names::QUERY_EVALUATION_ERROR,
                            format!(
                                "state '{name}', field {label}: expected a number, got {value}"
                            ),
                        )
                    })
                })
                .transpose()
        };
        let limit = number(&map.max_concurrency, "MaxConcurrency")?.unwrap_or(0.0) as usize;
        let tolerated_count = number(&map.tolerated_count, "ToleratedFailureCount")?;
        let tolerated_percentage = number(&map.tolerated_percentage, "ToleratedFailurePercentage")?;
        let tolerant = tolerated_count.is_some() || tolerated_percentage.is_some();
        // Each item's input: ItemSelector with `$states.context.Map.Item`, or the item itself.
        let mut inputs = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            inputs.push(match &map.item_selector {
                Some(selector) => {
                    let b = self.bindings(env, vars, None, None, Some((index, item)));
                    eval(selector, name, &b)?
                }
                None => item.clone(),
            });
        }
        drop(bindings);
        let total = inputs.len();
        // A distributed Map's child executions cannot read the parent's variables.
        let outer = if map.distributed {
            Arc::new(Map::new())
        } else {
            vars.snapshot()
        };
        let permits = Arc::new(Semaphore::new(if limit == 0 {
            Semaphore::MAX_PERMITS
        } else {
            limit
        }));
        let mut set = JoinSet::new();
        for (index, input) in inputs.into_iter().enumerate() {
            let ctx = self.clone();
            let processor = map.processor.clone();
            let path = child_path(env.path, name, index);
            let outer = outer.clone();
            let permits = permits.clone();
            let state = name.clone();
            set.spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return (index, Err(Failure::runtime("the Map was closed")));
                };
                let started = ctx.record(&path, EventKind::MapIterationStarted { state, index });
                if let Err(failure) = started {
                    return (index, Err(failure));
                }
                let mut vars = Vars::nested(outer);
                (
                    index,
                    ctx.run_scope(&processor, &path, input, &mut vars).await,
                )
            });
        }
        let mut outputs = vec![Value::Null; total];
        let mut failed = 0_usize;
        while let Some(joined) = set.join_next().await {
            let (index, outcome) =
                joined.map_err(|e| Failure::runtime(format!("a Map iteration stopped: {e}")))?;
            match outcome {
                Ok(output) => outputs[index] = output,
                Err(failure) if !tolerant || failure.error == names::RUNTIME => {
                    return Err(failure);
                }
                Err(failure) => {
                    failed += 1;
                    let over_count = tolerated_count.is_some_and(|c| failed as f64 > c);
                    let over_share = tolerated_percentage
                        .is_some_and(|p| failed as f64 * 100.0 > p * total as f64);
                    if over_count || over_share {
                        return Err(Failure::new(
                            names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                            format!(
                                "state '{name}': {failed} of {total} iterations failed, more than tolerated"
                            ),
                        ));
                    }
                    outputs[index] = failure.to_error_output();
                }
            }
        }
        Ok(Value::Array(outputs))
    }
}
