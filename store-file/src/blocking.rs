//! Running the blocking file work of an async method.
//!
//! Each operation is short but does blocking system calls: fsync (milliseconds on real disks)
//! and, under contention, waiting for a lock (up to the lock timeout). Doing that on an async
//! worker thread would stall every other task on it, so inside a Tokio runtime the work runs on
//! the blocking pool (`spawn_blocking`, a few microseconds of hand-over, small next to one fsync).
//! Outside a runtime (a plain executor, a test calling `block_on`) it runs inline. Once started,
//! an operation runs to its end even if the caller's future is dropped, so it is never cut off
//! half-way through a multi-file change.

use calstore::{Error, ErrorKind, Result};

/// Runs `work` off the async worker threads when a Tokio runtime is there.
///
/// # Errors
///
/// Whatever `work` returns; a backend error if it panicked.
pub(crate) async fn run<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => match handle.spawn_blocking(work).await {
            Ok(result) => result,
            Err(e) => Err(Error::new(
                ErrorKind::Backend,
                format!("a file store operation failed: {e}"),
            )),
        },
        Err(_) => work(),
    }
}
