//! The worker's polling clock: wakes the job worker at a fixed interval so that it looks for
//! jobs whose time has come.
//!
//! apalis-core 1.0's `IntervalStrategy` creates the next timer after one fires but does not poll
//! it, so no wake-up is registered; the worker then sleeps until its next heartbeat (30 s by
//! default) and due jobs run up to that much late. This strategy re-arms and polls its timer
//! every time, so a wake-up is always registered.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use apalis::prelude::{PollSnapshot, PollStrategy};
use tokio::time::{Instant, Sleep};

/// Wakes the worker every `interval`.
#[derive(Debug)]
pub struct Ticker {
    interval: Duration,
    sleep: Pin<Box<Sleep>>,
}

impl Ticker {
    /// Creates a ticker whose first tick is one `interval` from now.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            sleep: Box::pin(tokio::time::sleep(interval)),
        }
    }
}

impl PollStrategy for Ticker {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _snapshot: &PollSnapshot) -> Poll<Option<()>> {
        let mut ticked = false;
        // Each fired timer is replaced and polled again, which registers the next wake-up.
        while self.sleep.as_mut().poll(cx).is_ready() {
            let next = Instant::now() + self.interval;
            self.sleep.as_mut().reset(next);
            ticked = true;
        }
        if ticked {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::*;

    /// Counts how often it is woken.
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn ticker_rearms_after_each_tick() {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut ticker = Ticker::new(Duration::from_secs(1));
        let snapshot = PollSnapshot::new();

        assert!(ticker.poll_drive(&mut cx, &snapshot).is_pending());
        for tick in 1..=3 {
            tokio::time::advance(Duration::from_secs(1)).await;
            assert_eq!(
                counter.0.load(Ordering::SeqCst),
                tick,
                "no wake-up was registered for tick {tick}"
            );
            assert!(ticker.poll_drive(&mut cx, &snapshot).is_ready());
        }
    }
}
