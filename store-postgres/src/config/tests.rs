//! The configuration file: examples of the docs parse; unknown keys and bad values are refused
//! naming the file, the key and the reason; instance selection.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use super::raw::parse_duration;
use super::span::locate;
use super::*;

const PATH: &str = "/etc/calstore/calstore.toml";

fn parse(text: &str) -> calstore::Result<Config> {
    Config::parse(text, PATH)
}

fn refused(text: &str) -> String {
    let e = parse(text).unwrap_err();
    assert_eq!(e.kind(), calstore::ErrorKind::InvalidInput, "{e}");
    let m = e.message().to_owned();
    assert!(m.starts_with(PATH), "names the file: {m}");
    assert!(!m.contains('\n'), "one line: {m}");
    m
}

#[test]
fn one_site_with_defaults() {
    let c =
        parse("[instances.main]\nprimary = \"postgresql://agent@db1.example.com/imip_agent\"\n")
            .unwrap();
    let (name, i) = c.select_with_env(None, |_| None).unwrap();
    assert_eq!(name, "main");
    assert_eq!(
        i.store.primary.conninfo,
        "postgresql://agent@db1.example.com/imip_agent"
    );
    assert!(i.store.replicas.is_empty());
    assert!(
        i.journal.is_none(),
        "the journal is in the store's database"
    );
    assert_eq!(i.journal_options(), &i.store);
    assert_eq!(i.store.primary.pool_size, 16);
    assert_eq!(
        i.store.primary.max_lifetime,
        Some(crate::DEFAULT_MAX_LIFETIME)
    );
    assert!(!i.store.primary.read_only && !i.store.primary_reads);
    assert_eq!(i.store.max_replica_lag, None);
}

#[test]
fn primary_two_replicas_tls_and_routing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), "x").unwrap();
    let text = r#"
# two replicas, TLS for all
[instances.main]
primary = "postgresql://agent@db1.example.com/imip_agent"
replicas = [
  "postgresql://agent@db2.example.com/imip_agent",
  "host=db3.example.com dbname=imip_agent user=agent sslmode=require",
]
primary_reads = true
max_replica_lag = "2.5s"
lag_check_interval = "250ms"
replica_retry = 10
pool_size = 32
wait_timeout = "1m"
lock_timeout = "5s"
max_lifetime = "10m"
read_only = true

[instances.main.tls]
sslmode = "verify-full"
sslrootcert = "ca.pem"

[instances.main.journal]
primary = "postgresql://agent@db1.example.com/imip_journal"
"#;
    let c = Config::parse(text, dir.path().join("calstore.toml")).unwrap();
    let (_, i) = c.select_with_env(None, |_| None).unwrap();
    let ca = dir.path().join("ca.pem");
    let s = &i.store;
    assert_eq!(
        s.primary.conninfo,
        format!(
            "postgresql://agent@db1.example.com/imip_agent?sslmode=verify-full&sslrootcert={}",
            ca.display()
        )
    );
    assert!(s.replicas[0].contains("sslmode=verify-full"));
    // What a connection string says itself wins over the file's TLS defaults.
    assert!(s.replicas[1].contains("sslmode=require"));
    assert!(!s.replicas[1].contains("verify-full"));
    assert!(s.replicas[1].contains(&format!("sslrootcert='{}'", ca.display())));
    assert!(s.primary_reads && s.primary.read_only);
    assert_eq!(s.max_replica_lag, Some(Duration::from_millis(2500)));
    assert_eq!(s.lag_check_interval, Duration::from_millis(250));
    assert_eq!(s.replica_retry, Duration::from_secs(10));
    assert_eq!(s.primary.pool_size, 32);
    assert_eq!(s.primary.wait_timeout, Some(Duration::from_secs(60)));
    assert_eq!(s.primary.lock_timeout, Some(Duration::from_secs(5)));
    assert_eq!(s.primary.max_lifetime, Some(Duration::from_secs(600)));
    let j = i.journal.as_ref().unwrap();
    assert!(j
        .primary
        .conninfo
        .contains("/imip_journal?sslmode=verify-full"));
    assert!(j.replicas.is_empty(), "the journal's replicas are its own");
    assert_eq!(
        j.max_replica_lag, s.max_replica_lag,
        "routing is the instance's"
    );
}

#[test]
fn several_instances_and_selection() {
    let c = parse(
        "[instances.oslo]\nprimary = \"dbname=oslo host=/run/postgresql\"\n\
         [instances.bergen]\nprimary = \"dbname=bergen host=/run/postgresql\"\n",
    )
    .unwrap();
    assert_eq!(c.names().collect::<Vec<_>>(), ["bergen", "oslo"]);
    assert_eq!(c.select_with_env(Some("oslo"), |_| None).unwrap().0, "oslo");
    // CALSTORE_INSTANCE when no name is given; the name given wins.
    let env = |k: &str| (k == INSTANCE_ENV).then(|| "bergen".to_owned());
    assert_eq!(c.select_with_env(None, env).unwrap().0, "bergen");
    assert_eq!(c.select_with_env(Some("oslo"), env).unwrap().0, "oslo");
    let e = c.select_with_env(None, |_| None).unwrap_err().to_string();
    assert!(
        e.contains("several instances (bergen, oslo)") && e.contains(INSTANCE_ENV),
        "{e}"
    );
    let e = c
        .select_with_env(Some("trondheim"), |_| None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown instance \"trondheim\"") && e.contains("bergen, oslo"),
        "{e}"
    );
    let e = c
        .select_with_env(None, |_| Some("x".into()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown instance \"x\""), "{e}");
}

#[test]
fn unknown_keys_are_refused_with_file_key_and_reason() {
    let m = refused("[instances.main]\nprimary = \"dbname=a\"\nreplcas = [\"dbname=b\"]\n");
    assert!(m.contains("instances.main.replcas (line 3)"), "{m}");
    assert!(
        m.contains("unknown key `replcas`") && m.contains("`replicas`"),
        "{m}"
    );
    let m = refused(
        "[instances.main]\nprimary = \"dbname=a\"\n[instances.main.tls]\nsslmod = \"require\"\n",
    );
    assert!(
        m.contains("instances.main.tls.sslmod (line 4): unknown key"),
        "{m}"
    );
    let m = refused("[instance.main]\nprimary = \"dbname=a\"\n");
    assert!(m.contains("unknown key `instance`"), "{m}");
    let m = refused("[instances.main]\nprimary = \"dbname=a\"\n[instances.main.journal]\nprimary = \"dbname=j\"\npool_size = 3\n");
    assert!(
        m.contains("instances.main.journal.pool_size (line 5): unknown key"),
        "{m}"
    );
}

#[test]
fn bad_values_are_refused_with_file_key_and_reason() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "pool_size = 0",
            "instances.main.pool_size",
            "not between 1 and 10000",
        ),
        (
            "pool_size = \"many\"",
            "instances.main.pool_size (line 3)",
            "invalid type",
        ),
        (
            "read_only = \"yes\"",
            "instances.main.read_only (line 3)",
            "invalid type",
        ),
        (
            "max_replica_lag = \"5 parsecs\"",
            "instances.main.max_replica_lag (line 3)",
            "unknown unit",
        ),
        (
            "max_replica_lag = -1",
            "instances.main.max_replica_lag (line 3)",
            "negative",
        ),
        (
            "replica_retry = \"0s\"",
            "instances.main.replica_retry",
            "longer than zero",
        ),
        (
            "lock_timeout = 0",
            "instances.main.lock_timeout",
            "longer than zero",
        ),
        (
            "max_lifetime = \"0s\"",
            "instances.main.max_lifetime",
            "longer than zero",
        ),
        (
            "replicas = [\"/var/lib/calstore\"]",
            "instances.main.replicas[0]",
            "not a PostgreSQL connection string",
        ),
        (
            "replicas = [\"postgresql://h/db?sslmode=sometimes\"]",
            "instances.main.replicas[0]",
            "sslmode",
        ),
        (
            "replicas = [\n  \"dbname=b\",\n  5,\n]",
            "instances.main.replicas (line 5)",
            "invalid type",
        ),
    ];
    for (line, key, why) in cases {
        let m = refused(&format!(
            "[instances.main]\nprimary = \"dbname=a\"\n{line}\n"
        ));
        assert!(m.contains(key) && m.contains(why), "{line}: {m}");
    }
    let m = refused("[instances.main]\nreplicas = []\n");
    assert!(
        m.contains("instances.main") && m.contains("missing key `primary`"),
        "{m}"
    );
    let m = refused("[instances.main]\nprimary = \"postgresql://h/db\"\n[instances.main.tls]\nsslmode = \"verify-full\"\n");
    assert!(
        m.contains("instances.main.primary: sslmode=verify-full needs a root certificate"),
        "{m}"
    );
    let m = refused("[instances.main]\nprimary = \"dbname=a\"\n[instances.main.tls]\nsslrootcert = \"/nonexistent/ca.pem\"\n");
    assert!(
        m.contains("instances.main.tls.sslrootcert: /nonexistent/ca.pem is not a readable file"),
        "{m}"
    );
    let m = refused("");
    assert!(m.contains("instances: no instance is configured"), "{m}");
    let m = refused("[instances.\"a b\"]\nprimary = \"dbname=a\"\n");
    assert!(m.contains("instances.a b: an instance name is"), "{m}");
    let m = refused("[instances.main\nprimary = 1\n");
    assert!(m.contains("line 1"), "{m}");
}

#[test]
fn two_instances_may_not_share_a_database() {
    let m = refused(
        "[instances.a]\nprimary = \"host=db port=5432 dbname=x user=u\"\n\
         [instances.b]\nprimary = \"postgresql://u@db:5432/x\"\n",
    );
    assert!(
        m.contains("instances.b.primary") && m.contains("instances.a.primary"),
        "{m}"
    );
    assert!(m.contains("never share data"), "{m}");
    // The same server with other databases is fine.
    parse(
        "[instances.a]\nprimary = \"host=db dbname=x user=u\"\n\
         [instances.b]\nprimary = \"host=db dbname=y user=u\"\n",
    )
    .unwrap();
}

#[test]
fn durations_and_key_locations() {
    assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
    assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
    assert!(parse_duration("fast").is_err());
    let text = "a = 1\n[x.y]\n# c\nb = [\n 1,\n 2 ]\n[[z]]\n\"q.r\" = 2 # note\n";
    assert_eq!(locate(text, 0), (1, Some("a".into())));
    assert_eq!(
        locate(text, text.find(" 2 ]").unwrap()),
        (6, Some("x.y.b".into()))
    );
    assert_eq!(
        locate(text, text.find("\"q.r\"").unwrap()),
        (8, Some("z.q.r".into()))
    );
    assert_eq!(
        locate(text, text.find("[x.y]").unwrap()),
        (2, Some("x.y".into()))
    );
    let _ = Path::new(PATH);
}
