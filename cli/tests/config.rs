//! The configuration file end to end (`--config`/`CALSTORE_CONFIG`, `--instance`/
//! `CALSTORE_INSTANCE`): bad files refused naming file, key and reason; instances chosen by flag
//! and environment and kept apart; command-line stores overriding the file; read-only instances;
//! a dead replica skipped. Uses the test server of calstore-postgres; skips loudly without one,
//! except under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Output;

use calstore_postgres::harness::{server_or_skip, TestDatabase};
use support::{command, ok, repo, stderr};

const ALICE: &str = "mailto:alice@example.com";

/// Runs calstore in `dir` with exactly the CALSTORE_* variables of `env`.
fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(dir, args);
    cmd.envs(env.iter().copied());
    cmd.output().expect("run calstore")
}

fn failed(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
    stderr(out)
}

fn fresh(test: &str) -> Option<(TestDatabase, TestDatabase)> {
    let server = server_or_skip(test)?;
    Some((
        server.fresh_database().expect("fresh database"),
        server.fresh_database().expect("fresh database"),
    ))
}

fn example() -> String {
    repo()
        .join("examples/team-week.ics")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_bad_file_is_refused_naming_file_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("calstore.toml");
    std::fs::write(
        &file,
        "[instances.main]\nprimary = \"dbname=imip_agent\"\nreplcas = [\"dbname=b\"]\n",
    )
    .unwrap();
    let path = file.to_string_lossy().into_owned();
    let args = ["list", "--user", ALICE, "objects"];
    let by_flag = run_env(dir.path(), &[&["--config", &path][..], &args].concat(), &[]);
    let by_env = run_env(dir.path(), &args, &[("CALSTORE_CONFIG", &path)]);
    for out in [by_flag, by_env] {
        let e = failed(&out, 2);
        assert!(e.contains(&path), "the file: {e}");
        assert!(
            e.contains("instances.main.replcas (line 3)"),
            "the key: {e}"
        );
        assert!(e.contains("unknown key `replcas`"), "the reason: {e}");
        assert_eq!(e.trim().lines().count(), 1, "one sentence: {e}");
    }
    std::fs::write(
        &file,
        "[instances.main]\nprimary = \"dbname=x\"\npool_size = 0\n",
    )
    .unwrap();
    let e = failed(
        &run_env(dir.path(), &args, &[("CALSTORE_CONFIG", &path)]),
        2,
    );
    assert!(
        e.contains("instances.main.pool_size: 0 is not between 1 and 10000"),
        "{e}"
    );
    let e = failed(
        &run_env(dir.path(), &["--config", "missing.toml", "check"], &[]),
        2,
    );
    assert!(
        e.contains("cannot read the configuration file missing.toml"),
        "{e}"
    );
    // An instance without a file to find it in.
    let e = failed(
        &run_env(dir.path(), &["--instance", "main", "check"], &[]),
        2,
    );
    assert!(e.contains("no configuration file"), "{e}");
}

#[test]
fn instances_are_chosen_by_flag_or_environment_and_kept_apart() {
    let Some((a, b)) = fresh("instances_are_chosen_by_flag_or_environment") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("calstore.toml");
    std::fs::write(
        &file,
        format!(
            "[instances.oslo]\nprimary = \"{}\"\n\n[instances.bergen]\nprimary = \"{}\"\n",
            a.url(),
            b.url()
        ),
    )
    .unwrap();
    let config = file.to_string_lossy().into_owned();
    let env = |instance: &'static str| {
        vec![
            ("CALSTORE_CONFIG", config.clone()),
            ("CALSTORE_INSTANCE", instance.to_owned()),
        ]
    };
    let run = |args: &[&str], env: &[(&str, String)]| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_env(dir.path(), args, &env)
    };
    let list = ["list", "--user", ALICE, "objects"];
    ok(&run(
        &["--instance", "oslo", "import", "--user", ALICE, &example()],
        &env(""),
    ));
    let oslo = ok(&run(&list, &env("oslo")));
    assert!(oslo.contains("standup-2027@example.com"), "{oslo}");
    // bergen sees nothing of oslo's; the flag wins over the environment.
    // (An unknown user is an error since issue 22: exit 67, nothing printed.)
    let unknown = |out: &std::process::Output| (out.status.code(), out.stdout.is_empty());
    assert_eq!(unknown(&run(&list, &env("bergen"))), (Some(67), true));
    assert_eq!(
        unknown(&run(
            &[&["--instance", "bergen"][..], &list].concat(),
            &env("oslo")
        )),
        (Some(67), true)
    );
    // Unknown and missing names are clear errors.
    let e = failed(&run(&list, &env("tromso")), 2);
    assert!(
        e.contains("unknown instance \"tromso\"") && e.contains("bergen, oslo"),
        "{e}"
    );
    let e = failed(&run(&list, &env("")), 2);
    assert!(e.contains("several instances (bergen, oslo)"), "{e}");
    assert!(
        e.contains("--instance") && e.contains("CALSTORE_INSTANCE"),
        "{e}"
    );

    // --store overrides the file: the file store is used, the instances are untouched.
    ok(&run(
        &[
            "--store",
            "files/store",
            "import",
            "--user",
            ALICE,
            &example(),
        ],
        &env(""),
    ));
    assert!(dir.path().join("files/store").is_dir());
    assert_eq!(unknown(&run(&list, &env("bergen"))), (Some(67), true));
}

#[test]
fn a_read_only_instance_refuses_writes_and_reads_past_a_dead_replica() {
    let Some((a, _)) = fresh("a_read_only_instance_refuses_writes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let replica = format!("postgresql://postgres@127.0.0.1:{dead}/x?sslmode=disable");
    let write = |read_only: bool| {
        let file = dir.path().join(format!("ro-{read_only}.toml"));
        std::fs::write(
            &file,
            format!(
                "[instances.site]\nprimary = \"{}\"\nreplicas = [\"{replica}\"]\nread_only = {read_only}\n",
                a.url()
            ),
        )
        .unwrap();
        file.to_string_lossy().into_owned()
    };
    let (rw, ro) = (write(false), write(true));
    let import = ["import", "--user", ALICE, &example()];
    let list = ["list", "--user", ALICE, "objects"];
    ok(&run_env(dir.path(), &import, &[("CALSTORE_CONFIG", &rw)]));
    // Read-only by the file, or by --read-only: every write is refused, reads work — from the
    // replica if it could, here from the primary since the replica is down.
    for (config, flag) in [(&ro, None), (&rw, Some("--read-only"))] {
        let args: Vec<&str> = flag.into_iter().chain(import).collect();
        let e = failed(
            &run_env(dir.path(), &args, &[("CALSTORE_CONFIG", config)]),
            1,
        );
        assert!(
            e.contains("read-only") || e.contains("refuses writes"),
            "{e}"
        );
        let args: Vec<&str> = flag.into_iter().chain(list).collect();
        let out = ok(&run_env(dir.path(), &args, &[("CALSTORE_CONFIG", config)]));
        assert!(out.contains("standup-2027@example.com"), "{out}");
    }
    // With warnings on, the dead replica is named.
    let out = run_env(
        dir.path(),
        &["--read-only", "list", "--user", ALICE, "objects"],
        &[("CALSTORE_CONFIG", &rw), ("RUST_LOG", "warn")],
    );
    ok(&out);
    let e = stderr(&out);
    assert!(
        e.contains(&format!("replica host 127.0.0.1 port {dead} failed")),
        "{e}"
    );
}
