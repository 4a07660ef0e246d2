//! Time, behind a trait: the wall clock for real runs, a virtual clock for deterministic tests.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::history::Millis;

/// A boxed future, as the engine's ports return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The engine's source of time. Timers never block a thread: they are futures.
pub trait Clock: Send + Sync {
    /// Now, in milliseconds since the Unix epoch.
    fn now(&self) -> Millis;
    /// Completes once [`Clock::now`] has reached `at` (at once if it has already).
    fn sleep_until(&self, at: Millis) -> BoxFuture<'static, ()>;
}

/// The wall clock, with tokio timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    }

    fn sleep_until(&self, at: Millis) -> BoxFuture<'static, ()> {
        let wait = at.saturating_sub(self.now()).max(0).unsigned_abs();
        Box::pin(tokio::time::sleep(Duration::from_millis(wait)))
    }
}

/// A clock that starts at a fixed instant and moves only with tokio's timer.
///
/// Under tokio's paused time (`#[tokio::test(start_paused = true)]`, or
/// `tokio::time::pause()`), the runtime jumps straight to the next timer whenever every task
/// is idle: waits and retry delays take no real time, timers fire in deadline order, and every
/// timestamp is reproducible, so an execution's history is a stable golden. Without paused time
/// it runs in real time from its fixed start.
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock {
    start: Millis,
    origin: tokio::time::Instant,
}

impl VirtualClock {
    /// A clock reading `start` now. Call it inside a tokio runtime.
    pub fn new(start: Millis) -> Self {
        VirtualClock {
            start,
            origin: tokio::time::Instant::now(),
        }
    }

    /// 2026-01-01T00:00:00Z, a fixed start for tests.
    pub fn at_2026() -> Self {
        Self::new(1_767_225_600_000)
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Millis {
        let elapsed = tokio::time::Instant::now().duration_since(self.origin);
        self.start
            .saturating_add(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
    }

    fn sleep_until(&self, at: Millis) -> BoxFuture<'static, ()> {
        let offset = at.saturating_sub(self.start).max(0).unsigned_abs();
        Box::pin(tokio::time::sleep_until(
            self.origin + Duration::from_millis(offset),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn virtual_time_jumps_to_the_timer() {
        let clock = VirtualClock::new(1_000);
        assert_eq!(clock.now(), 1_000);
        clock.sleep_until(61_000).await;
        assert_eq!(clock.now(), 61_000);
        clock.sleep_until(5).await;
        assert_eq!(clock.now(), 61_000, "a past deadline fires at once");
    }
}
