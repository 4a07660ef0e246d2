//! Task policies: Conductor retries as ASL `Retry`, and WAIT durations and times.

use ocflow_asl::Retrier;
use ocflow_dsl::model::{RetryLogic, TaskDef};
use ocflow_protocol::errors;

/// Lambda service errors worth a retry whatever the task (throttling, cold-start hiccups).
const LAMBDA_TRANSIENT: &[&str] = &[
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];

/// How a task's errors are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retryable {
    /// A task function (HTTP, worker): `errors::RETRYABLE` plus transient Lambda errors.
    TaskFunction,
    /// A worker queue: `Worker.Failed`, and heartbeat/attempt timeouts.
    Worker,
}

/// The `Retry` rules for `def`, or none when it allows no retry.
///
/// FIXED is BackoffRate 1 and EXPONENTIAL_BACKOFF BackoffRate 2 (exact, capped by
/// `maxRetryDelaySeconds` when the definition has it). LINEAR_BACKOFF (`delay * factor *
/// attempt`) has no ASL equivalent: it becomes a geometric backoff with the same first delay
/// whose rate makes the second delay match (`(2·f·d) / (f·d)` = 2 would overshoot later
/// attempts, so the rate is `1 + 1/attempts`, which keeps the total wait close). IntervalSeconds
/// is at least 1, as ASL demands (Conductor allows 0).
pub(crate) fn retriers(def: &TaskDef, kind: Retryable) -> Vec<Retrier> {
    let attempts = def.retry_count();
    if attempts <= 0 {
        return Vec::new();
    }
    let delay = def.retry_delay_seconds().max(0);
    let (interval, rate) = match def.retry_logic() {
        RetryLogic::Fixed => (delay, 1.0),
        RetryLogic::ExponentialBackoff => (delay, 2.0),
        RetryLogic::LinearBackoff => {
            let first = delay.saturating_mul(def.backoff_scale_factor().max(1));
            #[allow(clippy::cast_precision_loss)] // attempts is a small count
            let rate = 1.0 + 1.0 / attempts as f64;
            (first, (rate * 100.0).round() / 100.0)
        }
    };
    let mut names: Vec<&str> = errors::RETRYABLE.to_vec();
    match kind {
        Retryable::TaskFunction => names.extend(LAMBDA_TRANSIENT),
        Retryable::Worker => names.extend(["States.Timeout", "States.HeartbeatTimeout"]),
    }
    let mut retrier = Retrier::new(names)
        .with_interval_seconds(interval.clamp(1, 99_999_999))
        .with_max_attempts(attempts.min(99_999_999))
        .with_backoff_rate(rate);
    if let Some(max) = def
        .extra
        .get("maxRetryDelaySeconds")
        .and_then(serde_json::Value::as_i64)
        && max > 0
    {
        retrier = retrier.with_max_delay_seconds(max);
    }
    vec![retrier]
}

/// A WAIT `duration` in seconds: Conductor's `"10s"`, `"1h 30m"`, `"2 days"`, `"5 minutes"`, ...
pub(crate) fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let value: u64 = rest[..digits].parse().ok()?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let unit = rest[..unit_len].to_ascii_lowercase();
        rest = &rest[unit_len..];
        let scale = match unit.as_str() {
            "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            _ => return None,
        };
        total = total.checked_add(value.checked_mul(scale)?)?;
        rest = rest.trim_start_matches([',', ' ']);
    }
    Some(total)
}

/// A WAIT `until` as an ISO 8601 timestamp: `"yyyy-MM-dd HH:mm"`, `"yyyy-MM-dd HH:mm z"`
/// (zone `UTC`/`GMT`/`Z` or an offset like `+02:00`), or `"yyyy-MM-dd"` (midnight UTC).
pub(crate) fn parse_until(text: &str) -> Option<String> {
    let text = text.trim();
    let (date, rest) = text.split_at(text.find(' ').unwrap_or(text.len()));
    if !is_date(date) {
        return None;
    }
    let rest = rest.trim();
    if rest.is_empty() {
        return Some(format!("{date}T00:00:00Z"));
    }
    let (time, zone) = rest.split_at(rest.find(' ').unwrap_or(rest.len()));
    let bytes = time.as_bytes();
    let time_ok = bytes.len() == 5
        && bytes[2] == b':'
        && time[..2].parse::<u8>().is_ok_and(|h| h < 24)
        && time[3..].parse::<u8>().is_ok_and(|m| m < 60);
    if !time_ok {
        return None;
    }
    let zone = match zone.trim() {
        "" | "UTC" | "GMT" | "Z" => "Z".to_owned(),
        offset if is_offset(offset) => offset.to_owned(),
        _ => return None,
    };
    Some(format!("{date}T{time}:00{zone}"))
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    matches!(parts.as_slice(), [y, m, d]
        if y.len() == 4 && y.parse::<u16>().is_ok()
            && m.len() == 2 && m.parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
            && d.len() == 2 && d.parse::<u8>().is_ok_and(|d| (1..=31).contains(&d)))
}

fn is_offset(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[3] == b':'
        && text[1..3].parse::<u8>().is_ok()
        && text[4..].parse::<u8>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(json: &str) -> TaskDef {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn fixed_retry_is_rate_one_with_interval_at_least_one() {
        let r = retriers(
            &def(r#"{"name":"t","retryCount":2,"retryLogic":"FIXED","retryDelaySeconds":0}"#),
            Retryable::TaskFunction,
        );
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].backoff_rate, Some(1.0));
        assert_eq!(r[0].interval_seconds, Some(1));
        assert_eq!(r[0].max_attempts, Some(2));
        assert!(r[0].error_equals.iter().any(|e| e == errors::HTTP_5XX));
        assert!(!r[0].error_equals.iter().any(|e| e == errors::HTTP_4XX));
    }

    #[test]
    fn exponential_is_rate_two_capped_by_max_delay() {
        let r = retriers(
            &def(
                r#"{"name":"t","retryCount":5,"retryLogic":"EXPONENTIAL_BACKOFF","retryDelaySeconds":3,"maxRetryDelaySeconds":60}"#,
            ),
            Retryable::Worker,
        );
        assert_eq!(r[0].backoff_rate, Some(2.0));
        assert_eq!(r[0].interval_seconds, Some(3));
        assert_eq!(r[0].max_delay_seconds, Some(60));
    }

    #[test]
    fn no_retries_means_no_rule() {
        assert!(retriers(&def(r#"{"name":"t","retryCount":0}"#), Retryable::Worker).is_empty());
    }

    #[test]
    fn durations_in_conductor_formats() {
        assert_eq!(parse_duration("10s"), Some(10));
        assert_eq!(parse_duration("1h 30m"), Some(5400));
        assert_eq!(parse_duration("2 days"), Some(172_800));
        assert_eq!(parse_duration("5 minutes 3 seconds"), Some(303));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn until_in_conductor_formats() {
        assert_eq!(
            parse_until("2030-01-02 03:04").as_deref(),
            Some("2030-01-02T03:04:00Z")
        );
        assert_eq!(
            parse_until("2030-01-02 03:04 UTC").as_deref(),
            Some("2030-01-02T03:04:00Z")
        );
        assert_eq!(
            parse_until("2030-01-02 03:04 +02:00").as_deref(),
            Some("2030-01-02T03:04:00+02:00")
        );
        assert_eq!(
            parse_until("2030-01-02").as_deref(),
            Some("2030-01-02T00:00:00Z")
        );
        assert_eq!(parse_until("tomorrow"), None);
    }
}
