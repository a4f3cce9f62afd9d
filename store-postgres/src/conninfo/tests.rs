use std::collections::HashMap;
use std::path::Path;

use tokio_postgres::config::Host;

use super::*;

fn parse(conninfo: &str, env: &[(&str, &str)]) -> Result<ConnSettings> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ConnSettings::parse_with_env(conninfo, move |k| env.get(k).cloned())
}

fn hosts(s: &ConnSettings) -> Vec<String> {
    s.config()
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(t) => t.clone(),
            Host::Unix(p) => p.display().to_string(),
        })
        .collect()
}

#[test]
fn urls_parse_with_tls_keys_taken_out() {
    let s = parse(
        "postgresql://agent:s%40cret@db.example.com:6432/imip?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        &[],
    )
    .unwrap();
    assert_eq!(hosts(&s), ["db.example.com"]);
    assert_eq!(s.config().get_ports(), [6432]);
    assert_eq!(s.config().get_user(), Some("agent"));
    assert_eq!(s.config().get_password(), Some(&b"s@cret"[..]));
    assert_eq!(s.config().get_dbname(), Some("imip"));
    assert_eq!(s.config().get_application_name(), Some("x"));
    assert_eq!(s.ssl_mode(), SslMode::VerifyFull);
    assert_eq!(s.ssl_root_cert(), Some(Path::new("/etc/ca.pem")));
    assert_eq!(s.target(), "host db.example.com port 6432");
    let short = parse("postgres://u@h/d", &[]).unwrap();
    assert_eq!(
        (hosts(&short), short.ssl_mode()),
        (vec!["h".to_owned()], SslMode::Prefer)
    );
}

#[test]
fn keyword_strings_parse_with_quotes_and_escapes() {
    let s = parse(
        "dbname = imip_agent host=/run/postgresql user='o\\'brien' password='a b\\\\c' sslmode=disable",
        &[],
    )
    .unwrap();
    assert_eq!(hosts(&s), ["/run/postgresql"]);
    assert_eq!(s.config().get_dbname(), Some("imip_agent"));
    assert_eq!(s.config().get_user(), Some("o'brien"));
    assert_eq!(s.config().get_password(), Some(&b"a b\\c"[..]));
    assert_eq!(s.ssl_mode(), SslMode::Disable);
    assert!(parse("dbname='unterminated", &[]).is_err());
    assert!(parse("novalue", &[]).is_err());
    assert_eq!(
        parse("nosuchkey=1", &[]).unwrap_err().kind(),
        calstore::ErrorKind::InvalidInput
    );
}

#[test]
fn libpq_environment_fills_the_gaps() {
    let env = [
        ("PGHOST", "db1,db2"),
        ("PGPORT", "5433"),
        ("PGUSER", "agent"),
        ("PGPASSWORD", "pw"),
        ("PGDATABASE", "imip"),
        ("PGSSLMODE", "require"),
        ("PGAPPNAME", "cron"),
        ("PGCONNECT_TIMEOUT", "3"),
    ];
    let s = parse("", &env).unwrap();
    assert_eq!(hosts(&s), ["db1", "db2"]);
    assert_eq!(s.config().get_ports(), [5433]);
    assert_eq!(s.config().get_user(), Some("agent"));
    assert_eq!(s.config().get_password(), Some(&b"pw"[..]));
    assert_eq!(s.config().get_dbname(), Some("imip"));
    assert_eq!(s.config().get_application_name(), Some("cron"));
    assert_eq!(
        s.config().get_connect_timeout(),
        Some(&Duration::from_secs(3))
    );
    assert_eq!(s.ssl_mode(), SslMode::Require);
    assert_eq!(s.target(), "host db1 port 5433, host db2 port 5433");
    // The string wins over the environment.
    let s = parse("host=other user=me dbname=mine sslmode=disable", &env).unwrap();
    assert_eq!(hosts(&s), ["other"]);
    assert_eq!(s.config().get_user(), Some("me"));
    assert_eq!(s.config().get_dbname(), Some("mine"));
    assert_eq!(s.ssl_mode(), SslMode::Disable);
}

#[test]
fn defaults_are_the_socket_directory_the_os_user_and_their_database() {
    let s = parse("", &[("USER", "fallback")]).unwrap();
    assert_eq!(hosts(&s), [DEFAULT_SOCKET_DIR]);
    let user = s.config().get_user().unwrap().to_owned();
    assert!(!user.is_empty());
    assert_eq!(s.config().get_dbname(), Some(user.as_str()));
    assert_eq!(s.config().get_application_name(), Some("calstore"));
    assert_eq!(
        s.config().get_connect_timeout(),
        Some(&DEFAULT_CONNECT_TIMEOUT)
    );
    // TLS is never attempted on Unix-domain sockets, as in libpq.
    assert!(!s.uses_tls());
    assert_eq!(s.target(), format!("host {DEFAULT_SOCKET_DIR} port 5432"));
}

#[test]
fn verification_needs_a_root_certificate() {
    let err = parse("host=h sslmode=verify-full", &[]).unwrap_err();
    assert!(err.message().contains("sslrootcert"), "{err}");
    let s = parse("host=h sslmode=verify-ca", &[("PGSSLROOTCERT", "/ca.pem")]).unwrap();
    assert_eq!(s.ssl_mode(), SslMode::VerifyCa);
    // libpq: require with a root certificate verifies the chain.
    let s = parse("host=h sslmode=require sslrootcert=/ca.pem", &[]).unwrap();
    assert_eq!(s.ssl_mode(), SslMode::VerifyCa);
    assert!(parse("host=h sslmode=bogus", &[]).is_err());
    assert!(parse("host=h sslrootcert=system sslmode=verify-full", &[]).is_err());
}

#[test]
fn session_settings_are_added_to_options() {
    let mut s = parse("host=h options='-c search_path=imip'", &[]).unwrap();
    s.add_session_setting("default_transaction_read_only", "on");
    assert_eq!(
        s.config().get_options(),
        Some("-c search_path=imip -c default_transaction_read_only=on")
    );
}

#[test]
fn the_password_file_is_read_when_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile_dir();
    let file = dir.join("pgpass");
    std::fs::write(&file, "h:5432:db:me:from-file\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = file.display().to_string();
    let s = parse("host=h dbname=db user=me", &[("PGPASSFILE", &path)]).unwrap();
    assert_eq!(s.config().get_password(), Some(&b"from-file"[..]));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = parse("host=h dbname=db user=me", &[("PGPASSFILE", &path)]).unwrap();
    assert_eq!(
        s.config().get_password(),
        None,
        "a readable file is ignored"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "calstore-conninfo-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
