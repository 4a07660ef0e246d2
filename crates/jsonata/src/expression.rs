//! A parsed expression, the variables it is evaluated with, and its limits.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::Value;

use crate::error::{Error, split_code};
use crate::{functions, value};

/// The variables an expression is evaluated with, by name without the `$`.
///
/// Step Functions binds `$states` (input, result, context, error output) and the state machine's
/// variables set by `Assign`. Only the variables an expression mentions are handed to the
/// evaluator, so a large binding costs nothing to expressions that do not read it.
///
/// ```
/// use ocflow_jsonata::Bindings;
/// use serde_json::json;
///
/// let mut bindings = Bindings::with_states(json!({"input": {"n": 1}}));
/// bindings.insert("total", json!(3));
/// assert_eq!(bindings.get("total"), Some(&json!(3)));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bindings {
    variables: BTreeMap<String, Value>,
}

impl Bindings {
    /// No variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Just `$states`, the object Step Functions binds in every JSONata state.
    pub fn with_states(states: Value) -> Self {
        let mut bindings = Self::new();
        bindings.insert("states", states);
        bindings
    }

    /// Binds `$name` to `value`, replacing an earlier value; `name` is given without the `$`.
    pub fn insert(&mut self, name: impl Into<String>, value: Value) -> &mut Self {
        self.variables.insert(name.into(), value);
        self
    }

    /// The value of `$name`, if bound.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.variables.get(name)
    }

    /// Removes `$name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.variables.remove(name)
    }

    /// The bound variables, by name, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.variables.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Bounds on one evaluation, so that a runaway expression fails instead of hanging the engine.
///
/// JSONata has no loops, but a tail-recursive function can recurse forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time one evaluation may take (error `D1012` past it); `None` for no limit.
    pub time: Option<Duration>,
    /// How deep evaluation may nest (error `D1011` past it); `None` for the evaluator's own
    /// backstop of about 10,000 nested calls.
    pub depth: Option<usize>,
}

impl Default for Limits {
    /// Ten seconds and the evaluator's own depth backstop.
    fn default() -> Self {
        Self {
            time: Some(Duration::from_secs(10)),
            depth: None,
        }
    }
}

/// A JSONata expression, parsed once and evaluated many times.
///
/// Parsing checks that the expression stays within JSONata 2.0.6 as Step Functions runs it:
/// the `??` and `?:` operators (JSONata 2.1) and `$eval` are refused.
///
/// `Expression` is `Send + Sync`: compile once, share it, evaluate it from any thread.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    ast: AstNode,
    /// The variables the expression mentions, sorted: the only bindings it is given.
    variables: Vec<String>,
    limits: Limits,
}

impl Expression {
    /// Parses `source`.
    ///
    /// ```
    /// use ocflow_jsonata::{Error, Expression};
    ///
    /// assert!(Expression::parse("$states.input.items[price > 10]").is_ok());
    /// assert!(matches!(Expression::parse("a ?? b"), Err(Error::Unsupported { .. })));
    /// assert!(matches!(Expression::parse("a +"), Err(Error::Parse { .. })));
    /// ```
    pub fn parse(source: &str) -> Result<Self, Error> {
        let parsed =
            catch_unwind(|| jsonata_core::parser::parse(source)).map_err(|_| Error::Parse {
                pointer: String::new(),
                code: None,
                message: "the parser failed on this input".to_owned(),
            })?;
        let ast = parsed.map_err(|e| {
            let (code, message) = split_code(&e.to_string());
            Error::Parse {
                pointer: String::new(),
                code,
                message,
            }
        })?;
        let mut scan = Scan::default();
        // The AST's serde form is a plain tree, walked generically so that no node kind is missed.
        let tree = serde_json::to_value(&ast).map_err(|e| Error::Parse {
            pointer: String::new(),
            code: None,
            message: format!("the parsed expression could not be inspected: {e}"),
        })?;
        scan.walk(&tree);
        if let Some(feature) = scan.unsupported {
            return Err(Error::Unsupported {
                pointer: String::new(),
                feature,
            });
        }
        Ok(Self {
            source: source.to_owned(),
            ast,
            variables: scan.variables.into_iter().collect(),
            limits: Limits::default(),
        })
    }

    /// The same expression evaluated under `limits`.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The expression's text, as given to [`Expression::parse`].
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The names of the variables the expression mentions (without `$`), sorted; the names of
    /// functions it calls are among them.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().map(String::as_str)
    }

    /// Evaluates against `input` (the context `$` refers to) with `bindings`.
    ///
    /// `Ok(None)` is JSONata's undefined: the expression selected nothing.
    ///
    /// ```
    /// use ocflow_jsonata::{Bindings, Expression};
    /// use serde_json::json;
    ///
    /// let expr = Expression::parse("$sum(items.price) * $rate")?;
    /// let mut bindings = Bindings::new();
    /// bindings.insert("rate", json!(2));
    /// let input = json!({"items": [{"price": 1.25}, {"price": 0.25}]});
    /// assert_eq!(expr.evaluate(&input, &bindings)?, Some(json!(3)));
    /// assert_eq!(Expression::parse("missing")?.evaluate(&input, &bindings)?, None);
    /// # Ok::<(), ocflow_jsonata::Error>(())
    /// ```
    pub fn evaluate(&self, input: &Value, bindings: &Bindings) -> Result<Option<Value>, Error> {
        self.run(&value::to_jvalue(input), bindings)
    }

    /// Evaluates with no input at all, as Step Functions evaluates the expressions of a state
    /// (everything comes from `$states` and the variables): `$` is undefined.
    pub fn evaluate_without_input(&self, bindings: &Bindings) -> Result<Option<Value>, Error> {
        self.run(&JValue::Undefined, bindings)
    }

    fn run(&self, input: &JValue, bindings: &Bindings) -> Result<Option<Value>, Error> {
        let mut context = Context::new();
        for name in &self.variables {
            if let Some(value) = bindings.get(name) {
                context.bind(name.clone(), value::to_jvalue(value));
            }
        }
        self.run_in(context, input)
    }

    /// Evaluates with variables already converted, shared by the expressions of a template.
    pub(crate) fn run_with(
        &self,
        input: &JValue,
        converted: &[(String, JValue)],
    ) -> Result<Option<Value>, Error> {
        let mut context = Context::new();
        for name in &self.variables {
            if let Ok(i) = converted.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
                context.bind(name.clone(), converted[i].1.clone());
            }
        }
        self.run_in(context, input)
    }

    /// Names of the variables this expression mentions, for callers that convert bindings once.
    pub(crate) fn mentioned(&self) -> &[String] {
        &self.variables
    }

    fn run_in(&self, context: Context, input: &JValue) -> Result<Option<Value>, Error> {
        let options = EvaluatorOptions {
            timeout_ms: self
                .limits
                .time
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            max_stack_depth: self.limits.depth,
            ..EvaluatorOptions::default()
        };
        let evaluated = catch_unwind(AssertUnwindSafe(|| {
            let mut evaluator = Evaluator::with_options(context, options);
            functions::register(&mut evaluator, &self.variables)?;
            evaluator.evaluate(&self.ast, input)
        }));
        let result = match evaluated {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => return Err(evaluation_error(&e)),
            Err(_) => {
                return Err(Error::Evaluation {
                    pointer: String::new(),
                    code: None,
                    message: "the evaluator failed on this input".to_owned(),
                });
            }
        };
        value::from_jvalue(&result).map_err(|kind| Error::NotJson {
            pointer: String::new(),
            kind,
        })
    }
}

fn evaluation_error(e: &EvaluatorError) -> Error {
    let (code, message) = split_code(e.message());
    Error::Evaluation {
        pointer: String::new(),
        code,
        message,
    }
}

/// What a walk over the AST finds: variables mentioned and the first unsupported feature.
#[derive(Default)]
struct Scan {
    variables: std::collections::BTreeSet<String>,
    unsupported: Option<&'static str>,
}

impl Scan {
    fn walk(&mut self, node: &Value) {
        match node {
            Value::Array(items) => items.iter().for_each(|item| self.walk(item)),
            Value::Object(fields) => {
                for (kind, inner) in fields {
                    self.visit(kind, inner);
                    self.walk(inner);
                }
            }
            _ => {}
        }
    }

    fn visit(&mut self, kind: &str, inner: &Value) {
        match (kind, inner) {
            ("Variable", Value::String(name)) => {
                self.variables.insert(name.clone());
            }
            ("Binary", Value::Object(binary)) => match binary.get("op").and_then(Value::as_str) {
                Some("Coalesce") => self.refuse("the ?? operator"),
                Some("Default") => self.refuse("the ?: operator"),
                _ => {}
            },
            ("Function", Value::Object(call)) => {
                if let Some(name) = call.get("name").and_then(Value::as_str) {
                    if name.trim_start_matches('$') == "eval" {
                        self.refuse("$eval");
                    }
                    self.variables
                        .insert(name.trim_start_matches('$').to_owned());
                }
            }
            _ => {}
        }
    }

    fn refuse(&mut self, feature: &'static str) {
        self.unsupported.get_or_insert(feature);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(src: &str, input: Value) -> Result<Option<Value>, Error> {
        Expression::parse(src)?.evaluate(&input, &Bindings::new())
    }

    #[test]
    fn expressions_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Expression>();
        assert_send_sync::<Bindings>();
    }

    #[test]
    fn undefined_is_distinct_from_null() {
        assert_eq!(eval("a", json!({"a": null})), Ok(Some(Value::Null)));
        assert_eq!(eval("a", json!({})), Ok(None));
        assert_eq!(eval("$exists(a)", json!({})), Ok(Some(json!(false))));
    }

    #[test]
    fn numbers_print_as_javascript_does() {
        assert_eq!(eval("1 + 2", Value::Null), Ok(Some(json!(3))));
        assert_eq!(eval("$sum([1.5, 1.5])", Value::Null), Ok(Some(json!(3))));
        assert_eq!(eval("7 / 2", Value::Null), Ok(Some(json!(3.5))));
        assert_eq!(eval("$count([1,2,3])", Value::Null), Ok(Some(json!(3))));
    }

    #[test]
    fn bindings_become_variables() {
        let mut bindings = Bindings::with_states(json!({"input": {"name": "Ada"}}));
        bindings.insert("greeting", json!("Hello"));
        let expr = Expression::parse("$greeting & ', ' & $states.input.name").expect("parses");
        assert_eq!(
            expr.evaluate_without_input(&bindings),
            Ok(Some(json!("Hello, Ada")))
        );
        assert_eq!(expr.variables().collect::<Vec<_>>(), ["greeting", "states"]);
    }

    #[test]
    fn unbound_variables_are_undefined() {
        let expr = Expression::parse("$nothing").expect("parses");
        assert_eq!(expr.evaluate_without_input(&Bindings::new()), Ok(None));
    }

    #[test]
    fn input_is_undefined_without_input() {
        let expr = Expression::parse("$").expect("parses");
        assert_eq!(expr.evaluate_without_input(&Bindings::new()), Ok(None));
    }

    #[test]
    fn operators_newer_than_2_0_6_are_refused() {
        for (src, feature) in [
            ("a ?? b", "the ?? operator"),
            ("a ?: b", "the ?: operator"),
            ("$eval('1')", "$eval"),
            ("[1].($x := a ?? 2)", "the ?? operator"),
        ] {
            assert_eq!(
                Expression::parse(src).map(|_| ()),
                Err(Error::Unsupported {
                    pointer: String::new(),
                    feature
                }),
                "{src}"
            );
        }
        // The characters themselves are fine inside strings and conditionals.
        assert!(Expression::parse("'a ?? b'").is_ok());
        assert!(Expression::parse("a ? b : c").is_ok());
    }

    #[test]
    fn eval_is_refused_even_when_reached_indirectly() {
        let err = eval("($f := $eval; $f('1'))", Value::Null).expect_err("refused");
        assert!(err.is_query_evaluation_error());
        assert!(err.to_string().contains("$eval"), "{err}");
    }

    #[test]
    fn parse_errors_carry_the_jsonata_code() {
        let err = Expression::parse("a +").expect_err("incomplete");
        assert_eq!(err.code(), Some("S0207"));
        assert!(!err.is_query_evaluation_error());
    }

    #[test]
    fn evaluation_errors_are_query_evaluation_errors() {
        let err = eval("'a' + 1", Value::Null).expect_err("type error");
        assert_eq!(err.code(), Some("T2001"));
        assert!(err.is_query_evaluation_error());
        let err = eval("$error('boom')", Value::Null).expect_err("raised");
        assert_eq!(err.to_string(), "JSONata evaluation failed: boom");
    }

    #[test]
    fn functions_are_not_json() {
        let err = eval("function($x) { $x }", Value::Null).expect_err("a lambda");
        assert_eq!(
            err,
            Error::NotJson {
                pointer: String::new(),
                kind: "function"
            }
        );
    }

    #[test]
    fn endless_recursion_is_stopped() {
        let expr = Expression::parse("($f := function($n) { $f($n + 1) }; $f(0))")
            .expect("parses")
            .with_limits(Limits {
                time: Some(Duration::from_millis(100)),
                depth: Some(100),
            });
        let err = expr
            .evaluate(&Value::Null, &Bindings::new())
            .expect_err("stopped");
        assert!(matches!(err.code(), Some("D1011" | "D1012")), "{err}");
    }

    #[test]
    fn lambdas_and_higher_order_functions_work() {
        assert_eq!(
            eval(
                "$map($filter(xs, function($v) { $v % 2 = 0 }), function($v, $i) { $v * 10 + $i })",
                json!({"xs": [1, 2, 3, 4]})
            ),
            Ok(Some(json!([20, 41])))
        );
        assert_eq!(
            eval("($n := 3; {'n': $n, 'sq': $n * $n})", Value::Null),
            Ok(Some(json!({"n": 3, "sq": 9})))
        );
    }
}
