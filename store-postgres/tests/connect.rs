//! Connections: TLS modes against a private server with test certificates, unreachable servers,
//! libpq keyword strings and environment defaults, and how long a pooled connection serves.
#![allow(clippy::unwrap_used)] // tests: a failed step should panic right there

use std::path::{Path, PathBuf};
use std::process::Command;

use calstore::{ErrorKind, Store, User};
use calstore_postgres::harness::{server_or_skip, ServerOptions, SslFiles, TestServer};
use calstore_postgres::{
    connect_client, connect_settings, ConnSettings, PgOptions, PgPool, PgStore,
};

/// Test certificates: a CA, a server certificate for DNS:localhost only signed by it, and an
/// unrelated CA.
struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn make_certs() -> Option<Certs> {
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "openssl is needed for the TLS test"
        );
        eprintln!("SKIPPED tls_modes: no openssl command to make test certificates");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for ca in ["ca", "wrong-ca"] {
        let subj = format!("/CN=calstore test {ca}");
        let (key, crt) = (format!("{ca}.key"), format!("{ca}.crt"));
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &crt, "-days", "2", "-subj", &subj]);
        openssl(d, &args);
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(d, &args);
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    Some(Certs { dir })
}

async fn ssl_in_use(client: &tokio_postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn tls_modes_verify_what_libpq_verifies() {
    let Some(certs) = make_certs() else { return };
    if server_or_skip("tls_modes_verify_what_libpq_verifies").is_none() {
        return;
    }
    let server = TestServer::start_private(&ServerOptions {
        ssl: Some(SslFiles {
            cert: certs.path("server.crt"),
            key: certs.path("server.key"),
        }),
        ..ServerOptions::default()
    })
    .expect("TLS server");
    let port = server.private().unwrap().port();
    let (ca, wrong) = (certs.path("ca.crt"), certs.path("wrong-ca.crt"));
    let conn = |host: &str, mode: &str, root: Option<&Path>| {
        let root = root
            .map(|r| format!(" sslrootcert='{}'", r.display()))
            .unwrap_or_default();
        format!("host={host} port={port} user=postgres dbname=postgres sslmode={mode}{root}")
    };

    // Encrypted and checked: the right CA and the name in the certificate.
    let c = connect_client(&conn("localhost", "verify-full", Some(&ca)))
        .await
        .unwrap();
    assert!(ssl_in_use(&c).await);
    // verify-ca checks the chain only, so the address (not in the certificate) is accepted.
    let c = connect_client(&conn("127.0.0.1", "verify-ca", Some(&ca)))
        .await
        .unwrap();
    assert!(ssl_in_use(&c).await);
    // require and prefer encrypt without checking; disable does not encrypt.
    for mode in ["require", "prefer"] {
        let c = connect_client(&conn("127.0.0.1", mode, None))
            .await
            .unwrap();
        assert!(ssl_in_use(&c).await, "{mode}");
    }
    let c = connect_client(&conn("127.0.0.1", "disable", None))
        .await
        .unwrap();
    assert!(!ssl_in_use(&c).await);

    // Refused: a name the certificate does not carry, and a CA that did not sign it.
    for (host, mode, root, why) in [
        ("127.0.0.1", "verify-full", &ca, "wrong host name"),
        ("localhost", "verify-full", &wrong, "wrong CA"),
        ("localhost", "verify-ca", &wrong, "wrong CA"),
        (
            "localhost",
            "require",
            &wrong,
            "require with a root certificate verifies the chain",
        ),
    ] {
        let e = connect_client(&conn(host, mode, Some(root)))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{why}: {e}");
        assert!(e.message().contains(&format!("port {port}")), "{why}: {e}");
        assert!(
            e.chain().to_lowercase().contains("certificate"),
            "{why}: the reason is given: {}",
            e.chain()
        );
    }

    // The pool takes the same path: a store over verify-full, given as a URL.
    let db = server.fresh_database_async().await.unwrap();
    let url = format!(
        "postgresql://postgres@localhost:{port}/{}?sslmode=verify-full&sslrootcert={}",
        db.name,
        ca.display()
    );
    let store = PgStore::connect(&PgOptions::new(url)).await.unwrap();
    assert!(store.users().await.unwrap().is_empty());
    let c = store.pool().get().await.unwrap();
    assert!(ssl_in_use(&c).await);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_naming_host_and_port() {
    let port = free_port();
    let conninfo = format!("host=127.0.0.1 port={port} user=nobody dbname=none sslmode=disable");
    let e = PgStore::connect(&PgOptions::new(&conninfo))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("host 127.0.0.1 port {port}")),
        "{text}"
    );
    assert!(
        text.to_lowercase().contains("refused"),
        "the reason: {text}"
    );
    assert!(!text.contains('\n'), "one sentence: {text}");

    // A pool that never connected fails the same way on its first call.
    let pool = PgPool::new(&PgOptions::new(&conninfo)).unwrap();
    let store = PgStore::from_pool(&pool, false);
    let e = store.users().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    let e = store
        .set_preference(
            &User::new("mailto:a@example.com").unwrap(),
            &calstore::PrefName::new("TZID").unwrap(),
            Some("UTC"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);

    // A socket directory without a server.
    let e = connect_client("host=/nonexistent/calstore port=5999 user=x dbname=y")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(
        e.message().contains("host /nonexistent/calstore port 5999"),
        "{e}"
    );

    // A bad string is invalid input, not unavailable.
    let e = PgStore::connect(&PgOptions::new("port=notanumber"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn keyword_strings_sockets_and_environment_defaults_connect() {
    let Some(server) = server_or_skip("keyword_strings_sockets_and_environment_defaults_connect")
    else {
        return;
    };
    let Some(private) = server.private() else {
        eprintln!("SKIPPED keyword_strings...: needs the private server's socket");
        return;
    };
    let port = private.port().to_string();
    let db = server.fresh_database_async().await.unwrap();

    // A keyword string naming the socket directory: no TLS, no TCP.
    let socket = format!(
        "dbname={} host={} port={port} user=postgres",
        db.name,
        private.socket_dir().display()
    );
    let c = connect_client(&socket).await.unwrap();
    let tcp: bool = c
        .query_one("SELECT inet_server_addr() IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!tcp, "connected through the Unix-domain socket");
    let store = PgStore::connect(&PgOptions::new(&socket)).await.unwrap();
    assert!(store.users().await.unwrap().is_empty());

    // Nothing but the database in the string: host, port, user and sslmode from PG* variables.
    let env = [
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", port.as_str()),
        ("PGUSER", "postgres"),
        ("PGSSLMODE", "disable"),
        ("PGAPPNAME", "calstore-env-test"),
    ];
    let settings = ConnSettings::parse_with_env(&format!("dbname={}", db.name), |k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    let c = connect_settings(&settings).await.unwrap();
    let row = c
        .query_one(
            "SELECT current_user::text, current_database()::text, \
             current_setting('application_name')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "postgres");
    assert_eq!(row.get::<_, String>(1), db.name);
    assert_eq!(row.get::<_, String>(2), "calstore-env-test");
}

/// The server process behind a connection the pool hands out.
async fn backend_pid(pool: &PgPool) -> i32 {
    let client = pool.get().await.unwrap();
    let row = client.query_one("SELECT pg_backend_pid()", &[]).await;
    row.unwrap().get(0)
}

/// A pooled connection is closed and replaced once it has served `max_lifetime` (a new session
/// plans its cached statements with the statistics of the day), and reused while younger or
/// when there is no limit.
#[tokio::test]
async fn pooled_connections_are_replaced_after_their_max_lifetime() {
    let Some(server) = server_or_skip("pooled_connections_are_replaced_after_their_max_lifetime")
    else {
        return;
    };
    let db = server.fresh_database_async().await.unwrap();
    // Long enough that a loaded machine does not age the first connection before its reuse.
    let lifetime = std::time::Duration::from_secs(2);
    let short = PgPool::new(&PgOptions {
        max_lifetime: Some(lifetime),
        ..PgOptions::new(&db.url)
    })
    .unwrap();
    let forever = PgPool::new(&PgOptions {
        max_lifetime: None,
        ..PgOptions::new(&db.url)
    })
    .unwrap();
    let (first, kept) = (backend_pid(&short).await, backend_pid(&forever).await);
    assert_eq!(
        backend_pid(&short).await,
        first,
        "a young connection is reused"
    );
    tokio::time::sleep(lifetime + std::time::Duration::from_millis(200)).await;
    let second = backend_pid(&short).await;
    assert_ne!(
        second, first,
        "a connection past its lifetime was handed out again"
    );
    assert_eq!(
        backend_pid(&short).await,
        second,
        "its replacement is reused"
    );
    assert_eq!(
        backend_pid(&forever).await,
        kept,
        "without a limit the session stays"
    );
}
