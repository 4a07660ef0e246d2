//! Differential tests of the JavaScript-condition translator: every translated condition is run
//! as JavaScript (QuickJS, the engine of the script function) and as JSONata (`ocflow-jsonata`)
//! over generated inputs, and the two must agree.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;

use ocflow_compiler::js_condition::{translate, translate_condition};
use ocflow_jsonata::{Bindings, Expression};
use serde_json::{Value, json};

/// Where the reference corpus lives, relative to the workspace root.
const CORPUS: &str = "../shared/conductor-corpus";

/// What running a script gave: a value (`None` for undefined) or a failure.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Value(Option<Value>),
    Failed,
}

/// QuickJS with `$` bound as the script function binds it: a fresh parse of the input.
struct JavaScript {
    context: rquickjs::Context,
    _runtime: rquickjs::Runtime,
}

impl JavaScript {
    fn new() -> Self {
        let runtime = rquickjs::Runtime::new().expect("quickjs runtime");
        let context = rquickjs::Context::full(&runtime).expect("quickjs context");
        Self {
            context,
            _runtime: runtime,
        }
    }

    fn run(&self, script: &str, input: &Value) -> Outcome {
        match self.eval(script, input) {
            // As the script function does: a top-level `return` runs as a function body.
            Err(message) if message.contains("return not in a function") => self
                .eval(&format!("(function () {{\n{script}\n}})()"), input)
                .map_or(Outcome::Failed, Outcome::Value),
            other => other.map_or(Outcome::Failed, Outcome::Value),
        }
    }

    fn eval(&self, script: &str, input: &Value) -> Result<Option<Value>, String> {
        self.context.with(|ctx| {
            let caught = |e: rquickjs::Error| match e {
                rquickjs::Error::Exception => {
                    let thrown = ctx.catch();
                    thrown
                        .as_exception()
                        .map(|e| format!("{e}: {}", e.message().unwrap_or_default()))
                        .unwrap_or_else(|| format!("{thrown:?}"))
                }
                other => other.to_string(),
            };
            let bound = ctx.json_parse(input.to_string()).map_err(caught)?;
            ctx.globals().set("$", bound).map_err(caught)?;
            let result: rquickjs::Value = ctx.eval(script).map_err(caught)?;
            let text = ctx.json_stringify(result).map_err(caught)?;
            Ok(text.map(|t| {
                let t = t.to_string().expect("utf-8");
                serde_json::from_str(&t).expect("JSON from JSON.stringify")
            }))
        })
    }
}

/// Every top-level parameter read as `$states.input.<name>`.
fn params(name: &str) -> Option<String> {
    Some(
        if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            format!("$states.input.{name}")
        } else {
            format!("$lookup($states.input, '{name}')")
        },
    )
}

fn run_jsonata(expression: &Expression, input: &Value) -> Outcome {
    let bindings = Bindings::with_states(json!({ "input": input }));
    expression
        .evaluate_without_input(&bindings)
        .map_or(Outcome::Failed, |v| Outcome::Value(v.map(normalise)))
}

/// Numbers compared by value (`1` and `1.0` are the same JavaScript number).
fn normalise(value: Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n), Value::Number),
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        Value::Object(fields) => {
            Value::Object(fields.into_iter().map(|(k, v)| (k, normalise(v))).collect())
        }
        other => other,
    }
}

/// Conductor's reading of a DO_WHILE condition result (`ScriptEvaluator.evalBool`).
fn conductor_bool(outcome: &Outcome) -> Outcome {
    match outcome {
        Outcome::Failed => Outcome::Failed,
        Outcome::Value(v) => Outcome::Value(Some(Value::Bool(match v {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n > 0.0),
            _ => false,
        }))),
    }
}

/// Interesting values for a script: around its constants, of every JSON type, and objects
/// carrying the property names it reads.
fn value_pool(source: &str) -> Vec<Value> {
    let mut numbers = BTreeSet::new();
    let mut strings = BTreeSet::new();
    let mut keys = BTreeSet::new();
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric()) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            if let Ok(n) = text.parse::<i64>() {
                numbers.extend([n - 1, n, n + 1]);
            }
            continue;
        }
        if c == '\'' || c == '"' {
            let end = (i + 1..chars.len())
                .find(|&j| chars[j] == c)
                .unwrap_or(chars.len());
            strings.insert(chars[i + 1..end].iter().collect::<String>());
            i = end + 1;
            continue;
        }
        if c == '.' && chars.get(i + 1).is_some_and(|n| n.is_alphabetic()) {
            let start = i + 1;
            i = start;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            keys.insert(chars[start..i].iter().collect::<String>());
            continue;
        }
        i += 1;
    }
    keys.extend(strings.iter().cloned());
    numbers.extend([0, 1, 3]);
    let mut pool = vec![
        Value::Null,
        json!(true),
        json!(false),
        json!(""),
        json!("abc"),
        json!(" "),
        json!([]),
        json!({}),
        json!([2]),
        json!(["x", null]),
        json!(1.5),
    ];
    for n in &numbers {
        pool.push(json!(n));
        pool.push(json!(n.to_string()));
    }
    pool.push(json!(" 7 "));
    pool.push(json!("1e1"));
    for s in &strings {
        pool.push(json!(s));
        pool.push(json!([s]));
    }
    let scalars = pool.clone();
    for key in &keys {
        for value in scalars.iter().step_by(3).chain([&json!(2), &json!("2")]) {
            pool.push(json!({ key.as_str(): value }));
            pool.push(json!({ key.as_str(): { key.as_str(): value } }));
        }
        pool.push(json!({ key.as_str(): [1, 2, 3] }));
    }
    pool
}

/// Inputs binding each name to pool values (and leaving it out), the cross product sampled
/// deterministically when it is large.
fn inputs(names: &[String], pool: &[Value]) -> Vec<Value> {
    let choices = pool.len() + 1; // the extra choice: the name is absent
    let total = names
        .iter()
        .try_fold(1usize, |acc, _| acc.checked_mul(choices))
        .unwrap_or(usize::MAX);
    let pick = |mut index: usize| {
        let mut input = serde_json::Map::new();
        for name in names {
            let choice = index % choices;
            index /= choices;
            if let Some(value) = pool.get(choice) {
                input.insert(name.clone(), value.clone());
            }
        }
        Value::Object(input)
    };
    const BUDGET: usize = 250;
    if total <= BUDGET {
        (0..total).map(pick).collect()
    } else {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..BUDGET)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                pick(usize::try_from(state % total as u64).unwrap_or(0))
            })
            .collect()
    }
}

/// Translates `source` and checks it against QuickJS over generated inputs; false when the
/// script is not translated.
fn check_differentially(js: &JavaScript, source: &str) -> bool {
    let requested = RefCell::new(BTreeSet::new());
    let recording = |name: &str| {
        requested.borrow_mut().insert(name.to_owned());
        params(name)
    };
    let Ok(value) = translate(source, &recording) else {
        return false;
    };
    let condition = translate_condition(source, &params).expect("translates as a value too");
    let value = Expression::parse(&value)
        .unwrap_or_else(|e| panic!("{source}\n  gave invalid JSONata {value}: {e}"));
    let condition = Expression::parse(&condition)
        .unwrap_or_else(|e| panic!("{source}\n  gave invalid JSONata {condition}: {e}"));
    let names: Vec<String> = requested.into_inner().into_iter().collect();
    let pool = value_pool(source);
    for input in inputs(&names, &pool) {
        let expected = js.run(source, &input);
        let expected = match expected {
            Outcome::Value(v) => Outcome::Value(v.map(normalise)),
            Outcome::Failed => Outcome::Failed,
        };
        let actual = run_jsonata(&value, &input);
        assert_eq!(
            actual,
            expected,
            "{source}\n  as {}\n  on {input}",
            value.source()
        );
        assert_eq!(
            run_jsonata(&condition, &input),
            conductor_bool(&expected),
            "{source}\n  as condition {}\n  on {input}",
            condition.source()
        );
    }
    true
}

/// Scripts beyond the corpus, covering each construct of the subset.
const SCRIPTS: &[&str] = &[
    "$.x == 5",
    "$.x != 5",
    "$.x === 5",
    "$.x !== '5'",
    "$.x == '5'",
    "$.x == ''",
    "$.x == true",
    "$.x == null",
    "$.x != undefined",
    "$.x === null",
    "$.x === undefined",
    "$.x == $.y",
    "$.x === $.y",
    "$.x === $.x",
    "$.x == $.x",
    "$.x < $.y",
    "$.x <= 3",
    "$.x >= '3'",
    "$.x > 'abc'",
    "'b' > 'a'",
    "$.x && $.y",
    "$.x || 'default'",
    "!$.x",
    "!!$.x",
    "$.x ? 'yes' : 'no'",
    "$.x > 5 ? 'big' : 'small'",
    "$.x.length",
    "$.x.length > 2",
    "$.x[0]",
    "$.x[1] == 'a'",
    "$.x['abc']",
    "$.x.abc.abc",
    "$['x'].abc === 2",
    "$.unknown",
    "$.unknown == null",
    "if ($.x > 1) { true; } else { false; }",
    "if ($.x > 1) { 'a' } else if ($.x > 0) { 'b' } else { 'c' };",
    "if ($.x) { return 1; } return 2;",
    "if ($.x) return 'a'",
    "(function () { if ($.x == 1) { return true; } return false; })();",
    "(() => $.x === 3)()",
    "(() => { if ($.x) { return $.y; } })()",
    "if ($.x) { 1 }",
    "$.x == 1 && $.y == 2 || $.x == 3",
    "($.x || $.y) && !($.x && $.y)",
    "-1 < $.x",
];

#[test]
fn translated_scripts_agree_with_javascript() {
    let js = JavaScript::new();
    for script in SCRIPTS {
        assert!(
            check_differentially(&js, script),
            "{script} was not translated: {:?}",
            translate(script, &params)
        );
    }
}

fn collect_conditions(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            let kind = fields.get("type").and_then(Value::as_str);
            let evaluator = fields.get("evaluatorType").and_then(Value::as_str);
            if matches!(kind, Some("SWITCH" | "DECISION"))
                && matches!(evaluator, Some("javascript" | "graaljs"))
                && let Some(expression) = fields.get("expression").and_then(Value::as_str)
            {
                out.push(expression.to_owned());
            }
            if kind == Some("DECISION")
                && let Some(expression) = fields.get("caseExpression").and_then(Value::as_str)
            {
                out.push(expression.to_owned());
            }
            if kind == Some("DO_WHILE")
                && let Some(condition) = fields.get("loopCondition").and_then(Value::as_str)
            {
                out.push(condition.to_owned());
            }
            fields.values().for_each(|v| collect_conditions(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_conditions(v, out)),
        _ => {}
    }
}

#[test]
fn corpus_conditions_translate_and_agree_with_javascript() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(CORPUS);
    let Ok(entries) = std::fs::read_dir(&root) else {
        println!("skipped: {CORPUS} absent");
        return;
    };
    let mut conditions = Vec::new();
    let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
    {
        let text = std::fs::read_to_string(file).expect("readable corpus file");
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        collect_conditions(&value, &mut conditions);
    }
    let unique: BTreeSet<String> = conditions.iter().cloned().collect();
    let js = JavaScript::new();
    let mut translated = 0;
    for condition in &unique {
        if check_differentially(&js, condition) {
            translated += 1;
        } else {
            println!(
                "not translated: {condition:?}: {}",
                translate(condition, &params).expect_err("refused")
            );
        }
    }
    println!(
        "{translated} of {} distinct corpus conditions ({} in all) translated",
        unique.len(),
        conditions.len()
    );
    assert!(!unique.is_empty(), "the corpus has conditions");
    // Every corpus condition is within the subset except the one that calls `indexOf`.
    assert_eq!(translated, unique.len() - 1);
}
