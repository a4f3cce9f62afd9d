//! Output formats of `freebusy` (CLI.md): tsv and json; ical is `calstore::query::vfreebusy`.

use calstore::Period;
use chrono::{DateTime, Utc};

/// The period lines of FILE-STORE.md, each `\n`-terminated.
pub fn tsv(periods: &[Period], with_attendee: bool) -> String {
    let mut out = String::new();
    for p in periods {
        out.push_str(&p.to_line(with_attendee));
        out.push('\n');
    }
    out
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn json_opt(v: Option<&str>) -> String {
    match v {
        Some(s) => serde_json::Value::String(s.to_owned()).to_string(),
        None => "null".to_owned(),
    }
}

/// One JSON array in table order, one object per line, with exactly the keys of CLI.md.
pub fn json(periods: &[Period]) -> String {
    let mut out = String::from("[");
    for (i, p) in periods.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&format!(
            "{{\"start\": \"{}\", \"end\": \"{}\", \"uid\": {}, \"rid\": {}, \"transp\": \"{}\", \"fbtype\": \"{}\", \"summary\": {}, \"organiser\": {}, \"expires\": {}}}",
            rfc3339(p.start),
            rfc3339(p.end),
            json_opt(Some(p.uid.as_str())),
            json_opt(p.rid.as_ref().map(|r| r.as_str())),
            p.fbtype.transp().as_str(),
            p.fbtype.as_str(),
            json_opt(p.summary.as_deref()),
            json_opt(p.organiser.as_deref()),
            json_opt(p.expiry.map(rfc3339).as_deref()),
        ));
    }
    out.push_str(if periods.is_empty() { "]\n" } else { "\n]\n" });
    out
}
