//! Gathering a batch from a queue: whatever waits at once, then what arrives within a short
//! linger, up to a size. Under load a few milliseconds make batches (and so database commits and
//! broker requests) several times fewer per item; under light load a batch is one item, late by
//! at most the linger.

use std::time::Duration;

use tokio::sync::mpsc;

/// A queue a batch is gathered from: tokio's bounded and unbounded receivers.
pub trait Queue<T> {
    /// An item already waiting, without waiting.
    fn try_take(&mut self) -> Option<T>;
    /// The next item; `None` once the queue is closed and empty.
    fn take(&mut self) -> impl std::future::Future<Output = Option<T>> + Send;
}

impl<T: Send> Queue<T> for mpsc::Receiver<T> {
    fn try_take(&mut self) -> Option<T> {
        self.try_recv().ok()
    }

    fn take(&mut self) -> impl std::future::Future<Output = Option<T>> + Send {
        self.recv()
    }
}

impl<T: Send> Queue<T> for mpsc::UnboundedReceiver<T> {
    fn try_take(&mut self) -> Option<T> {
        self.try_recv().ok()
    }

    fn take(&mut self) -> impl std::future::Future<Output = Option<T>> + Send {
        self.recv()
    }
}

/// A batch that starts with `first`: every item waiting in `queue`, and those that arrive within
/// `linger` of the call, up to `max` items in all.
pub async fn gather<T>(
    queue: &mut impl Queue<T>,
    first: T,
    max: usize,
    linger: Duration,
) -> Vec<T> {
    let mut batch = vec![first];
    let deadline = tokio::time::sleep(linger);
    tokio::pin!(deadline);
    while batch.len() < max {
        if let Some(item) = queue.try_take() {
            batch.push(item);
            continue;
        }
        let more = tokio::select! {
            biased;
            item = queue.take() => item,
            () = &mut deadline => None,
        };
        match more {
            Some(item) => batch.push(item),
            None => break,
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_batch_takes_what_waits_and_what_comes_within_the_linger() {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        for item in 2..=4 {
            sender.send(item).unwrap();
        }
        let late = sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(3)).await;
            late.send(5).unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
            late.send(6).unwrap();
        });
        let batch = gather(&mut receiver, 1, 100, Duration::from_millis(5)).await;
        assert_eq!(batch, [1, 2, 3, 4, 5]);
        assert_eq!(receiver.recv().await, Some(6));
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_stops_at_its_size_and_when_the_queue_closes() {
        let (sender, mut receiver) = mpsc::channel(10);
        for item in 2..=6 {
            sender.send(item).await.unwrap();
        }
        assert_eq!(
            gather(&mut receiver, 1, 3, Duration::from_secs(1)).await,
            [1, 2, 3]
        );
        drop(sender);
        assert_eq!(
            gather(&mut receiver, 0, 100, Duration::from_secs(1)).await,
            [0, 4, 5, 6]
        );
    }
}
