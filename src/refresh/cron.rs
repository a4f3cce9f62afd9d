//! The cron job over many users (`make-freebusy`): a few users at a time, never all at once, so
//! memory does not grow with their number; results are handed back in user order. One user's
//! failure (a corrupt table, a lock that did not come) does not stop the others.
//!
//! The library has no runtime of its own: the caller passes `spawn`, which starts a user's
//! regeneration (for example `tokio::spawn`, so that one user's fsyncs or round trips overlap
//! another's expansion and every core works). A `spawn` that returns the future unchanged
//! regenerates the users one after the other.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::User;
use crate::store::Store;

use super::{regenerate, settings, Overrides, Regenerated};

/// How [`regenerate_users`] runs.
#[derive(Debug, Clone, Copy)]
pub struct CronOptions {
    /// Overrides of the users' settings (`--window-days`, `--needs-action`); the time zone is
    /// always the user's own `TZID`, so the cron job computes what the import computed.
    pub overrides: Overrides,
    /// Rebuild every table from every object.
    pub reset: bool,
    /// Compute and report, write nothing.
    pub dry_run: bool,
    /// How many users at once (at least one).
    pub jobs: usize,
    /// The instant the windows are counted from.
    pub now: DateTime<Utc>,
}

/// One user's regeneration, as handed to the caller's `spawn`.
pub type UserJob = Pin<Box<dyn Future<Output = Result<Regenerated>> + Send>>;

/// The users the cron job works on ([`cron_users`]), and what it cannot work on.
#[derive(Debug, Default)]
pub struct CronUsers {
    /// Every user of the store, or the ones named.
    pub users: Vec<User>,
    /// The entries of the store that cannot be read as users ([`Store::unlisted_users`]), one
    /// error each: a caller reports them and fails the run, never skips them silently.
    pub unlisted: Vec<crate::Error>,
}

/// The users the cron job works on: every user of the store when `names` is `None` (with the
/// entries that cannot be read as users), else the ones named.
///
/// # Errors
///
/// The store's errors listing the users.
pub async fn cron_users<S: Store>(store: &S, names: Option<Vec<User>>) -> Result<CronUsers> {
    match names {
        Some(users) => Ok(CronUsers {
            users,
            unlisted: Vec::new(),
        }),
        None => Ok(CronUsers {
            unlisted: store.unlisted_users().await?,
            users: store.users().await?,
        }),
    }
}

/// Regenerates each of `users` ([`regenerate`] with the user's settings), at most
/// `options.jobs` at once, and calls `each` with every user's result in the order of `users`.
/// `spawn` starts one user's job and returns a future of its result; the returned `Err` of
/// `each` stops the run (as when publishing fails).
///
/// # Errors
///
/// The first error `each` returns; a user's own failure is handed to `each`, never returned.
pub async fn regenerate_users<S, Sp, H, E>(
    store: &S,
    users: Vec<User>,
    options: &CronOptions,
    mut spawn: Sp,
    mut each: impl FnMut(&User, Result<Regenerated>) -> std::result::Result<(), E>,
) -> std::result::Result<(), E>
where
    S: Store + Clone + 'static,
    Sp: FnMut(UserJob) -> H,
    H: Future<Output = Result<Regenerated>>,
{
    let jobs = options.jobs.max(1);
    let opts = *options;
    let mut pending = users.into_iter();
    let mut running = VecDeque::with_capacity(jobs);
    loop {
        while running.len() < jobs {
            let Some(user) = pending.next() else { break };
            let store = store.clone();
            let job_user = user.clone();
            let job: UserJob = Box::pin(async move {
                let settings = settings(&store, &job_user, &opts.overrides).await?;
                regenerate(
                    &store,
                    &job_user,
                    &settings,
                    opts.now,
                    opts.reset,
                    opts.dry_run,
                )
                .await
            });
            running.push_back((user, spawn(job)));
        }
        let Some((user, handle)) = running.pop_front() else {
            return Ok(());
        };
        let result = handle.await;
        each(&user, result)?;
    }
}
