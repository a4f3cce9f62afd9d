//! `make-freebusy --quotas`: the same windows-and-providers regeneration for the journal's
//! reservations that recur without end. A reservation's periods go to the usage table of the user
//! who made it (its ORGANIZER) and to the journal of that user's group, with the quota as attendee.

use anyhow::Result;
use calstore::object::EventObject;
use calstore::recurrence::{self, ExpandOptions};
use calstore::refresh::DEFAULT_WINDOW_DAYS;
use calstore::{Group, Journal, Period, Providers, Quota, Rid, Uid, UsageTable, User};
use chrono::{DateTime, Duration, Utc};

use super::make_freebusy::{quota_names, Totals};
use crate::args::MakeFreebusyArgs;

pub async fn run<J: Journal>(
    journal: &J,
    args: &MakeFreebusyArgs,
    now: DateTime<Utc>,
) -> Result<Totals> {
    let quotas = if args.all {
        journal.quotas().await?
    } else {
        quota_names(args)?
    };
    let days = args.window_days.unwrap_or(DEFAULT_WINDOW_DAYS);
    let opts = ExpandOptions {
        tz: chrono_tz::Tz::UTC,
        window_end: now + Duration::days(i64::from(days)),
        needs_action: true,
    };
    let mut totals = Totals::default();
    for quota in &quotas {
        totals.owners += 1;
        if let Err(e) = regenerate_quota(journal, quota, args, &opts, &mut totals).await {
            totals.failed += 1;
            eprintln!("calstore: quota {quota}: {e}");
        }
    }
    Ok(totals)
}

async fn regenerate_quota<J: Journal>(
    journal: &J,
    quota: &Quota,
    args: &MakeFreebusyArgs,
    opts: &ExpandOptions,
    totals: &mut Totals,
) -> Result<()> {
    let providers = journal.providers(quota).await?;
    let full = args.reset
        || providers
            .value
            .window_end
            .is_none_or(|end| end > opts.window_end);
    let list = journal.list_events(quota).await?;
    let mut uids: Vec<Uid> = if full {
        list.active
            .iter()
            .cloned()
            .chain(list.active_instances.iter().map(|(u, _)| u.clone()))
            .collect()
    } else {
        providers
            .value
            .events
            .iter()
            .map(|(u, _)| u.clone())
            .collect()
    };
    uids.sort();
    uids.dedup();
    let groups = journal.groups(quota).await?;
    let mut unbounded = Vec::new();
    for uid in uids {
        let expanded = expand_reservation(journal, quota, &uid, &list.active_instances, opts).await;
        let (organiser, periods, is_unbounded) = match expanded {
            Ok(v) => v,
            Err(reason) => {
                totals.skipped += 1;
                eprintln!(
                    "calstore: quota {quota}: uid {:?} skipped: {reason}",
                    uid.as_str()
                );
                continue;
            }
        };
        totals.events += 1;
        totals.periods += periods.len();
        if is_unbounded {
            unbounded.push((uid.clone(), None));
        }
        if args.dry_run {
            for p in &periods {
                println!(
                    "{}\t{}",
                    calstore::period::escape_field(quota.as_str()),
                    p.to_line(true)
                );
            }
            continue;
        }
        let group = groups
            .get(&organiser)
            .cloned()
            .map_or_else(|| Group::new(organiser.as_str()), Ok)?;
        for table in [
            UsageTable::User(organiser.clone()),
            UsageTable::Journal(group),
        ] {
            replace_all(journal, quota, &table, &uid, &periods).await?;
        }
    }
    if !args.dry_run {
        journal
            .set_providers(
                quota,
                &Providers {
                    window_end: Some(opts.window_end),
                    events: unbounded,
                },
                None,
            )
            .await?;
    }
    Ok(())
}

/// Replaces every period of `uid` in one usage table, rid by rid.
async fn replace_all<J: Journal>(
    journal: &J,
    quota: &Quota,
    table: &UsageTable,
    uid: &Uid,
    periods: &[Period],
) -> Result<()> {
    let mut rids: Vec<Option<Rid>> = periods.iter().map(|p| p.rid.clone()).collect();
    rids.push(None);
    rids.sort();
    rids.dedup();
    for rid in rids {
        let mine: Vec<Period> = periods.iter().filter(|p| p.rid == rid).cloned().collect();
        journal
            .replace_usage_periods(quota, table, uid, rid.as_ref(), mine, None)
            .await?;
    }
    Ok(())
}

async fn expand_reservation<J: Journal>(
    journal: &J,
    quota: &Quota,
    uid: &Uid,
    instances: &[(Uid, Rid)],
    opts: &ExpandOptions,
) -> std::result::Result<(User, Vec<Period>, bool), String> {
    let parse = |text: &str| EventObject::parse(text).map_err(|e| e.message().to_owned());
    let parent = match journal
        .get_event(quota, uid, None)
        .await
        .map_err(|e| e.message().to_owned())?
    {
        Some(stored) => Some(parse(&stored.text)?),
        None => None,
    };
    let mut objects = Vec::new();
    for (_, rid) in instances.iter().filter(|(u, _)| u == uid) {
        if let Some(stored) = journal
            .get_event(quota, uid, Some(rid))
            .await
            .map_err(|e| e.message().to_owned())?
        {
            objects.push((parse(&stored.text)?, calstore::EventStatus::Active));
        }
    }
    let organiser = parent
        .as_ref()
        .or(objects.first().map(|(o, _)| o))
        .and_then(|o| o.organizer())
        .ok_or_else(|| "the reservation has no ORGANIZER".to_owned())?;
    let organiser = User::new(organiser).map_err(|e| e.message().to_owned())?;
    let expansion = recurrence::expand(&organiser, parent.as_ref(), &objects, opts)
        .map_err(|e| e.message().to_owned())?;
    let periods = expansion
        .periods
        .into_iter()
        .map(|mut p| {
            p.attendee = Some(quota.as_str().to_owned());
            p
        })
        .collect();
    Ok((organiser, periods, expansion.unbounded))
}
