//! Range reads of period tables in O(log n + k): a binary search over byte offsets of the sorted
//! file with positioned reads (`read_at`) finds the first line that can overlap, then lines are
//! read forward until one starts at or after the end of the range. Only the returned lines are
//! parsed as periods.
//!
//! A period starting up to "the longest duration in the table" before the range can still reach
//! into it, so the search starts that far back; the longest duration (and whether the file is in
//! order) comes from the [`meta`](crate::meta) cache, rebuilt by one scan when stale. A file that
//! is not in order of start is read whole instead.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;

use calstore::period::normalise;
use calstore::{Error, Period, Result, Version};
use chrono::{DateTime, Duration, Utc};

use crate::atomic;
use crate::errors;
use crate::line::{instant, LineView};
use crate::meta::Meta;
use crate::options::Settings;
use crate::table::{expired, TableFile};
use crate::version;

/// Below this many bytes between the bounds the search reads forward instead of probing.
const LINEAR: u64 = 4096;

/// A reader at a position of a file, with positioned reads (the file's cursor is not used).
struct At<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

enum Probe {
    /// The first non-blank line at or after the position: its offset and start.
    Line(u64, DateTime<Utc>),
    /// No line at or after the position.
    End,
    /// A line whose start does not parse, at this offset.
    Bad(u64),
}

impl TableFile {
    /// The periods overlapping [start, end), in table order, with the table version.
    ///
    /// # Errors
    ///
    /// Corrupt data naming the file and line of a line that does not parse.
    pub(crate) fn read_range(
        &self,
        settings: &Settings,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Period>, Version)> {
        let Some(file) = atomic::open_optional(&self.path, &self.what)? else {
            return Ok((Vec::new(), Version(0)));
        };
        let md = file
            .metadata()
            .map_err(|e| errors::io_error(&self.what, "inspect", &self.path, &e))?;
        let meta = match settings.meta.get(&self.path, &md) {
            Some(meta) => meta,
            None => {
                let meta = self.scan(&file, &md)?;
                settings.meta.put(&self.path, meta, settings.modes.file);
                meta
            }
        };
        if !meta.sorted {
            let read = self.read_all(settings, now)?;
            let found = calstore::period::overlapping(
                &read.periods,
                start,
                end,
                calstore::period::max_duration(&read.periods),
            );
            return Ok((found, read.version));
        }
        let lower = start
            .checked_sub_signed(Duration::seconds(meta.longest))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let from = self.lower_bound(&file, md.len(), lower)?;
        let mut reader = BufReader::with_capacity(
            16 * 1024,
            At {
                file: &file,
                pos: from,
            },
        );
        let mut found = Vec::new();
        let mut buf = Vec::with_capacity(256);
        let mut offset = from;
        loop {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| errors::io_error(&self.what, "read", &self.path, &e))?;
            if n == 0 {
                break;
            }
            let at = offset;
            offset += n as u64;
            let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
            if bytes.is_empty() {
                continue;
            }
            let bad = |problem: &str| self.corrupt_at_offset(&file, at, problem);
            let text = std::str::from_utf8(bytes).map_err(|_| bad("the line is not UTF-8"))?;
            let view = LineView::parse(text).map_err(|m| bad(&m))?;
            if view.start < lower {
                continue;
            }
            if view.start >= end {
                break;
            }
            let p = Period::from_line(text).map_err(|e| bad(e.message()))?;
            if p.overlaps(start, end) && !(self.offers && expired(&p, now)) {
                found.push(p);
            }
        }
        Ok((normalise(found), version::of_metadata(&md)))
    }

    /// Reads every line's start and end once: the longest duration and whether starts are in
    /// order.
    fn scan(&self, file: &File, md: &std::fs::Metadata) -> Result<Meta> {
        let mut reader = BufReader::with_capacity(64 * 1024, At { file, pos: 0 });
        let mut buf = Vec::with_capacity(256);
        let (mut longest, mut sorted, mut previous) = (0i64, true, None);
        let mut line_no = 0usize;
        loop {
            buf.clear();
            let n = reader
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
            let bad = |m: &str| errors::corrupt_at(&self.what, &self.path, line_no, m);
            let text = std::str::from_utf8(bytes).map_err(|_| bad("the line is not UTF-8"))?;
            let view = LineView::parse(text).map_err(|m| bad(&m))?;
            if previous.is_some_and(|p| p > view.start) {
                sorted = false;
            }
            previous = Some(view.start);
            longest = longest.max((view.end - view.start).num_seconds());
        }
        Ok(Meta::of(md, longest, sorted))
    }

    /// An offset at or before the first line whose start is at or after `lower` (and after every
    /// line before that one but a few kilobytes), found by binary search over byte offsets.
    fn lower_bound(&self, file: &File, size: u64, lower: DateTime<Utc>) -> Result<u64> {
        // Invariant: every position below `lo` probes a line starting before `lower`; the
        // position `hi` probes a line starting at or after it (or the end of the file).
        let (mut lo, mut hi) = (0u64, size);
        while hi - lo > LINEAR {
            let mid = lo + (hi - lo) / 2;
            let at_or_after = match self.probe(file, size, mid)? {
                Probe::End => true,
                Probe::Line(_, start) => start >= lower,
                Probe::Bad(at) => {
                    return Err(self.corrupt_at_offset(file, at, "the start is not an instant"))
                }
            };
            if at_or_after {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if lo == 0 {
            return Ok(0);
        }
        // The line probed from `lo - 1` starts before `lower`: reading forward from it is safe.
        match self.probe(file, size, lo - 1)? {
            Probe::Line(at, _) | Probe::Bad(at) => Ok(at),
            Probe::End => Ok(size),
        }
    }

    /// The first non-blank line starting at or after `pos`, with its start.
    fn probe(&self, file: &File, size: u64, pos: u64) -> Result<Probe> {
        let io = |e: io::Error| errors::io_error(&self.what, "read", &self.path, &e);
        let mut buf = [0u8; 512];
        // Find the beginning of the line: position 0, or just after the first newline at or
        // after `pos - 1`.
        let mut line = if pos == 0 {
            0
        } else {
            let mut at = pos - 1;
            loop {
                if at >= size {
                    return Ok(Probe::End);
                }
                let n = file.read_at(&mut buf, at).map_err(io)?;
                if n == 0 {
                    return Ok(Probe::End);
                }
                if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
                    break at + i as u64 + 1;
                }
                at += n as u64;
            }
        };
        loop {
            if line >= size {
                return Ok(Probe::End);
            }
            let n = file.read_at(&mut buf[..64], line).map_err(io)?;
            if n == 0 {
                return Ok(Probe::End);
            }
            if buf[0] == b'\n' {
                line += 1;
                continue;
            }
            let Some(end) = buf[..n].iter().position(|&b| b == b'\t' || b == b'\n') else {
                return Ok(Probe::Bad(line));
            };
            let field = std::str::from_utf8(&buf[..end]).ok();
            return Ok(match field.and_then(instant) {
                Some(start) => Probe::Line(line, start),
                None => Probe::Bad(line),
            });
        }
    }

    /// Corrupt data at a byte offset, reported with its line number (counted only on this error
    /// path).
    fn corrupt_at_offset(&self, file: &File, offset: u64, problem: &str) -> Error {
        let mut reader = BufReader::new(At { file, pos: 0 }.take(offset));
        let mut newlines = 0usize;
        loop {
            let chunk = match reader.fill_buf() {
                Ok([]) | Err(_) => break,
                Ok(chunk) => chunk,
            };
            newlines += chunk.iter().filter(|&&b| b == b'\n').count();
            let len = chunk.len();
            reader.consume(len);
        }
        errors::corrupt_at(&self.what, &self.path, newlines + 1, problem)
    }
}
