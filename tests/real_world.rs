//! Calendars nobody here wrote: every `.ics` file holding a VEVENT that ships in the `icalendar`
//! package's `tests/` folder (from that project's bug reports) must split with no family left
//! out, or be listed as refused, with its reason, in docs/compatibility.md ("Refused files").
//! The folder is found with Python; without the package the test skips loudly, and fails under
//! `CI=true`.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use calstore::object::split_families;

fn icalendar_tests() -> Option<PathBuf> {
    let out = std::process::Command::new(python())
        .args([
            "-c",
            "import icalendar, os; print(os.path.dirname(icalendar.__file__))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim()).join("tests");
    dir.is_dir().then_some(dir)
}

fn ics_files(dir: &Path) -> Vec<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "ics") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The "Refused files" list of docs/compatibility.md: `- \`path\`: reason` lines.
fn documented_refusals() -> BTreeMap<String, String> {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/compatibility.md"),
    )
    .unwrap();
    let section = doc
        .split("## Refused files")
        .nth(1)
        .expect("docs/compatibility.md has a \"## Refused files\" section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split_once("`: "))
        .map(|(path, why)| (path.to_owned(), why.trim().to_owned()))
        .collect()
}

#[test]
fn every_icalendar_test_calendar_imports_or_is_documented_as_refused() {
    let Some(dir) = icalendar_tests() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: the Python icalendar package is required (scripts/test installs it)"
        );
        eprintln!(
            "SKIPPED: the Python icalendar package is not installed; this test checked nothing"
        );
        return;
    };
    let documented = documented_refusals();
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    let mut imported = 0;
    for file in ics_files(&dir) {
        let bytes = std::fs::read(&file).unwrap();
        if !bytes.windows(12).any(|w| w == b"BEGIN:VEVENT") {
            continue;
        }
        let name = file.strip_prefix(&dir).unwrap().display().to_string();
        let why = match String::from_utf8(bytes) {
            Err(_) => Some("not UTF-8".to_owned()),
            Ok(text) => match split_families(&text) {
                Err(e) => Some(e.to_string()),
                Ok(split) => split.rejected.first().map(|r| r.error.to_string()),
            },
        };
        match why {
            None => imported += 1,
            Some(why) => {
                refused.insert(name, why);
            }
        }
    }
    let mut problems = Vec::new();
    for (name, why) in &refused {
        if !documented.contains_key(name) {
            problems.push(format!(
                "refused but not in docs/compatibility.md: {name}: {why}"
            ));
        }
    }
    for name in documented.keys() {
        if !refused.contains_key(name) {
            problems.push(format!(
                "listed as refused in docs/compatibility.md but imports: {name}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(imported >= 100, "only {imported} files imported");
    eprintln!("{imported} files import, {} refused", refused.len());
}

/// The Python with the pinned iCalendar tools: `CALSTORE_PYTHON` (scripts/test sets it to the
/// virtual environment it makes under target/), else `python3` from the PATH.
fn python() -> std::ffi::OsString {
    std::env::var_os("CALSTORE_PYTHON").unwrap_or_else(|| "python3".into())
}
