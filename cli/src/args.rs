//! The command line (CLI.md): global store options and the subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// calstore: the storage layer of an iMIP calendar agent.
#[derive(Debug, Parser)]
#[command(name = "calstore", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data is, and how to open it.
#[derive(Debug, Args, Clone, Default)]
pub struct Global {
    /// The store: file:PATH, file:///ABS/PATH, a directory, postgresql://…, or a libpq keyword string.
    #[arg(long, env = "CALSTORE_STORE", global = true)]
    pub store: Option<String>,
    /// The journal (default: beside the store, PATH/../journal, or the same database).
    #[arg(long, env = "CALSTORE_JOURNAL", global = true)]
    pub journal: Option<String>,
    /// The preferences (default: PATH/../preferences, or the store's database).
    #[arg(long, env = "CALSTORE_PREFERENCES", global = true)]
    pub preferences: Option<String>,
    /// calstore.toml with instances, replicas, TLS and pool settings.
    #[arg(long, env = "CALSTORE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Which configured instance.
    #[arg(long, env = "CALSTORE_INSTANCE", global = true)]
    pub instance: Option<String>,
    /// Refuse every write.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// More detail in error messages (the full cause chain).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the file store's roots, or install the schema in PostgreSQL.
    Init,
    /// Install, upgrade or inspect the PostgreSQL schema.
    Schema(SchemaArgs),
    /// Read iCalendar files and store every VEVENT under USER, updating USER's free/busy.
    Import(ImportArgs),
    /// Print the periods of one free/busy table that overlap [start, end).
    Freebusy(FreebusyArgs),
    /// Dump a table as TAB-separated lines (the same bytes from every backend).
    List(ListArgs),
    /// Read every object, row and line; report what is corrupt; exit 0 only when all is sound.
    Check,
    /// List a user's settings, print one, or set one.
    Preferences(PreferencesArgs),
    /// The cron job: extend (or rebuild) the free/busy tables of users or quota groups.
    MakeFreebusy(MakeFreebusyArgs),
    /// Drop quota usage that ended before an instant, so quotas refill.
    ExpireQuotas(ExpireQuotasArgs),
    /// Replace a quota group's limits, user groups or delegates (`list --quota Q` reads them).
    Quota(QuotaArgs),
    /// Copy everything from one store (and journal) to another of either kind.
    Copy(CopyArgs),
    /// Apply one iTIP message (.ics or mail; - or nothing reads standard input) for USER.
    Deliver(DeliverArgs),
    /// Answer a queued request: accepted, declined or tentative.
    Answer(AnswerArgs),
    /// Move what the store holds under another spelling of a user (as `check` reports it) to
    /// the user's one spelling.
    MergeUser(MergeUserArgs),
}

/// How `deliver` and `answer` print the decision.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DeliverFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// The user the message was delivered to.
    #[arg(long)]
    pub user: String,
    /// Output format of the decision.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DeliverFormat,
    /// Write the iTIP message to send in answer (if any) to this file.
    #[arg(long)]
    pub reply: Option<String>,
    /// The user may be a resource: open the journal for its quota.
    #[arg(long)]
    pub resource: bool,
    /// The message file; - or nothing reads standard input.
    pub file: Option<String>,
}

#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The user answering.
    #[arg(long)]
    pub user: String,
    /// The event's UID.
    #[arg(long)]
    pub uid: String,
    /// One instance (normalised RECURRENCE-ID); the whole event without it.
    #[arg(long)]
    pub rid: Option<String>,
    /// Write the REPLY to send to the organiser to this file.
    #[arg(long)]
    pub reply: Option<String>,
    /// Output format of the decision.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DeliverFormat,
    /// accepted, declined or tentative.
    pub answer: String,
}

#[derive(Debug, Args)]
pub struct MergeUserArgs {
    /// The odd spelling, exactly as stored (e.g. MAILTO:Alice@Example.com).
    #[arg(long)]
    pub from: String,
    /// The user to merge into (default: the normal spelling of --from).
    #[arg(long)]
    pub into: Option<String>,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The source store.
    #[arg(long)]
    pub from: String,
    /// The target store.
    #[arg(long)]
    pub to: String,
    /// The source journal (default: beside the source store).
    #[arg(long)]
    pub from_journal: Option<String>,
    /// The target journal (default: beside the target store).
    #[arg(long)]
    pub to_journal: Option<String>,
    /// The source preferences (default: beside the source store).
    #[arg(long)]
    pub from_preferences: Option<String>,
    /// The target preferences (default: beside the target store).
    #[arg(long)]
    pub to_preferences: Option<String>,
    /// Copy into a target that is not empty.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct MakeFreebusyArgs {
    /// Every user (or every quota with --quotas).
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// The users (or quotas with --quotas).
    #[arg(value_name = "USER")]
    pub names: Vec<String>,
    /// Work on the journal's quota groups instead of users.
    #[arg(long)]
    pub quotas: bool,
    /// Rebuild from every object instead of extending the window of the providers.
    #[arg(long)]
    pub reset: bool,
    /// The window for rules without end, in days, 1 to 36500 (default: each user's
    /// window_size, else 100).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub window_days: Option<u32>,
    /// Count events still awaiting the user's answer (NEEDS-ACTION) as busy.
    #[arg(long)]
    pub needs_action: bool,
    /// Write each user's busy time to `DIR/<user>/freebusy` (METHOD:PUBLISH).
    #[arg(long, value_name = "DIR")]
    pub publish: Option<std::path::PathBuf>,
    /// The mode of published files, in octal (directories get search permission where it
    /// gives read: 644 → 755); the owner must keep read and write.
    #[arg(long, value_name = "OCTAL", default_value = "644", value_parser = parse_mode, requires = "publish")]
    pub publish_mode: u32,
    /// Write the REPLYs of resources that declined occurrences the extension overbooked
    /// (one .ics per booking) to DIR, for the agent to send.
    #[arg(long, value_name = "DIR")]
    pub replies: Option<std::path::PathBuf>,
    /// Print what would be written (tsv, the user first) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How many users (or quotas) to regenerate at once; output stays in their order.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

/// Parses an octal file mode such as `644` or `0640` (owner read and write required).
fn parse_mode(value: &str) -> Result<u32, String> {
    let mode = u32::from_str_radix(value, 8)
        .map_err(|_| format!("{value:?} is not an octal mode such as 644"))?;
    calstore_any::publish::check_mode(mode).map_err(|e| e.message().to_owned())?;
    Ok(mode)
}

#[derive(Debug, Args)]
pub struct ExpireQuotasArgs {
    /// Every quota.
    #[arg(long, conflicts_with = "quotas")]
    pub all: bool,
    /// The quotas.
    #[arg(value_name = "QUOTA")]
    pub quotas: Vec<String>,
    /// Drop usage that ended at or before this instant (default: now).
    #[arg(long)]
    pub before: Option<String>,
}

#[derive(Debug, Args)]
pub struct QuotaArgs {
    /// The quota group (created by its first write).
    #[arg(long)]
    pub quota: String,
    #[command(subcommand)]
    pub action: QuotaAction,
}

/// Each replaces one table of the quota; no values clears it.
// The variants are the subcommands' names (`set-limits`, …), so they share the prefix.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Subcommand)]
pub enum QuotaAction {
    /// Replace the limits: GROUP=DURATION (a user, a group or `*`; an iCalendar duration such
    /// as PT10H).
    SetLimits {
        #[arg(value_name = "GROUP=DURATION")]
        limits: Vec<String>,
    },
    /// Replace the user → group mapping: USER=GROUP.
    SetGroups {
        #[arg(value_name = "USER=GROUP")]
        groups: Vec<String>,
    },
    /// Replace the delegates (the identities that share the quota, e.g. rooms a busy room
    /// delegates to).
    SetDelegates {
        #[arg(value_name = "USER")]
        delegates: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The store owner, e.g. mailto:alice@example.com.
    #[arg(long)]
    pub user: String,
    /// The user's time zone for this run (default: the user's TZID preference, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// The window for rules without end, in days, 1 to 36500 (default: the user's
    /// window_size, else 100).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub window_days: Option<u32>,
    /// Count events still awaiting the user's answer (NEEDS-ACTION) as busy.
    #[arg(long)]
    pub needs_action: bool,
    /// The whole file or nothing: any event that cannot be read fails the run and stores
    /// nothing (without it, such an event family is reported and left out, the rest stored,
    /// exit 65).
    #[arg(long)]
    pub strict: bool,
    /// iCalendar files; `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Tsv,
    Json,
    Ical,
}

#[derive(Debug, Args)]
pub struct FreebusyArgs {
    /// The store owner.
    #[arg(long)]
    pub user: String,
    /// What the user knows of this participant (freebusy-other/OTHER).
    #[arg(long, conflicts_with = "offers")]
    pub other: Option<String>,
    /// The holds offered while countering (freebusy-offers).
    #[arg(long)]
    pub offers: bool,
    /// Start of the range (RFC 3339 or YYYYMMDDTHHMMSSZ).
    #[arg(long)]
    pub start: Option<String>,
    /// End of the range (exclusive).
    #[arg(long)]
    pub end: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "tsv")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The store owner (store tables).
    #[arg(long, required_unless_present = "quota", conflicts_with = "quota")]
    pub user: Option<String>,
    /// The quota group (journal tables: limits, groups, delegates, freebusy, journal, freebusy-providers, objects).
    #[arg(long)]
    pub quota: Option<String>,
    /// objects, recurrences, requests, counters, freebusy, freebusy-offers, freebusy-other, freebusy-providers, preferences.
    pub table: String,
}

#[derive(Debug, Args)]
pub struct PreferencesArgs {
    /// The user.
    #[arg(long)]
    pub user: String,
    /// A setting's name (TZID, window_size, or any other).
    pub name: Option<String>,
    /// The new value (TZID must be a known zone, window_size a positive number of days).
    pub value: Option<String>,
    /// Remove the setting.
    #[arg(long, conflicts_with = "value", requires = "name")]
    pub unset: bool,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    #[command(subcommand)]
    pub action: SchemaAction,
}

#[derive(Debug, Subcommand)]
pub enum SchemaAction {
    /// Create the schema in an empty database (on a current one: report "up to date", change nothing).
    Install(RoleArgs),
    /// Apply the missing migrations in order, each in one transaction, keeping every row.
    Upgrade(RoleArgs),
    /// Print the schema version, the applied and the pending migrations.
    Status,
}

#[derive(Debug, Args)]
pub struct RoleArgs {
    /// Create (NOLOGIN, if missing) and grant a writer role: DML only, for agents.
    #[arg(long, value_name = "ROLE")]
    pub writer: Option<String>,
    /// Create (NOLOGIN, if missing) and grant a reader role: SELECT only, for web front ends.
    #[arg(long, value_name = "ROLE")]
    pub reader: Option<String>,
}
