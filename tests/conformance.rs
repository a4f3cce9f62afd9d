//! The exported conformance suite (`calstore::conformance`) on [`calstore::memory`]: the
//! in-memory store must behave as the file and PostgreSQL stores do (their crates run the same
//! suite in their own `tests/conformance.rs`). Needs the `conformance` feature (scripts/test
//! passes `--all-features`).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

calstore::conformance_suite!(memory, calstore::conformance::fixture::memory());

/// The import cases' compiled-in calendars are exactly the valid calendars of tests/data, so a
/// calendar added there is not left out of the suite.
#[test]
fn compiled_in_calendars_are_the_data_directory() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut on_disk: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            (name.ends_with(".ics") && !name.ends_with(".invalid.ics"))
                .then(|| (name, std::fs::read_to_string(&p).unwrap()))
        })
        .collect();
    on_disk.sort();
    let compiled: Vec<(String, String)> = calstore::conformance::data::CALENDARS
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    assert_eq!(compiled, on_disk);
}
