//! JSONata strings as ASL writes them: the whole string is `{% expr %}`.
//!
//! Step Functions evaluates a string field as JSONata only when the entire string is wrapped in
//! `{%` and `%}`; asl-validator further insists on one space inside each delimiter. These helpers
//! build, recognise and unwrap such strings.

/// Opening delimiter of a JSONata string, including the space asl-validator requires.
pub const OPEN: &str = "{% ";
/// Closing delimiter of a JSONata string, including the space asl-validator requires.
pub const CLOSE: &str = " %}";

/// Wraps a JSONata expression as an ASL string: `wrap("$x + 1")` is `"{% $x + 1 %}"`.
pub fn wrap(expression: &str) -> String {
    format!("{OPEN}{}{CLOSE}", expression.trim())
}

/// The expression inside a well-formed JSONata string, or `None` when `text` is not exactly
/// `{% expr %}` with a non-empty expression.
pub fn unwrap(text: &str) -> Option<&str> {
    let inner = text.strip_prefix(OPEN)?.strip_suffix(CLOSE)?;
    let expression = inner.trim();
    (!expression.is_empty()).then_some(expression)
}

/// Whether `text` is meant as JSONata: it starts with `{%` (possibly without the space).
///
/// Such a string that [`unwrap`] rejects is malformed rather than a literal.
pub fn is_intended(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.starts_with("{%") || (trimmed.ends_with("%}") && trimmed.contains("{%"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_and_unwrap_are_inverse() {
        assert_eq!(wrap(" $states.input.id "), "{% $states.input.id %}");
        assert_eq!(unwrap("{% $states.input.id %}"), Some("$states.input.id"));
    }

    #[test]
    fn unwrap_rejects_forms_asl_validator_rejects() {
        assert_eq!(unwrap("{%$x%}"), None);
        assert_eq!(unwrap("{% $x%}"), None);
        assert_eq!(unwrap("{%  %}"), None);
        assert_eq!(unwrap(" {% $x %}"), None);
        assert_eq!(unwrap("$x"), None);
    }

    #[test]
    fn intent_is_recognised_from_the_delimiters() {
        assert!(is_intended("{%$x%}"));
        assert!(is_intended("id: {% $x %}"));
        assert!(!is_intended("50% off {"));
        assert!(!is_intended("plain"));
    }
}
