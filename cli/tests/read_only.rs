//! Read-only stores and missing permissions, through separate processes: a populated store is
//! snapshotted (file store: every path, mode, modification time and byte; PostgreSQL: every row of
//! every table), then a `calstore-torture` worker attempts every kind of write (`writes`
//! workload) and `calstore --read-only` runs its writing commands. Every write must be refused,
//! every read must work, and the snapshot must not change.
//!
//! - file store opened read-only: refused with the read-only error;
//! - file store the process may not write (mode 0755/0644, the worker running as `nobody` when
//!   the tests run as root): refused by the file system, reported as unavailable;
//! - PostgreSQL opened read-only: refused by calstore (and its sessions are read-only too);
//! - PostgreSQL through the reader role of `calstore schema install --reader`, opened read-write:
//!   refused by the server itself.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::os::unix::process::CommandExt;

use support::names::*;
use support::*;

/// Gives the place every kind of data: objects, cancellations, counters, a queue, tables,
/// preferences, quota limits and usage.
fn populate(place: &Place) {
    place.setup("setup-crash");
    place.setup("setup-contention");
    for (workload, extra) in [("contention", ["--ops", "80"]), ("crash", ["--ops", "80"])] {
        let out = place.torture(workload).args(extra).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && !text.contains("\nerror") && !text.contains("\nbad"),
            "{workload}: {text}"
        );
    }
    let team_week = format!("{}/../examples/team-week.ics", env!("CARGO_MANIFEST_DIR"));
    let out = place.calstore(&["import", "--user", ALICE, &team_week]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cmd` (the `writes` workload); asserts every read worked and every write was refused
/// with `kind` (any kind when `None`); returns the number of refused writes.
fn attempt_writes(
    place: &Place,
    mut cmd: std::process::Command,
    kind: Option<&str>,
) -> std::collections::BTreeMap<String, usize> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "the writes worker failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = parse_lines(&out.stdout);
    let mut kinds = std::collections::BTreeMap::new();
    for l in &lines {
        match (l.status.as_str(), l.op.starts_with("read-")) {
            ("ack", true) | ("ready" | "done", _) => {}
            ("refused", false) => {
                if let Some(k) = kind {
                    assert_eq!(l.field(0), k, "{} was refused with the wrong kind", l.op);
                }
                *kinds.entry(l.field(0).to_owned()).or_default() += 1;
            }
            // Nothing to do is no write: the background periods have no instances to remove.
            ("ack", false) if kind != Some("read-only") && l.op == "remove_additional_periods" => {}
            _ => panic!(
                "{}: {l:?} (every read must work and every write be refused)",
                place.name()
            ),
        }
    }
    let refused: usize = kinds.values().sum();
    assert!(refused >= 35, "only {refused} writes were attempted");
    kinds
}

/// The writing commands of the command line, with `--read-only`: each must fail.
fn cli_writes_refused(place: &Place) -> usize {
    let team_week = format!("{}/../examples/team-week.ics", env!("CARGO_MANIFEST_DIR"));
    let attempts: Vec<Vec<&str>> = vec![
        vec!["--read-only", "import", "--user", ALICE, &team_week],
        vec!["--read-only", "make-freebusy", "--all"],
        vec!["--read-only", "make-freebusy", "--all", "--reset"],
        vec!["--read-only", "make-freebusy", "--quotas", "--all"],
        vec![
            "--read-only",
            "preferences",
            "--user",
            ALICE,
            "TZID",
            "Europe/Oslo",
        ],
        vec![
            "--read-only",
            "expire-quotas",
            "--all",
            "--before",
            "2100-01-01T00:00:00Z",
        ],
        vec!["--read-only", "init"],
        vec![
            "--read-only",
            "quota",
            "--quota",
            "q",
            "set-limits",
            "*=PT1H",
        ],
        vec![
            "--read-only",
            "quota",
            "--quota",
            "q",
            "set-groups",
            "a@example.com=g",
        ],
        vec![
            "--read-only",
            "quota",
            "--quota",
            "q",
            "set-delegates",
            ALICE,
        ],
    ];
    for args in &attempts {
        let out = place.calstore(args);
        assert!(
            !out.status.success(),
            "{}: `calstore {}` succeeded on a read-only store",
            place.name(),
            args.join(" ")
        );
    }
    attempts.len()
}

/// Opens `place` read-only for the torture worker's writes and the calstore commands that
/// write: every one is refused as read-only, and the snapshot (every byte or row) is unchanged.
fn read_only_changes_nothing(place: &Place, what: &str, unchanged: &str) {
    populate(place);
    let before = place.snapshot();
    let mut cmd = place.torture("writes");
    cmd.arg("--read-only");
    let refused: usize = attempt_writes(place, cmd, Some("read-only")).values().sum();
    let cli = cli_writes_refused(place);
    assert_eq!(place.snapshot(), before, "a read-only {what} changed");
    figures(&format!(
        "read-only {}: {refused} worker writes and {cli} calstore commands refused; {unchanged}",
        place.name()
    ));
}

#[test]
fn a_read_only_file_store_changes_no_byte() {
    read_only_changes_nothing(&Place::file(), "store", "tree unchanged");
}

#[test]
fn a_file_store_without_write_permission_changes_no_byte() {
    use std::os::unix::fs::PermissionsExt;
    let place = Place::file();
    populate(&place);
    let dir = place.dir().unwrap().to_path_buf();
    // A share others may read but not write (the root directory too: tempdir makes it 0700).
    let mut paths = vec![dir.clone()];
    paths.extend(files_under(&dir).into_iter().map(|p| dir.join(p)));
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                paths.push(e.path());
                stack.push(e.path());
            }
        }
    }
    for p in &paths {
        let mode = if p.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let root = is_root();
    let mut cmd = place.torture("writes");
    let mut worker_dir = None;
    if root {
        // Root ignores file modes: write as nobody instead, from a copy of the worker that nobody
        // can reach (the build directory may not be), outside the store's roots.
        let bin = tempfile::tempdir().unwrap();
        let worker = bin.path().join("calstore-torture");
        std::fs::copy(torture_bin(), &worker).unwrap();
        for (p, mode) in [(bin.path(), 0o755), (worker.as_path(), 0o755)] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
        cmd = std::process::Command::new(&worker);
        cmd.args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .uid(65534)
            .gid(65534);
        worker_dir = Some(bin);
    }
    let before = place.snapshot();
    let kinds = attempt_writes(&place, cmd, None);
    drop(worker_dir);
    let refused: usize = kinds.values().sum();
    // Writes fail on the file system (a few on their own terms first: uncancelling what is not
    // cancelled is "not found" before anything is written).
    assert!(
        kinds.get("unavailable").copied().unwrap_or(0) >= 30,
        "writes without permission should fail as unavailable: {kinds:?}"
    );
    assert_eq!(place.snapshot(), before, "a store nobody may write changed");
    figures(&format!(
        "permissions file: {refused} writes by a process without write permission refused \
         (as {}; {kinds:?}); tree unchanged",
        if root { "nobody" } else { "the test user" }
    ));
}

#[test]
fn a_read_only_postgres_store_changes_no_row() {
    let Some(place) = Place::postgres("read-only (postgres)") else {
        return;
    };
    read_only_changes_nothing(&place, "database", "every row unchanged");
}

#[test]
fn the_reader_role_cannot_change_a_row() {
    let Some(place) = Place::postgres("reader role (postgres)") else {
        return;
    };
    populate(&place);
    let role = format!("calstore_reader_{}", std::process::id());
    let out = place.calstore(&["schema", "install", "--reader", &role]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let Place::Postgres(db) = &place else {
        unreachable!()
    };
    let rt = runtime();
    rt.block_on(async {
        let client = calstore_postgres::connect_client(db.url()).await.unwrap();
        client
            .batch_execute(&format!("ALTER ROLE {role} LOGIN"))
            .await
            .unwrap();
    });
    let url = url_with_user(db.url(), &role);
    let before = place.snapshot();
    // Opened read-write: calstore tries every write, the server refuses each.
    let mut cmd = std::process::Command::new(torture_bin());
    cmd.args(["--store", &url, "--workload", "writes"]);
    let refused: usize = attempt_writes(&place, cmd, None).values().sum();
    assert_eq!(place.snapshot(), before, "the reader role changed a row");
    figures(&format!(
        "reader role postgres: {refused} writes refused by the server; every row unchanged"
    ));
}

/// The connection URL with its user replaced.
fn url_with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let after = rest.split_once('@').map_or(rest, |(_, after)| after);
    format!("{scheme}://{user}@{after}")
}
