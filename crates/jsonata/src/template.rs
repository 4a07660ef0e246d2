//! Step Functions templates: JSON whose `"{% expr %}"` strings are JSONata expressions.
//!
//! This is how a JSONata state writes `Arguments`, `Output`, the values of `Assign`, and the
//! fields that take an expression (`Condition`, `TimeoutSeconds`, `Items`, ...):
//!
//! - a string is an expression exactly when it starts with `{%` and ends with `%}`; what lies
//!   between, trimmed, is the expression. Any other string, and every object key, is literal;
//! - expressions are evaluated with no input: data comes from `$states` and the variables;
//! - an expression's result replaces its string, keeping its JSON type;
//! - an expression that evaluates to nothing (undefined) is an error, which Step Functions
//!   raises as `States.QueryEvaluationError`. It does not drop the field or write null: JSON
//!   cannot hold undefined. Guard optional data with `$exists(x) ? x : null`.

use jsonata_core::value::JValue;
use serde_json::{Map, Value};

use crate::{Bindings, Error, Expression, value};

/// Whether `text` is a JSONata expression in Step Functions' `{% ... %}` form.
///
/// ```
/// use ocflow_jsonata::is_jsonata;
///
/// assert!(is_jsonata("{% $states.input %}"));
/// assert!(is_jsonata("{%1%}"));
/// assert!(!is_jsonata("Hello {% $name %}"));
/// assert!(!is_jsonata(" {% 1 %}"));
/// ```
pub fn is_jsonata(text: &str) -> bool {
    expression_text(text).is_some()
}

/// The expression inside `{% ... %}`, trimmed.
fn expression_text(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}

/// A compiled template: literal JSON with parsed expressions in place of `{% %}` strings.
#[derive(Debug, Clone)]
pub struct Template {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    /// A subtree without expressions, returned as is.
    Literal(Value),
    Expression {
        expression: Box<Expression>,
        pointer: String,
    },
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Template {
    /// Parses every `{% %}` string of `value`.
    ///
    /// The error of the first expression that does not parse (in document order) says where it
    /// is, as a JSON pointer into `value`.
    pub fn compile(value: &Value) -> Result<Self, Error> {
        Ok(Self {
            root: compile(value, &mut String::new())?,
        })
    }

    /// Whether the template holds no expression (evaluating it returns it unchanged).
    pub fn is_literal(&self) -> bool {
        matches!(self.root, Node::Literal(_))
    }

    /// Evaluates every expression with `bindings` and no input.
    ///
    /// An expression that yields undefined fails with [`Error::Undefined`] and the JSON pointer of
    /// its field; every error here is a query evaluation error.
    ///
    /// ```
    /// use ocflow_jsonata::{Bindings, Error, Template};
    /// use serde_json::json;
    ///
    /// let template = Template::compile(&json!({"id": "{% $states.input.id %}"}))?;
    /// let err = template.evaluate(&Bindings::with_states(json!({"input": {}}))).unwrap_err();
    /// assert!(matches!(&err, Error::Undefined { pointer, .. } if pointer == "/id"));
    /// assert!(err.is_query_evaluation_error());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn evaluate(&self, bindings: &Bindings) -> Result<Value, Error> {
        if let Node::Literal(value) = &self.root {
            return Ok(value.clone());
        }
        // Each bound variable some expression reads is converted once, not once per expression.
        let mut mentioned = Vec::new();
        collect_mentioned(&self.root, &mut mentioned);
        mentioned.sort_unstable();
        mentioned.dedup();
        let converted: Vec<(String, JValue)> = mentioned
            .into_iter()
            .filter_map(|name| {
                bindings
                    .get(name)
                    .map(|v| (name.to_owned(), value::to_jvalue(v)))
            })
            .collect();
        evaluate(&self.root, &converted)
    }
}

fn collect_mentioned<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
    match node {
        Node::Literal(_) => {}
        Node::Expression { expression, .. } => {
            out.extend(expression.mentioned().iter().map(String::as_str));
        }
        Node::Array(items) => items.iter().for_each(|item| collect_mentioned(item, out)),
        Node::Object(fields) => fields
            .iter()
            .for_each(|(_, item)| collect_mentioned(item, out)),
    }
}

fn compile(value: &Value, pointer: &mut String) -> Result<Node, Error> {
    Ok(match value {
        Value::String(text) => match expression_text(text) {
            Some(source) => Node::Expression {
                expression: Box::new(Expression::parse(source).map_err(|e| e.at_pointer(pointer))?),
                pointer: pointer.clone(),
            },
            None => Node::Literal(value.clone()),
        },
        Value::Array(items) => {
            let mut nodes = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&index.to_string());
                nodes.push(compile(item, pointer)?);
                pointer.truncate(len);
            }
            if nodes.iter().all(|n| matches!(n, Node::Literal(_))) {
                Node::Literal(value.clone())
            } else {
                Node::Array(nodes)
            }
        }
        Value::Object(fields) => {
            let mut nodes = Vec::with_capacity(fields.len());
            for (key, item) in fields {
                let len = pointer.len();
                pointer.push('/');
                // RFC 6901 escaping.
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                nodes.push((key.clone(), compile(item, pointer)?));
                pointer.truncate(len);
            }
            if nodes.iter().all(|(_, n)| matches!(n, Node::Literal(_))) {
                Node::Literal(value.clone())
            } else {
                Node::Object(nodes)
            }
        }
        _ => Node::Literal(value.clone()),
    })
}

fn evaluate(node: &Node, bindings: &[(String, JValue)]) -> Result<Value, Error> {
    Ok(match node {
        Node::Literal(value) => value.clone(),
        Node::Expression {
            expression,
            pointer,
        } => expression
            .run_with(&JValue::Undefined, bindings)
            .map_err(|e| e.at_pointer(pointer))?
            .ok_or_else(|| Error::Undefined {
                pointer: pointer.clone(),
                expression: expression.source().to_owned(),
            })?,
        Node::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| evaluate(item, bindings))
                .collect::<Result<_, _>>()?,
        ),
        Node::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, item) in fields {
                out.insert(key.clone(), evaluate(item, bindings)?);
            }
            Value::Object(out)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn states(input: Value) -> Bindings {
        Bindings::with_states(json!({ "input": input }))
    }

    #[test]
    fn only_whole_string_expressions_are_evaluated() {
        let template = Template::compile(&json!({
            "n": "{% $states.input.n + 1 %}",
            "tight": "{%$states.input.n%}",
            "text": "n is {% $states.input.n %}",
            "{% key %}": "keys are literal",
            "list": [1, "{% $states.input.n * 2 %}", "$states.input.n"],
            "flag": true
        }))
        .expect("compiles");
        assert_eq!(
            template.evaluate(&states(json!({"n": 2}))),
            Ok(json!({
                "n": 3,
                "tight": 2,
                "text": "n is {% $states.input.n %}",
                "{% key %}": "keys are literal",
                "list": [1, 4, "$states.input.n"],
                "flag": true
            }))
        );
    }

    #[test]
    fn results_keep_their_json_type() {
        let template = Template::compile(&json!("{% $states.input %}")).expect("compiles");
        let input = json!({"a": [1, null, {"b": false}]});
        assert_eq!(template.evaluate(&states(input.clone())), Ok(input));
    }

    #[test]
    fn undefined_results_are_errors_located_by_pointer() {
        let template =
            Template::compile(&json!({"outer": {"a/b": ["x", "{% $states.input.missing %}"]}}))
                .expect("compiles");
        let err = template
            .evaluate(&states(json!({})))
            .expect_err("undefined");
        assert_eq!(
            err,
            Error::Undefined {
                pointer: "/outer/a~1b/1".to_owned(),
                expression: "$states.input.missing".to_owned()
            }
        );
        assert!(err.is_query_evaluation_error());
        // The guard the compiler emits turns a missing value into null.
        let guarded = Template::compile(&json!(
            "{% $exists($states.input.missing) ? $states.input.missing : null %}"
        ))
        .expect("compiles");
        assert_eq!(guarded.evaluate(&states(json!({}))), Ok(Value::Null));
    }

    #[test]
    fn parse_errors_are_located_by_pointer() {
        let err = Template::compile(&json!({"a": ["{% 1 + %}"]})).expect_err("bad expression");
        assert_eq!(err.pointer(), "/a/0");
        assert!(matches!(err, Error::Parse { .. }));
        let err = Template::compile(&json!({"b": "{% $x ?? 1 %}"})).expect_err("2.1 operator");
        assert!(matches!(err, Error::Unsupported { .. }));
        assert_eq!(err.pointer(), "/b");
    }

    #[test]
    fn evaluation_errors_are_located_by_pointer() {
        let template = Template::compile(&json!({"x": "{% 'a' - 1 %}"})).expect("compiles");
        let err = template.evaluate(&Bindings::new()).expect_err("type error");
        assert_eq!(err.pointer(), "/x");
        assert!(err.is_query_evaluation_error());
    }

    #[test]
    fn templates_without_expressions_are_literal() {
        let value = json!({"a": ["{ % not % }", 1, "{%"]});
        let template = Template::compile(&value).expect("compiles");
        assert!(template.is_literal());
        assert_eq!(template.evaluate(&Bindings::new()), Ok(value));
        assert!(
            !Template::compile(&json!(["{% 1 %}"]))
                .expect("compiles")
                .is_literal()
        );
    }

    #[test]
    fn variables_from_assign_are_visible() {
        let mut bindings = states(json!({}));
        bindings.insert("vars", json!({"retries": 2}));
        let template =
            Template::compile(&json!({"next": "{% $vars.retries + 1 %}"})).expect("compiles");
        assert_eq!(template.evaluate(&bindings), Ok(json!({"next": 3})));
    }

    #[test]
    fn recognises_the_delimiters_exactly() {
        assert!(is_jsonata("{% x %}"));
        assert!(is_jsonata("{%%}"));
        assert!(!is_jsonata("{%"));
        assert!(!is_jsonata("{% x %} "));
        assert!(!is_jsonata("x {% y %}"));
        assert!(!is_jsonata(""));
    }
}
