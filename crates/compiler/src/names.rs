//! State names: a deterministic rewrite of Conductor reference names into what Step Functions
//! logs cleanly (`0-9 A-Z a-z - _`, at most 80 characters), unique per machine.

use std::collections::HashSet;

use ocflow_asl::MAX_STATE_NAME_LEN;

/// Hands out unique, loggable state names.
#[derive(Debug, Default)]
pub(crate) struct StateNames {
    taken: HashSet<String>,
}

impl StateNames {
    /// A unique name derived from `wanted`: disallowed characters become `_`, the result is cut
    /// to fit, and a `-2`, `-3`, ... suffix resolves clashes.
    pub(crate) fn allocate(&mut self, wanted: &str) -> String {
        let base = sanitize(wanted);
        let mut candidate = base.clone();
        let mut n = 1;
        while !self.taken.insert(candidate.clone()) {
            n += 1;
            let suffix = format!("-{n}");
            candidate = format!(
                "{}{suffix}",
                truncate(&base, MAX_STATE_NAME_LEN - suffix.len())
            );
        }
        candidate
    }
}

/// Rewrites `name` into `0-9 A-Z a-z - _` and at most [`MAX_STATE_NAME_LEN`] characters.
pub(crate) fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = if cleaned.is_empty() {
        "task".to_owned()
    } else {
        cleaned
    };
    truncate(&cleaned, MAX_STATE_NAME_LEN).to_owned()
}

/// The variable holding a Conductor task's data: the reference rewritten into a JSONata
/// variable name (`[A-Za-z0-9_]`, not starting with a digit, not clashing with ours).
pub(crate) fn variable(reference: &str) -> String {
    let mut out = String::with_capacity(reference.len() + 2);
    out.push_str("t_");
    out.extend(reference.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out
}

fn truncate(text: &str, max: usize) -> &str {
    // ASCII only after sanitising, so byte and char positions agree.
    &text[..text.len().min(max)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_loggable_unique_and_short() {
        let mut names = StateNames::default();
        assert_eq!(names.allocate("get user.info"), "get_user_info");
        assert_eq!(names.allocate("get_user info"), "get_user_info-2");
        let long = "x".repeat(200);
        let a = names.allocate(&long);
        let b = names.allocate(&long);
        assert_eq!(a.len(), 80);
        assert_eq!(b.len(), 80);
        assert_ne!(a, b);
        assert!(ocflow_asl::is_loggable_name(&b));
    }

    #[test]
    fn variables_are_prefixed_identifiers() {
        assert_eq!(variable("1st-call"), "t_1st_call");
    }
}
