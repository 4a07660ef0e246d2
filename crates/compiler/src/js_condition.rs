//! JavaScript conditions to JSONata (not written yet: every condition runs in the script function).

use std::fmt;

/// Why a condition could not be translated (it then runs in the script function).
#[derive(Debug, Clone, PartialEq)]
pub struct Untranslatable {
    /// What stopped the translation.
    pub reason: String,
}

impl fmt::Display for Untranslatable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "untranslatable condition: {}", self.reason)
    }
}

impl std::error::Error for Untranslatable {}

/// Translates `source` into a JSONata expression (without the `{% %}` delimiters).
/// `params(name)` gives the JSONata expression for the top-level `$.name`.
pub fn translate(
    _source: &str,
    _params: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Untranslatable> {
    Err(Untranslatable {
        reason: "the JavaScript translator is not available yet".into(),
    })
}
