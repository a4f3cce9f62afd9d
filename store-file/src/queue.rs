//! The request queue: `requests`, one `uid TAB rid TAB method` line per entry in queue order
//! (TAB, CR, LF and backslash in the uid escaped as in period lines). Readers also take the older
//! one- and two-field lines (`uid`, `uid TAB rid`: method `REQUEST`). Queue, dequeue and
//! replacement rewrite the file atomically under the user's exclusive lock.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use calstore::id::{parse_rid_text, rid_text};
use calstore::period::{escape_field, unescape};
use calstore::{QueueKind, Request, Result, Rid, Uid};

use crate::atomic;
use crate::errors;
use crate::lock;
use crate::objects::Owner;

/// Parses the queue file's text.
///
/// # Errors
///
/// Corrupt data naming the file and line of a line that does not parse.
pub(crate) fn parse(text: &str, what: &str, path: &Path) -> Result<Vec<Request>> {
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let bad = |m: &str| errors::corrupt_at(what, path, i + 1, m);
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() > 3 {
            return Err(bad(&format!(
                "expected uid, rid and method separated by TABs, found {} fields",
                fields.len()
            )));
        }
        let uid = unescape(fields[0])
            .and_then(Uid::new)
            .map_err(|e| bad(&format!("uid: {}", e.message())))?;
        let rid = parse_rid_text(fields.get(1).copied().unwrap_or(""))
            .map_err(|e| bad(&format!("rid: {}", e.message())))?;
        let method =
            QueueKind::parse(fields.get(2).copied().unwrap_or("")).map_err(|e| bad(e.message()))?;
        out.push(Request { uid, rid, method });
    }
    Ok(out)
}

/// Writes the queue as text.
pub(crate) fn format(requests: &[Request]) -> String {
    let mut out = String::new();
    for r in requests {
        out.push_str(&escape_field(r.uid.as_str()));
        out.push('\t');
        out.push_str(rid_text(r.rid.as_ref()));
        out.push('\t');
        out.push_str(r.method.as_str());
        out.push('\n');
    }
    out
}

/// Keeps the first of repeated entries.
fn dedup(requests: &[Request]) -> Vec<Request> {
    let mut seen = HashSet::new();
    requests
        .iter()
        .filter(|r| seen.insert((*r).clone()))
        .cloned()
        .collect()
}

impl Owner<'_> {
    fn requests_path(&self) -> PathBuf {
        self.paths.base().join("requests")
    }

    fn what_requests(&self) -> String {
        format!("{}, requests", self.what)
    }

    fn read_requests(&self, what: &str) -> Result<Vec<Request>> {
        let path = self.requests_path();
        match atomic::read_optional(&path, what)? {
            Some((text, _)) => parse(&text, what, &path),
            None => Ok(Vec::new()),
        }
    }

    fn write_requests(&self, requests: &[Request], what: &str) -> Result<()> {
        let path = self.requests_path();
        if requests.is_empty() {
            atomic::remove_file(&path, what)?;
        } else {
            atomic::write_file(
                &path,
                format(requests).as_bytes(),
                None,
                self.settings.modes,
                what,
            )?;
        }
        Ok(())
    }

    /// The queue in order.
    pub(crate) fn requests(&self) -> Result<Vec<Request>> {
        self.read_requests(&self.what_requests())
    }

    /// Appends unless an entry for (uid, rid) with the same method is there.
    pub(crate) fn queue_request(
        &self,
        uid: &Uid,
        rid: Option<&Rid>,
        method: QueueKind,
    ) -> Result<bool> {
        let what = self.what_requests();
        self.settings.writable(&what, "queueing a request")?;
        let _guard = lock::exclusive(&self.lock, self.settings, &what)?;
        let mut queue = self.read_requests(&what)?;
        if queue
            .iter()
            .any(|r| &r.uid == uid && r.rid.as_ref() == rid && r.method == method)
        {
            return Ok(false);
        }
        queue.push(Request {
            uid: uid.clone(),
            rid: rid.cloned(),
            method,
        });
        self.write_requests(&queue, &what)?;
        Ok(true)
    }

    /// Removes every entry for (uid, rid).
    pub(crate) fn dequeue_request(&self, uid: &Uid, rid: Option<&Rid>) -> Result<bool> {
        let what = self.what_requests();
        self.settings.writable(&what, "dequeueing a request")?;
        if !self.requests_path().exists() {
            return Ok(false);
        }
        let _guard = lock::exclusive(&self.lock, self.settings, &what)?;
        let mut queue = self.read_requests(&what)?;
        let before = queue.len();
        queue.retain(|r| !(&r.uid == uid && r.rid.as_ref() == rid));
        if queue.len() == before {
            return Ok(false);
        }
        self.write_requests(&queue, &what)?;
        Ok(true)
    }

    /// Replaces the whole queue.
    pub(crate) fn set_requests(&self, requests: &[Request]) -> Result<()> {
        let what = self.what_requests();
        self.settings
            .writable(&what, "replacing the request queue")?;
        let requests = dedup(requests);
        if requests.is_empty() && !self.requests_path().exists() {
            return Ok(());
        }
        let _guard = lock::exclusive(&self.lock, self.settings, &what)?;
        self.write_requests(&requests, &what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_lines_are_read_and_lines_round_trip() {
        let path = Path::new("requests");
        let read = parse("a\nb\t20260105\nc\\tx\t\tCOUNTER\n\n", "test", path).unwrap();
        assert_eq!(
            read.iter()
                .map(|r| (r.uid.as_str(), rid_text(r.rid.as_ref()), r.method))
                .collect::<Vec<_>>(),
            [
                ("a", "", QueueKind::Request),
                ("b", "20260105", QueueKind::Request),
                ("c\tx", "", QueueKind::Counter)
            ]
        );
        assert_eq!(
            format(&read),
            "a\t\tREQUEST\nb\t20260105\tREQUEST\nc\\tx\t\tCOUNTER\n"
        );
        let err = parse("a\t\tREQUEST\tx\n", "test", path).unwrap_err();
        assert!(err.to_string().contains("requests:1:"), "{err}");
    }
}
