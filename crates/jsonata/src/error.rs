//! The one error type of this crate.

/// Why an expression could not be parsed or evaluated.
///
/// [`Error::is_query_evaluation_error`] tells which of these Step Functions reports as
/// `States.QueryEvaluationError` at run time; the others are definition errors that AWS refuses
/// when the state machine is created.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not a JSONata expression.
    #[error("invalid JSONata expression{}: {message}", at(pointer))]
    Parse {
        /// JSON pointer to the template field holding the expression, empty for a bare expression.
        pointer: String,
        /// The JSONata error code (`S0201`, ...), when the parser gave one.
        code: Option<String>,
        /// What the parser said.
        message: String,
    },
    /// The expression uses a feature JSONata 2.0.6, the version Step Functions runs, lacks.
    #[error(
        "{feature} is not supported by JSONata 2.0.6, which Step Functions runs{}",
        at(pointer)
    )]
    Unsupported {
        /// JSON pointer to the template field holding the expression, empty for a bare expression.
        pointer: String,
        /// The refused feature, as written (`??`, `?:`, `$eval`).
        feature: &'static str,
    },
    /// Evaluation failed: a type error, a bad argument, a time or depth limit, `$error()`.
    #[error("JSONata evaluation failed{}: {message}", at(pointer))]
    Evaluation {
        /// JSON pointer to the template field holding the expression, empty for a bare expression.
        pointer: String,
        /// The JSONata error code (`T2001`, `D3137`, ...), when there is one.
        code: Option<String>,
        /// What the evaluator said.
        message: String,
    },
    /// A template expression evaluated to nothing (JSONata's `undefined`), which JSON cannot hold.
    #[error(
        "JSONata expression {expression:?}{} returned nothing (undefined)",
        at(pointer)
    )]
    Undefined {
        /// JSON pointer to the template field holding the expression.
        pointer: String,
        /// The expression, without its `{% %}` delimiters.
        expression: String,
    },
    /// The result holds something JSON cannot: a function or a regular expression.
    #[error("JSONata result{} is not JSON: it holds a {kind}", at(pointer))]
    NotJson {
        /// JSON pointer to the template field holding the expression, empty for a bare expression.
        pointer: String,
        /// What was found (`function`, `regex`, `non-finite number`).
        kind: &'static str,
    },
}

fn at(pointer: &str) -> String {
    if pointer.is_empty() {
        String::new()
    } else {
        format!(" at {pointer}")
    }
}

impl Error {
    /// Whether Step Functions raises this as `States.QueryEvaluationError` at run time.
    ///
    /// True for evaluation failures, undefined template results and non-JSON results; false for
    /// parse errors and unsupported features, which AWS rejects with the definition.
    pub fn is_query_evaluation_error(&self) -> bool {
        matches!(
            self,
            Error::Evaluation { .. } | Error::Undefined { .. } | Error::NotJson { .. }
        )
    }

    /// The JSONata error code (`S0201`, `T2001`, `D3137`, ...), when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Parse { code, .. } | Error::Evaluation { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// JSON pointer to the template field the error is about, empty for a bare expression.
    pub fn pointer(&self) -> &str {
        match self {
            Error::Parse { pointer, .. }
            | Error::Unsupported { pointer, .. }
            | Error::Evaluation { pointer, .. }
            | Error::Undefined { pointer, .. }
            | Error::NotJson { pointer, .. } => pointer,
        }
    }

    /// The same error, located at `pointer` inside a template.
    pub(crate) fn at_pointer(mut self, at: &str) -> Self {
        match &mut self {
            Error::Parse { pointer, .. }
            | Error::Unsupported { pointer, .. }
            | Error::Evaluation { pointer, .. }
            | Error::Undefined { pointer, .. }
            | Error::NotJson { pointer, .. } => *pointer = at.to_owned(),
        }
        self
    }
}

/// Splits a jsonata-core message into its JSONata code (`X0000`) and the text after it.
///
/// The code leads the message or follows a prefix such as `Invalid syntax: `; a message without
/// a code is returned whole.
pub(crate) fn split_code(message: &str) -> (Option<String>, String) {
    let bytes = message.as_bytes();
    let found = (0..bytes.len().saturating_sub(4)).find(|&i| {
        (i == 0 || bytes[i - 1] == b' ')
            && bytes[i].is_ascii_uppercase()
            && bytes[i + 1..i + 5].iter().all(u8::is_ascii_digit)
            && bytes.get(i + 5).is_none_or(|b| *b == b':')
    });
    match found {
        Some(i) => {
            let rest = message[i + 5..].trim_start_matches(':').trim_start();
            (Some(message[i..i + 5].to_owned()), rest.to_owned())
        }
        None => (None, message.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_at_the_start_or_after_a_prefix() {
        assert_eq!(
            split_code("T2001: The left side"),
            (Some("T2001".to_owned()), "The left side".to_owned())
        );
        assert_eq!(
            split_code("Invalid syntax: T1006: Attempted to invoke a non-function"),
            (
                Some("T1006".to_owned()),
                "Attempted to invoke a non-function".to_owned()
            )
        );
        assert_eq!(
            split_code("Unclosed comment"),
            (None, "Unclosed comment".to_owned())
        );
        assert_eq!(
            split_code("see RFC 1234: x"),
            (None, "see RFC 1234: x".to_owned())
        );
        assert_eq!(split_code(""), (None, String::new()));
    }
}
