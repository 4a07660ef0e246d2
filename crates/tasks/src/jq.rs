//! JSON_JQ_TRANSFORM with jaq.
//!
//! [`transform`] runs `queryExpression` over the task input and returns
//! `{"result": <first output>, "resultList": [<every output>]}` as Conductor's JsonJqTransform
//! does (`result` is null when the filter yields nothing). Compiling a filter costs about
//! 300 µs and running one about 1 µs, so compiled filters are kept in a bounded
//! least-recently-used [`FilterCache`] keyed by the filter text.
//!
//! Parse and runtime errors fail with `Script.Error`; a filter still producing outputs past the
//! script time limit fails with `Script.Timeout` (a single output that never ends, such as
//! `last(range(infinite))`, is not interrupted: jaq has no interrupt hook).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use indexmap::IndexMap;
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data::JustLut};
use jaq_json::Val;
use ocflow_protocol::errors;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::script::ScriptContext;
use crate::{TaskFailure, failure};

/// A compiled jq filter.
pub type Filter = jaq_core::Filter<JustLut<Val>>;

/// How many compiled filters a [`FilterCache`] keeps by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 256;

/// Compiled filters by filter text, least recently used evicted first.
pub struct FilterCache {
    capacity: usize,
    filters: Mutex<IndexMap<String, Arc<Filter>>>,
}

impl std::fmt::Debug for FilterCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for FilterCache {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CACHE_CAPACITY)
    }
}

impl FilterCache {
    /// A cache keeping at most `capacity` filters (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            filters: Mutex::new(IndexMap::new()),
        }
    }

    /// How many filters are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The compiled `query`, compiling it on a miss.
    pub fn get(&self, query: &str) -> Result<Arc<Filter>, TaskFailure> {
        {
            let mut filters = self.lock();
            if let Some(index) = filters.get_index_of(query) {
                let last = filters.len() - 1;
                filters.move_index(index, last);
                return Ok(Arc::clone(&filters[last]));
            }
        }
        // Compile outside the lock; two threads may race on the same text, which is harmless.
        let filter = Arc::new(compile(query).map_err(|e| failure(errors::SCRIPT_ERROR, e))?);
        let mut filters = self.lock();
        while filters.len() >= self.capacity {
            filters.shift_remove_index(0);
        }
        filters.insert(query.to_owned(), Arc::clone(&filter));
        Ok(filter)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IndexMap<String, Arc<Filter>>> {
        self.filters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Compiles a jq filter with jaq's core, standard and JSON definitions.
pub fn compile(query: &str) -> Result<Filter, String> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader
        .load(
            &arena,
            File {
                code: query,
                path: (),
            },
        )
        .map_err(|errors| format!("invalid jq filter {query:?}: {errors:?}"))?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errors| format!("invalid jq filter {query:?}: {errors:?}"))
}

/// Runs `query` over `input`: `{"result": <first>, "resultList": [<all>]}`.
pub fn transform(
    context: &ScriptContext,
    query: &str,
    input: &Value,
) -> Result<Value, TaskFailure> {
    let filter = context.jq_filters.get(query)?;
    let outputs = run(&filter, input, Instant::now() + context.time_limit, context)?;
    Ok(json!({
        "result": outputs.first().cloned().unwrap_or(Value::Null),
        "resultList": outputs,
    }))
}

fn run(
    filter: &Filter,
    input: &Value,
    deadline: Instant,
    context: &ScriptContext,
) -> Result<Vec<Value>, TaskFailure> {
    let input = Val::deserialize(input)
        .map_err(|e| failure(errors::SCRIPT_ERROR, format!("jq input: {e}")))?;
    let ctx = Ctx::<JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut outputs = Vec::new();
    for output in filter.id.run((ctx, input)).map(jaq_core::unwrap_valr) {
        if Instant::now() >= deadline {
            return Err(failure(
                errors::SCRIPT_TIMEOUT,
                format!(
                    "jq filter not evaluated within {} ms",
                    context.time_limit.as_millis()
                ),
            ));
        }
        let value = output.map_err(|e| failure(errors::SCRIPT_ERROR, format!("jq: {e}")))?;
        outputs.push(to_json(&value));
    }
    Ok(outputs)
}

/// jaq values print as JSON; numbers jq cannot print as JSON (NaN) become null.
fn to_json(value: &Val) -> Value {
    let text = value.to_string();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(query: &str, input: Value) -> Result<Value, TaskFailure> {
        transform(&ScriptContext::default(), query, &input)
    }

    #[test]
    fn result_is_the_first_output_and_result_list_all_of_them() {
        assert_eq!(
            run(".a[]", json!({"a": [1, 2]})).unwrap(),
            json!({"result": 1, "resultList": [1, 2]})
        );
        assert_eq!(
            run("empty", json!({})).unwrap(),
            json!({"result": null, "resultList": []})
        );
        assert_eq!(
            run("{b: .a}", json!({"a": "x"})).unwrap(),
            json!({"result": {"b": "x"}, "resultList": [{"b": "x"}]})
        );
    }

    #[test]
    fn errors_are_script_errors() {
        let parse = run(".a | ", json!({})).unwrap_err();
        assert_eq!(parse.error, errors::SCRIPT_ERROR);
        let runtime = run(".a + 1", json!({"a": "x"})).unwrap_err();
        assert_eq!(runtime.error, errors::SCRIPT_ERROR);
        assert!(runtime.cause.starts_with("jq: "), "{}", runtime.cause);
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_recent_filters() {
        let cache = FilterCache::with_capacity(2);
        let first = cache.get(".a").unwrap();
        cache.get(".b").unwrap();
        assert!(
            Arc::ptr_eq(&first, &cache.get(".a").unwrap()),
            "a hit returns the cached filter"
        );
        cache.get(".c").unwrap(); // evicts .b, the least recently used
        assert_eq!(cache.len(), 2);
        assert!(Arc::ptr_eq(&first, &cache.get(".a").unwrap()));
        assert!(cache.get(".a |").is_err());
        assert_eq!(cache.len(), 2, "failed compilations are not cached");
    }

    #[test]
    fn endless_output_streams_stop_at_the_time_limit() {
        let context = ScriptContext {
            time_limit: std::time::Duration::from_millis(100),
            ..ScriptContext::default()
        };
        let error = transform(&context, "repeat(1)", &json!(null)).unwrap_err();
        assert_eq!(error.error, errors::SCRIPT_TIMEOUT);
    }
}
