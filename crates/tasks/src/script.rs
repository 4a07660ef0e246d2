//! INLINE JavaScript, legacy LAMBDA scripts, JavaScript conditions, and the script function's
//! entry point.
//!
//! Scripts run in QuickJS (through rquickjs) the way Conductor's GraalJS evaluator runs them:
//!
//! - `$` is bound to the task input (a fresh copy per evaluation; nothing leaks between runs);
//! - the script is a program whose completion value is the result, so an expression
//!   (`$.a + 1`), statements (`if ($.x) { true; } else { false; }`) and an IIFE
//!   (`(function () { return $.a; })()`) all work; a legacy LAMBDA body with a top-level
//!   `return` is run as the body of a function, as Conductor's LAMBDA task does;
//! - ES2023 syntax; the GraalJS host-interop calls that Conductor scripts use on lists,
//!   `list.get(i)` and `list.size()`, are provided on arrays; `console.log` and friends are
//!   accepted and go to the `tracing` log at debug level;
//! - a time limit (default 4 s, Conductor's) enforced by the engine's interrupt handler, and a
//!   memory limit (default 64 MiB) enforced by the engine's allocator: a runaway script ends
//!   with `Script.Timeout` or `Script.Memory` and the process carries on;
//! - the result converts to JSON as `JSON.stringify` would (`undefined` and functions become
//!   null).
//!
//! Script errors (throws, syntax errors) fail with `Script.Error` and are terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ocflow_protocol::errors;
use ocflow_protocol::payload::{ScriptKind, ScriptRequest};
use serde_json::{Value, json};

use crate::jq::FilterCache;
use crate::{TaskFailure, failure};

/// Conductor's default script time limit.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(4);
/// Default memory limit of one script evaluation.
pub const DEFAULT_MEMORY_LIMIT: usize = 64 * 1024 * 1024;

/// Limits and caches shared by script evaluations.
#[derive(Debug)]
pub struct ScriptContext {
    /// How long one evaluation may run.
    pub time_limit: Duration,
    /// How much memory one JavaScript evaluation may allocate, in bytes.
    pub memory_limit: usize,
    /// Compiled jq filters.
    pub jq_filters: FilterCache,
}

impl Default for ScriptContext {
    fn default() -> Self {
        Self {
            time_limit: DEFAULT_TIME_LIMIT,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            jq_filters: FilterCache::default(),
        }
    }
}

/// Runs what the script function is asked to run.
///
/// Output: `{"result": <value>}` for JavaScript and conditions, `{"result", "resultList"}` for
/// jq. CPU-bound: async hosts call it from a blocking-capable thread.
pub fn handle(context: &ScriptContext, request: ScriptRequest) -> Result<Value, TaskFailure> {
    match request.kind {
        ScriptKind::Javascript | ScriptKind::Condition => {
            let result = javascript(context, &request.expression, &request.input)?;
            Ok(json!({ "result": result }))
        }
        ScriptKind::Jq => crate::jq::transform(context, &request.expression, &request.input),
    }
}

/// Evaluates a JavaScript program with `$` bound to `input`; returns its completion value.
pub fn javascript(
    context: &ScriptContext,
    expression: &str,
    input: &Value,
) -> Result<Value, TaskFailure> {
    match evaluate(context, expression, input) {
        // A legacy LAMBDA body returns at top level: Conductor runs it as a function body.
        Err(Failure::Syntax(message)) if message.contains("return") => {
            let wrapped = format!("(function () {{\n{expression}\n}})()");
            evaluate(context, &wrapped, input).map_err(Failure::into_task_failure)
        }
        other => other.map_err(Failure::into_task_failure),
    }
}

/// The value-param evaluator: the value of the input key named by `expression` (null if absent).
pub fn value_param(expression: &str, input: &Value) -> Value {
    input.get(expression).cloned().unwrap_or(Value::Null)
}

/// Conductor's truthiness for a condition result (`ScriptEvaluator.toBoolean`): a boolean as is,
/// a number when greater than zero, anything else false.
pub fn is_truthy(result: &Value) -> bool {
    match result {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n > 0.0),
        _ => false,
    }
}

/// Installed before every script: GraalJS list interop and a console that logs.
const PRELUDE: &str = r#"
Object.defineProperty(Array.prototype, 'get', { value: function (i) { return this[i]; }, writable: true, configurable: true });
Object.defineProperty(Array.prototype, 'size', { value: function () { return this.length; }, writable: true, configurable: true });
globalThis.console = (function () {
  const log = (level) => (...args) => __ocflowLog(level, args.map((a) => typeof a === 'string' ? a : JSON.stringify(a)).join(' '));
  return { log: log('log'), info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') };
})();
"#;

enum Failure {
    Syntax(String),
    /// `null` or `undefined` was thrown; also what QuickJS leaves when even its out-of-memory
    /// error could not be allocated.
    Empty,
    Thrown(String),
    Timeout(Duration),
    Memory(String),
    Engine(String),
}

impl Failure {
    fn into_task_failure(self) -> TaskFailure {
        match self {
            Failure::Syntax(message) | Failure::Thrown(message) => {
                failure(errors::SCRIPT_ERROR, message)
            }
            Failure::Timeout(limit) => failure(
                errors::SCRIPT_TIMEOUT,
                format!(
                    "script not evaluated within {} ms, interrupted",
                    limit.as_millis()
                ),
            ),
            Failure::Memory(message) => failure(errors::SCRIPT_MEMORY, message),
            Failure::Empty => failure(errors::SCRIPT_ERROR, "the script threw null"),
            Failure::Engine(message) => failure(errors::SCRIPT_ERROR, message),
        }
    }
}

fn evaluate(context: &ScriptContext, expression: &str, input: &Value) -> Result<Value, Failure> {
    let engine = |e: rquickjs::Error| Failure::Engine(format!("javascript engine: {e}"));
    let runtime = rquickjs::Runtime::new().map_err(engine)?;
    runtime.set_memory_limit(context.memory_limit);
    runtime.set_max_stack_size(512 * 1024);
    let interrupted = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + context.time_limit;
    let flag = Arc::clone(&interrupted);
    runtime.set_interrupt_handler(Some(Box::new(move || {
        let late = Instant::now() >= deadline;
        if late {
            flag.store(true, Ordering::Relaxed);
        }
        late
    })));
    let js = rquickjs::Context::full(&runtime).map_err(engine)?;
    let input_text = input.to_string();

    let outcome = js.with(|ctx| {
        let thrown = |ctx: &rquickjs::Ctx<'_>, error: rquickjs::Error| -> Failure {
            if interrupted.load(Ordering::Relaxed) {
                return Failure::Timeout(context.time_limit);
            }
            match error {
                rquickjs::Error::Exception => describe(ctx, ctx.catch()),
                rquickjs::Error::Allocation => Failure::Memory("out of memory".into()),
                other => Failure::Engine(format!("javascript engine: {other}")),
            }
        };
        let log = rquickjs::Function::new(ctx.clone(), |level: String, line: String| {
            tracing::debug!(target: "ocflow_tasks::script", %level, "{line}");
        })
        .map_err(|e| thrown(&ctx, e))?;
        ctx.globals()
            .set("__ocflowLog", log)
            .map_err(|e| thrown(&ctx, e))?;
        ctx.eval::<(), _>(PRELUDE).map_err(|e| thrown(&ctx, e))?;
        let bound = ctx.json_parse(input_text).map_err(|e| thrown(&ctx, e))?;
        ctx.globals().set("$", bound).map_err(|e| thrown(&ctx, e))?;

        let result: rquickjs::Value = ctx.eval(expression).map_err(|e| thrown(&ctx, e))?;
        let text = ctx
            .json_stringify(result)
            .map_err(|e| thrown(&ctx, e))?
            .map(|s| s.to_string())
            .transpose()
            .map_err(|e| thrown(&ctx, e))?;
        match text {
            None => Ok(Value::Null),
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| Failure::Engine(format!("script result is not JSON: {e}"))),
        }
    });
    match outcome {
        Err(Failure::Empty) => {
            let used = usize::try_from(runtime.memory_usage().malloc_size).unwrap_or(0);
            Err(if used >= context.memory_limit / 4 * 3 {
                Failure::Memory(format!(
                    "out of memory (limit {} bytes)",
                    context.memory_limit
                ))
            } else {
                Failure::Empty
            })
        }
        other => other,
    }
}

/// Turns a thrown JavaScript value into a failure: `Name: message`, or the value as text.
fn describe<'js>(ctx: &rquickjs::Ctx<'js>, thrown: rquickjs::Value<'js>) -> Failure {
    if thrown.is_null() || thrown.is_undefined() {
        return Failure::Empty;
    }
    let text = |key: &str| -> Option<String> {
        thrown
            .as_object()
            .and_then(|object| object.get::<_, Option<String>>(key).ok().flatten())
    };
    let (name, message) = (text("name"), text("message"));
    let description = match (&name, message) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (None, Some(message)) => message,
        _ => ctx
            .json_stringify(thrown.clone())
            .ok()
            .flatten()
            .and_then(|s| s.to_string().ok())
            .unwrap_or_else(|| "the script threw a value that cannot be shown".into()),
    };
    let line = text("stack").and_then(|stack| {
        stack.lines().find_map(|frame| {
            frame
                .rsplit_once("<eval>:")
                .map(|(_, at)| at.trim_end_matches(')').to_owned())
        })
    });
    let description = match line {
        Some(at) => format!("{description} (at line {at})"),
        None => description,
    };
    if description.contains("out of memory") {
        Failure::Memory(description)
    } else if name.as_deref() == Some("SyntaxError") {
        Failure::Syntax(description)
    } else {
        Failure::Thrown(description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(expression: &str, input: Value) -> Result<Value, TaskFailure> {
        javascript(&ScriptContext::default(), expression, &input)
    }

    #[test]
    fn expressions_statements_and_iifes_give_their_value() {
        assert_eq!(run("$.a + 1", json!({"a": 1})).unwrap(), json!(2));
        assert_eq!(
            run("if ($.a > 0) { 'pos'; } else { 'neg'; }", json!({"a": -1})).unwrap(),
            json!("neg")
        );
        assert_eq!(
            run("(function () { return [$.a, 2.5]; })()", json!({"a": 1})).unwrap(),
            json!([1, 2.5])
        );
        assert_eq!(
            run("({a: undefined, b: null})", json!({})).unwrap(),
            json!({"b": null})
        );
        assert_eq!(run("undefined", json!({})).unwrap(), Value::Null);
        assert_eq!(
            run("const xs = [3, 1, 2]; xs.toSorted()", json!({})).unwrap(),
            json!([1, 2, 3])
        );
    }

    #[test]
    fn legacy_lambda_bodies_may_return_at_top_level() {
        assert_eq!(
            run("return {v: $.x * 2}", json!({"x": 4})).unwrap(),
            json!({"v": 8})
        );
    }

    #[test]
    fn graaljs_list_interop_is_available() {
        assert_eq!(
            run("$.list.get(1) + $.list.size()", json!({"list": [10, 20]})).unwrap(),
            json!(22)
        );
    }

    #[test]
    fn errors_are_script_errors_with_their_message() {
        let thrown = run("throw new TypeError('bad ' + $.x)", json!({"x": 1})).unwrap_err();
        assert_eq!(thrown.error, errors::SCRIPT_ERROR);
        assert!(
            thrown.cause.contains("TypeError: bad 1"),
            "{}",
            thrown.cause
        );
        let syntax = run("(function() {", json!({})).unwrap_err();
        assert_eq!(syntax.error, errors::SCRIPT_ERROR);
        assert!(syntax.cause.contains("SyntaxError"), "{}", syntax.cause);
        let string = run("throw 'plain'", json!({})).unwrap_err();
        assert_eq!(string.cause, "\"plain\"");
        let null = run("throw null", json!({})).unwrap_err();
        assert_eq!(
            (null.error.as_str(), null.cause.as_str()),
            (errors::SCRIPT_ERROR, "the script threw null")
        );
    }

    #[test]
    fn runaway_scripts_stop_at_the_time_limit() {
        let context = ScriptContext {
            time_limit: Duration::from_millis(200),
            ..ScriptContext::default()
        };
        let started = Instant::now();
        let error = javascript(&context, "while (true) {}", &json!({})).unwrap_err();
        assert_eq!(error.error, errors::SCRIPT_TIMEOUT);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // A catch block cannot swallow the interrupt.
        let error = javascript(
            &context,
            "for (;;) { try { while (true) {} } catch (e) {} }",
            &json!({}),
        )
        .unwrap_err();
        assert_eq!(error.error, errors::SCRIPT_TIMEOUT);
        // The engine is usable afterwards.
        assert_eq!(javascript(&context, "1 + 1", &json!({})).unwrap(), json!(2));
    }

    #[test]
    fn greedy_scripts_stop_at_the_memory_limit() {
        let context = ScriptContext {
            memory_limit: 8 * 1024 * 1024,
            ..ScriptContext::default()
        };
        let error = javascript(
            &context,
            "const a = []; while (true) { a.push('x'.repeat(1024) + a.length); }",
            &json!({}),
        )
        .unwrap_err();
        assert_eq!(error.error, errors::SCRIPT_MEMORY, "{}", error.cause);
    }

    #[test]
    fn value_param_and_truthiness_follow_conductor() {
        assert_eq!(value_param("case", &json!({"case": "two"})), json!("two"));
        assert_eq!(value_param("missing", &json!({})), Value::Null);
        assert!(is_truthy(&json!(true)) && is_truthy(&json!(2)));
        assert!(!is_truthy(&json!(0)) && !is_truthy(&json!("true")) && !is_truthy(&Value::Null));
    }
}
