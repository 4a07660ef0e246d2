//! Step Functions error names raised by ocflow's task functions and matched by compiled
//! `Retry`/`Catch` rules.
//!
//! | name | raised when | retried by default |
//! |---|---|---|
//! | `Ocf.Http4xx` | the service answered 4xx (408 and 429 excepted) | no |
//! | `Ocf.Http5xx` | the service answered 5xx, 408 or 429 | yes |
//! | `Ocf.Timeout` | connect or read timeout | yes |
//! | `Ocf.Connect` | the connection could not be made (DNS, refused, TLS) | yes |
//! | `Ocf.HostRefused` | the host is outside the registry and allowlist, or link-local/metadata | no |
//! | `Ocf.BadInput` | the task input cannot be understood (no uri, bad method, ...) | no |
//! | `Ocf.Config` | the service registry or a credential it names is missing or invalid | no |
//! | `Script.Error` | the script threw, or does not compile | no |
//! | `Script.Timeout` | the script ran past its time limit | no |
//! | `Script.Memory` | the script ran past its memory limit | no |
//! | `Worker.Failed` | a worker reported FAILED | yes |
//! | `Worker.TerminalError` | a worker reported FAILED_WITH_TERMINAL_ERROR | no |
//! | `Workflow.Terminated` | a TERMINATE task ended the workflow as FAILED/TERMINATED | no |

/// The service answered with a 4xx status other than 408 and 429: retrying will not help.
pub const HTTP_4XX: &str = "Ocf.Http4xx";
/// The service answered 5xx, 408 (request timeout) or 429 (too many requests): worth a retry.
pub const HTTP_5XX: &str = "Ocf.Http5xx";
/// Connecting to, or reading from, the service took longer than the task allows.
pub const TIMEOUT: &str = "Ocf.Timeout";
/// The connection could not be made at all (name resolution, refused connection, TLS).
pub const CONNECT: &str = "Ocf.Connect";
/// The target host is not allowed: outside the registry and allowlist, or a link-local or metadata address.
pub const HOST_REFUSED: &str = "Ocf.HostRefused";
/// The task input cannot be understood (missing uri, unknown method, unknown service, ...).
pub const BAD_INPUT: &str = "Ocf.BadInput";
/// The service registry, or a credential it names (environment variable, secret), is missing or
/// invalid: a deployment problem that retrying will not fix.
pub const CONFIG: &str = "Ocf.Config";
/// A script (INLINE JavaScript or jq) threw or failed to compile.
pub const SCRIPT_ERROR: &str = "Script.Error";
/// A script ran past its time limit.
pub const SCRIPT_TIMEOUT: &str = "Script.Timeout";
/// A script ran past its memory limit.
pub const SCRIPT_MEMORY: &str = "Script.Memory";
/// A worker reported the task FAILED: retryable per the task definition.
pub const WORKER_FAILED: &str = "Worker.Failed";
/// A worker reported FAILED_WITH_TERMINAL_ERROR: never retried.
pub const WORKER_TERMINAL: &str = "Worker.TerminalError";
/// A TERMINATE task ended the workflow with a non-COMPLETED status.
pub const WORKFLOW_TERMINATED: &str = "Workflow.Terminated";

/// Errors a compiled Retry rule retries for task-function calls (HTTP and workers), besides the
/// Lambda service's own transient errors.
pub const RETRYABLE: &[&str] = &[HTTP_5XX, TIMEOUT, CONNECT, WORKER_FAILED];

/// Errors that are never retried, whatever the task definition says.
pub const TERMINAL: &[&str] = &[
    HTTP_4XX,
    HOST_REFUSED,
    BAD_INPUT,
    CONFIG,
    SCRIPT_ERROR,
    SCRIPT_TIMEOUT,
    SCRIPT_MEMORY,
    WORKER_TERMINAL,
];

/// Whether `name` is one of the error names defined here.
pub fn is_known(name: &str) -> bool {
    RETRYABLE.contains(&name) || TERMINAL.contains(&name) || name == WORKFLOW_TERMINATED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_and_terminal_are_disjoint() {
        for name in RETRYABLE {
            assert!(
                !TERMINAL.contains(name),
                "{name} is both retryable and terminal"
            );
        }
    }

    #[test]
    fn names_follow_the_step_functions_pattern() {
        // Step Functions error names are free text, but ours are `Prefix.Name` with no spaces
        // so that they read well in Retry/Catch and in the console.
        for name in RETRYABLE
            .iter()
            .chain(TERMINAL)
            .chain([&WORKFLOW_TERMINATED])
        {
            let (prefix, rest) = name.split_once('.').expect("dotted name");
            assert!(
                !prefix.is_empty() && !rest.is_empty() && !name.contains(' '),
                "{name}"
            );
            assert!(is_known(name));
        }
        assert!(!is_known("States.ALL"));
    }
}
