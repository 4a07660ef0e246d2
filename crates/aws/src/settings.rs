//! The environment variables the Lambda functions read (the CloudFormation template writes
//! them), parsed in one place.
//!
//! | variable | used by | meaning |
//! |---|---|---|
//! | `OCFLOW_EXECUTIONS_TABLE` | starter, tracker | the executions table's name |
//! | `OCFLOW_EXECUTION_TTL_DAYS` | starter, tracker | days a finished execution stays in the table (default 30) |
//! | `OCFLOW_RECONCILE_AFTER_MINUTES` | tracker | age of a RUNNING row before the reconciler checks it (default 15) |
//! | `OCFLOW_RECONCILE_BATCH` | tracker | rows checked per scheduled run (default 100) |
//! | `OCFLOW_STATE_MACHINES`, `OCFLOW_STATE_MACHINE_ARN_PREFIX`, `OCFLOW_EXPRESS_WORKFLOWS` | starter, tracker | see `ocflow_control::directory` |

use ocflow_control::execution::Retention;

pub use ocflow_control::deployment::env::{
    EXECUTION_TTL_DAYS, EXECUTIONS_TABLE, RECONCILE_AFTER_MINUTES, RECONCILE_BATCH,
};

/// A missing or invalid setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A required variable is not set.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable does not hold a positive whole number.
    #[error("{name} must be a positive whole number, not `{value}`")]
    NotANumber {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
}

/// The executions table's name.
pub fn executions_table(var: impl Fn(&str) -> Option<String>) -> Result<String, Error> {
    var(EXECUTIONS_TABLE)
        .filter(|v| !v.is_empty())
        .ok_or(Error::Missing(EXECUTIONS_TABLE))
}

fn number(
    var: impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
) -> Result<u32, Error> {
    match var(name).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(Error::NotANumber { name, value }),
    }
}

/// How long finished executions stay in the table.
pub fn retention(var: impl Fn(&str) -> Option<String>) -> Result<Retention, Error> {
    Ok(Retention {
        days: number(var, EXECUTION_TTL_DAYS, Retention::DEFAULT.days)?,
    })
}

/// The reconciler's settings: how old a RUNNING row must be (milliseconds) and how many rows one
/// run checks.
pub fn reconcile(var: impl Fn(&str) -> Option<String>) -> Result<(i64, usize), Error> {
    let minutes = number(&var, RECONCILE_AFTER_MINUTES, 15)?;
    let batch = number(&var, RECONCILE_BATCH, 100)?;
    Ok((i64::from(minutes) * 60_000, batch as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(retention(env(&[])), Ok(Retention { days: 30 }));
        assert_eq!(
            retention(env(&[(EXECUTION_TTL_DAYS, "7")])),
            Ok(Retention { days: 7 })
        );
        assert_eq!(reconcile(env(&[])), Ok((900_000, 100)));
        assert_eq!(
            reconcile(env(&[
                (RECONCILE_AFTER_MINUTES, "1"),
                (RECONCILE_BATCH, "5")
            ])),
            Ok((60_000, 5))
        );
        assert_eq!(
            executions_table(env(&[(EXECUTIONS_TABLE, "t")])),
            Ok("t".into())
        );
    }

    #[test]
    fn bad_values_are_reported() {
        assert_eq!(
            executions_table(env(&[])),
            Err(Error::Missing(EXECUTIONS_TABLE))
        );
        assert!(matches!(
            retention(env(&[(EXECUTION_TTL_DAYS, "0")])),
            Err(Error::NotANumber { .. })
        ));
        assert!(matches!(
            reconcile(env(&[(RECONCILE_BATCH, "many")])),
            Err(Error::NotANumber { .. })
        ));
    }
}
