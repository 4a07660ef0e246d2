//! Workflow search: Conductor's `query` expressions, in the subset the stores can answer.
//!
//! A query is clauses joined by `AND`, each `field = value`, `field IN (value)` (one value),
//! or `startTime > millis` / `startTime < millis`. Fields: `workflowType`, `status`,
//! `correlationId`, `startTime`. Values may be quoted.

use crate::error::ApiError;

/// Which workflows a search returns; every filter that is set must match. Newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowSearch {
    /// Only this workflow (name).
    pub workflow_type: Option<String>,
    /// Only this Conductor status (`RUNNING`, `COMPLETED`, ...).
    pub status: Option<String>,
    /// Only this correlation id.
    pub correlation_id: Option<String>,
    /// Only workflows started after this time (epoch milliseconds).
    pub started_after: Option<i64>,
    /// Only workflows started before this time (epoch milliseconds).
    pub started_before: Option<i64>,
    /// Skip this many results.
    pub start: usize,
    /// At most this many results.
    pub size: usize,
}

impl Default for WorkflowSearch {
    fn default() -> Self {
        WorkflowSearch {
            workflow_type: None,
            status: None,
            correlation_id: None,
            started_after: None,
            started_before: None,
            start: 0,
            size: 100,
        }
    }
}

impl WorkflowSearch {
    /// Reads a Conductor `query` expression (empty or `*` matches everything).
    pub fn parse(query: &str) -> Result<WorkflowSearch, ApiError> {
        let mut search = WorkflowSearch::default();
        let query = query.trim();
        if query.is_empty() || query == "*" {
            return Ok(search);
        }
        for clause in split_and(query) {
            let (field, op, value) = clause_parts(clause)?;
            let time = || {
                value.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("startTime needs epoch milliseconds: {clause}"))
                })
            };
            match (field, op) {
                ("workflowType", "=" | "IN") => search.workflow_type = Some(value),
                ("status", "=" | "IN") => search.status = Some(value.to_uppercase()),
                ("correlationId", "=" | "IN") => search.correlation_id = Some(value),
                ("startTime", ">") => search.started_after = Some(time()?),
                ("startTime", "<") => search.started_before = Some(time()?),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "unsupported search clause '{clause}': use workflowType, status or \
                         correlationId with = or IN (one value), or startTime with > or <"
                    )));
                }
            }
        }
        Ok(search)
    }
}

fn split_and(query: &str) -> impl Iterator<Item = &str> {
    let mut rest = query;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let upper = rest.to_ascii_uppercase();
        match upper.find(" AND ") {
            Some(at) => {
                let clause = &rest[..at];
                rest = &rest[at + 5..];
                Some(clause.trim())
            }
            None => {
                let clause = rest.trim();
                rest = "";
                Some(clause)
            }
        }
    })
}

fn unquote(value: &str) -> String {
    let v = value.trim();
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(v)
        .to_owned()
}

fn clause_parts(clause: &str) -> Result<(&str, &'static str, String), ApiError> {
    let unsupported = || ApiError::bad_request(format!("cannot read search clause '{clause}'"));
    if let Some(at) = clause.to_ascii_uppercase().find(" IN ") {
        let field = clause[..at].trim();
        let list = clause[at + 4..].trim();
        let inner = list
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
            .ok_or_else(unsupported)?;
        if inner.contains(',') {
            return Err(ApiError::bad_request(format!(
                "search clause '{clause}': IN takes one value here"
            )));
        }
        return Ok((field, "IN", unquote(inner)));
    }
    for op in ["=", ">", "<"] {
        if let Some((field, value)) = clause.split_once(op) {
            return Ok((field.trim(), op, unquote(value)));
        }
    }
    Err(unsupported())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_conductor_queries() {
        let s = WorkflowSearch::parse(
            "workflowType IN (media) AND status = \"running\" and startTime > 1000",
        )
        .unwrap();
        assert_eq!(s.workflow_type.as_deref(), Some("media"));
        assert_eq!(s.status.as_deref(), Some("RUNNING"));
        assert_eq!(s.started_after, Some(1000));
        assert_eq!(
            WorkflowSearch::parse("*").unwrap(),
            WorkflowSearch::default()
        );
        assert_eq!(
            WorkflowSearch::parse("correlationId='c-1'")
                .unwrap()
                .correlation_id
                .as_deref(),
            Some("c-1")
        );
    }

    #[test]
    fn refuses_what_it_cannot_answer() {
        for query in [
            "workflowType IN (a, b)",
            "priority = 3",
            "startTime > yesterday",
            "nonsense",
        ] {
            let e = WorkflowSearch::parse(query).unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{query}");
        }
    }
}
