//! Period-table files: whole reads, whole replacements and the streaming rewrite that every
//! change goes through.
//!
//! A table is a sorted, `\n`-terminated list of period lines ([`Period::to_line`]). A change
//! (replace one event's periods, remove some, expire, purge offers) is one pass over the old file:
//! each line is split at its TABs and only its start, end, uid and rid are looked at
//! ([`LineView`]); kept lines are copied byte for byte into a temporary file, the new periods are
//! merged in at their places, and the temporary file replaces the table atomically with a new
//! version. Untouched lines are never re-parsed or re-serialised, so the cost is one sequential
//! read and write of the file. A line whose start, end or uid cannot be read stops the change with
//! a corrupt-data error naming the file and line: no write path drops a line it could not read.
//! A file whose lines are not in order (edited by hand, written by another program) is parsed
//! completely, sorted, and rewritten in order.

use std::io::{self, BufRead, BufReader, BufWriter, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use calstore::period::normalise;
use calstore::{Error, Period, Result, Version};
use chrono::{DateTime, Utc};

use crate::atomic::{self, Replacement};
use crate::errors;
use crate::line::LineView;
use crate::meta::Meta;
use crate::options::Settings;
use crate::version;

/// Buffer size of the streaming reads and writes.
const BUFFER: usize = 64 * 1024;

/// One period-table file and how to describe it in errors.
#[derive(Debug, Clone)]
pub(crate) struct TableFile {
    /// Where it is.
    pub path: PathBuf,
    /// What it is, for messages ("user mailto:alice@example.com, table freebusy").
    pub what: String,
    /// Journal tables write the ninth field (attendee).
    pub attendee: bool,
    /// The offers table: periods whose expiry has passed are never returned and are purged.
    pub offers: bool,
}

/// A whole table as read.
#[derive(Debug)]
pub(crate) struct TableRead {
    /// The periods in table order (expired offers left out).
    pub periods: Vec<Period>,
    /// The version of the file they came from.
    pub version: Version,
    /// How many expired offers were left out.
    pub expired: usize,
}

/// What a change did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    /// The version after the change (unchanged when nothing changed).
    pub version: Version,
    /// Lines removed (by the selection or as expired offers).
    pub removed: usize,
}

/// A change of a table: which old lines stay and which periods come in.
pub(crate) struct Change<'a> {
    /// The version the caller read, if the write is conditional.
    pub expect: Option<Version>,
    /// Whether the old lines are read at all (`false` replaces the whole table).
    pub read_old: bool,
    /// Which old lines stay.
    pub keep: &'a dyn Fn(&LineView<'_>) -> bool,
    /// The periods to insert (any order; repeated identities are inserted once, and an identity
    /// already kept in the table wins).
    pub insert: Vec<Period>,
    /// The instant against which offers expire.
    pub now: DateTime<Utc>,
}

enum StreamError {
    /// The old lines are not in order of their start.
    Unsorted,
    Failed(Error),
}

impl From<Error> for StreamError {
    fn from(e: Error) -> Self {
        StreamError::Failed(e)
    }
}

struct Streamed {
    removed: usize,
    inserted: usize,
    written: usize,
    longest: i64,
}

impl TableFile {
    /// Reads the whole table.
    ///
    /// # Errors
    ///
    /// Corrupt data naming the file and line of the first line that does not parse.
    pub(crate) fn read_all(&self, settings: &Settings, now: DateTime<Utc>) -> Result<TableRead> {
        let Some(mut file) = atomic::open_optional(&self.path, &self.what)? else {
            return Ok(TableRead {
                periods: Vec::new(),
                version: Version(0),
                expired: 0,
            });
        };
        let md = file
            .metadata()
            .map_err(|e| errors::io_error(&self.what, "inspect", &self.path, &e))?;
        let mut bytes = Vec::with_capacity(usize::try_from(md.len()).unwrap_or(0));
        file.read_to_end(&mut bytes)
            .map_err(|e| errors::io_error(&self.what, "read", &self.path, &e))?;
        let text = errors::utf8(&self.what, &self.path, bytes)?;
        let (mut periods, sorted_by_start, longest) = self.parse_all(&text)?;
        settings
            .meta
            .remember(&self.path, Meta::of(&md, longest, sorted_by_start));
        if !periods.is_sorted() {
            periods = normalise(periods);
        }
        let before = periods.len();
        if self.offers {
            periods.retain(|p| !expired(p, now));
        }
        Ok(TableRead {
            expired: before - periods.len(),
            periods,
            version: version::of_metadata(&md),
        })
    }

    /// Parses every line; returns the periods in file order, whether their starts are in order,
    /// and the longest duration in seconds.
    fn parse_all(&self, text: &str) -> Result<(Vec<Period>, bool, i64)> {
        let mut periods: Vec<Period> = Vec::new();
        let mut sorted = true;
        let mut longest = 0i64;
        for (i, line) in text.split('\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let p = Period::from_line(line)
                .map_err(|e| errors::corrupt_at(&self.what, &self.path, i + 1, e.message()))?;
            if periods.last().is_some_and(|last| last.start > p.start) {
                sorted = false;
            }
            longest = longest.max((p.end - p.start).num_seconds());
            periods.push(p);
        }
        Ok((periods, sorted, longest))
    }

    /// Applies a change in one streaming pass (see the module documentation) and replaces the
    /// file atomically; an empty result removes the file. Nothing is written when nothing was
    /// removed or inserted. The caller holds the exclusive lock.
    ///
    /// # Errors
    ///
    /// Stale when `expect` is stale; corrupt data for an unreadable old line; the I/O errors.
    pub(crate) fn change(&self, settings: &Settings, mut change: Change<'_>) -> Result<Outcome> {
        let old = if change.read_old {
            atomic::open_optional(&self.path, &self.what)?
        } else {
            None
        };
        let current = match &old {
            Some(f) => version::of_metadata(
                &f.metadata()
                    .map_err(|e| errors::io_error(&self.what, "inspect", &self.path, &e))?,
            ),
            None => version::of_path(&self.path, &self.what)?,
        };
        version::check(change.expect, current, &self.what)?;
        let now = change.now;
        let mut insert = normalise(std::mem::take(&mut change.insert));
        if self.offers {
            insert.retain(|p| !expired(p, now));
        }
        if current == Version(0) && insert.is_empty() {
            return Ok(Outcome {
                version: current,
                removed: 0,
            });
        }
        let replacement = Replacement::new(&self.path, settings.modes, &self.what)?;
        let source = old.map(|f| BufReader::with_capacity(BUFFER, f));
        let mut changed = !change.read_old;
        let streamed = match self.stream(source, &replacement, change.keep, &insert, now) {
            Err(StreamError::Unsorted) => {
                // Parse everything, sort, and stream the sorted lines instead.
                drop(replacement);
                let sorted = self.sorted_lines()?;
                let replacement = Replacement::new(&self.path, settings.modes, &self.what)?;
                changed = true;
                let streamed = self.stream(
                    Some(Cursor::new(sorted)),
                    &replacement,
                    change.keep,
                    &insert,
                    now,
                );
                return self.finish(settings, replacement, streamed, current, changed);
            }
            other => other,
        };
        self.finish(settings, replacement, streamed, current, changed)
    }

    fn finish(
        &self,
        settings: &Settings,
        replacement: Replacement,
        streamed: Result<Streamed, StreamError>,
        current: Version,
        changed: bool,
    ) -> Result<Outcome> {
        let streamed = match streamed {
            Ok(s) => s,
            Err(StreamError::Failed(e)) => return Err(e),
            Err(StreamError::Unsorted) => {
                return Err(errors::corrupt_at(
                    &self.what,
                    &self.path,
                    0,
                    "the lines could not be put in order",
                ))
            }
        };
        if !changed && streamed.removed == 0 && streamed.inserted == 0 {
            return Ok(Outcome {
                version: current,
                removed: 0,
            });
        }
        if streamed.written == 0 {
            drop(replacement);
            atomic::remove_file(&self.path, &self.what)?;
            settings.meta.forget(&self.path);
            return Ok(Outcome {
                version: Version(0),
                removed: streamed.removed,
            });
        }
        let (version, md) = replacement.commit(Some(current), &self.what)?;
        settings.meta.put(
            &self.path,
            Meta::of(&md, streamed.longest, true),
            settings.modes.file,
        );
        Ok(Outcome {
            version,
            removed: streamed.removed,
        })
    }

    /// The old file's periods, parsed completely and sorted, as lines.
    fn sorted_lines(&self) -> Result<Vec<u8>> {
        let (text, _) = atomic::read_optional(&self.path, &self.what)?.unwrap_or_default();
        let (periods, _, _) = self.parse_all(&text)?;
        let mut out = Vec::with_capacity(text.len());
        for p in normalise(periods) {
            out.extend_from_slice(p.to_line(self.attendee).as_bytes());
            out.push(b'\n');
        }
        Ok(out)
    }

    fn stream<R: BufRead>(
        &self,
        source: Option<R>,
        replacement: &Replacement,
        keep: &dyn Fn(&LineView<'_>) -> bool,
        insert: &[Period],
        now: DateTime<Utc>,
    ) -> Result<Streamed, StreamError> {
        let write_err = |e: io::Error| errors::io_error(&self.what, "write a new", &self.path, &e);
        let mut out = BufWriter::with_capacity(BUFFER, replacement.file());
        let mut s = Streamed {
            removed: 0,
            inserted: 0,
            written: 0,
            longest: 0,
        };
        let mut pending = insert.iter().peekable();
        if let Some(mut source) = source {
            let mut buf = Vec::with_capacity(256);
            let mut line_no = 0usize;
            let mut previous: Option<DateTime<Utc>> = None;
            loop {
                buf.clear();
                let n = source
                    .read_until(b'\n', &mut buf)
                    .map_err(|e| errors::io_error(&self.what, "read", &self.path, &e))?;
                if n == 0 {
                    break;
                }
                line_no += 1;
                let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
                if bytes.is_empty() {
                    continue;
                }
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    errors::corrupt_at(&self.what, &self.path, line_no, "the line is not UTF-8")
                })?;
                let view = LineView::parse(text)
                    .map_err(|m| errors::corrupt_at(&self.what, &self.path, line_no, &m))?;
                if previous.is_some_and(|p| p > view.start) {
                    return Err(StreamError::Unsorted);
                }
                previous = Some(view.start);
                let is_expired = self.offers && view.expiry().is_some_and(|e| e <= now);
                if is_expired || !keep(&view) {
                    s.removed += 1;
                    continue;
                }
                while let Some(p) = pending.peek() {
                    match view.cmp_period(p) {
                        std::cmp::Ordering::Greater => {
                            write_period(&mut out, p, self.attendee, &mut s).map_err(write_err)?;
                            pending.next();
                        }
                        // The same identity is already there: it stays as it is.
                        std::cmp::Ordering::Equal => {
                            pending.next();
                        }
                        std::cmp::Ordering::Less => break,
                    }
                }
                out.write_all(bytes)
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(write_err)?;
                s.written += 1;
                s.longest = s.longest.max((view.end - view.start).num_seconds());
            }
        }
        for p in pending {
            write_period(&mut out, p, self.attendee, &mut s).map_err(write_err)?;
        }
        out.flush().map_err(write_err)?;
        Ok(s)
    }

    /// The path, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

fn write_period(
    out: &mut impl Write,
    p: &Period,
    attendee: bool,
    s: &mut Streamed,
) -> io::Result<()> {
    out.write_all(p.to_line(attendee).as_bytes())?;
    out.write_all(b"\n")?;
    s.inserted += 1;
    s.written += 1;
    s.longest = s.longest.max((p.end - p.start).num_seconds());
    Ok(())
}

/// Whether an offer has expired at `now`.
pub(crate) fn expired(p: &Period, now: DateTime<Utc>) -> bool {
    p.expiry.is_some_and(|e| e <= now)
}
