//! The `offline-tables-server` binary end to end: it starts on an empty directory with the
//! demo profile, seed and tokens, serves HTTP on the port it prints, and keeps its data
//! (without seeding twice) across a restart; `SIGHUP` reloads its profile file; with
//! `--test-faults`, `/_test/faults` breaks requests over the real socket. Built without
//! the `test-faults` feature, this file fails on purpose: the fault tests were left out.

mod common;

use common::{demo_path, parse_response, pull_body, request_head, unique, unix_secs};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;

/// The demo's dev tokens (tests/fixtures/tokens.json).
const ALICE: &str = "dev-token-alice";
const BOB: &str = "dev-token-bob";

/// The child process, killed when the test ends however it ends.
struct Server {
    child: Child,
    addr: String,
    /// Its log lines after the 'listening on' one.
    log: mpsc::Receiver<String>,
}

impl Server {
    /// Waits for a log line containing `text`.
    fn wait_for_log(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no log line with '{text}'");
    }

    fn sighup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &Path) -> Server {
    start_with(db, &demo_path("profile.json"), &[])
}

fn start_with(db: &Path, profile: &str, extra: &[&str]) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_offline-tables-server"))
        .args(["--profile", profile])
        .args(extra)
        .args(["--seed", &demo_path("seed.json")])
        .args(["--tokens", &demo_path("tokens.json")])
        .arg("--db")
        .arg(format!("sqlite:{}", db.display()))
        .args(["--listen", "127.0.0.1:0"])
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server binary");
    // Killed and reaped on drop, also when this function panics.
    // The log goes to stdout (tracing's default); read both streams for the line.
    let (tx, rx) = mpsc::channel::<String>();
    let mut server = Server {
        child,
        addr: String::new(),
        log: rx,
    };
    for stream in [
        Box::new(server.child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(server.child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut log = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        match server.log.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    server.addr = rest
                        .chars()
                        .take_while(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']')
                        })
                        .collect();
                    return server;
                }
                log.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = server.child.try_wait() {
                    panic!("the server exited ({status}): {log:#?}");
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("no 'listening on' line: {log:#?}");
}

/// One HTTP/1.1 request over a plain socket: (status, JSON body).
fn http(addr: &str, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let head = request_head(method, path, addr, token, body.len());
    write!(stream, "{head}{body}").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let (status, body) = parse_response(&raw);
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
    };
    (status, json)
}

fn get(addr: &str, path: &str, token: &str) -> (u16, Value) {
    http(addr, "GET", path, token, None)
}

fn pull_all(addr: &str, client: &str) -> Vec<Value> {
    let (status, page) = http(addr, "POST", "/sync/pull", ALICE, Some(&pull_body(client)));
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["hasMore"], json!(false));
    page["changes"].as_array().unwrap().clone()
}

#[test]
fn the_binary_starts_on_an_empty_directory_and_serves_the_protocol() {
    let root = temp_root("start");
    let db = root.join("new/dir/x.db");
    assert!(!root.exists());

    let changes = {
        let server = start(&db);
        assert!(db.exists(), "the database file was created");
        let (status, profile) = get(&server.addr, "/sync/profile", ALICE);
        assert_eq!(status, 200, "{profile}");
        assert_eq!(profile["tables"]["products"]["readOnly"], json!(true));
        assert_eq!(
            profile["tables"]["accounts"]["scope"],
            json!({ "owner": "ownerId" })
        );
        // No --test-faults: the test routes do not exist.
        let (status, err) = get(&server.addr, "/_test/faults", ALICE);
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (404, json!("not_found"))
        );
        let (status, err) = get(&server.addr, "/sync/profile", "wrong");
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (401, json!("unauthorized"))
        );
        // The seed is there, scoped to alice. Its dates moved from its `$anchor` to today,
        // so her recent work orders (5 days before the anchor) are in the 30-day window
        // and the old ones (45 days) are not, whatever the date.
        let changes = pull_all(&server.addr, "bin-1");
        let mut keys: Vec<String> = changes
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["table"].as_str().unwrap(),
                    c["key"].as_str().unwrap()
                )
            })
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "accounts a0",
                "accounts a2",
                "accounts a4",
                "drafts d0",
                "drafts d5",
                "notes n0",
                "notes n5",
                "products p0",
                "products p1",
                "products p2",
                "workorders w10",
                "workorders w2",
                "workorders w6"
            ]
        );
        let w2 = changes.iter().find(|c| c["key"] == "w2").unwrap();
        let modified = w2["row"]["modifiedOn"].as_str().unwrap();
        assert!(
            modified.ends_with('Z') && modified.len() == 20,
            "{modified}"
        );
        let modified = time::OffsetDateTime::parse(modified, &Rfc3339).unwrap();
        // 2026-11-20T20:02:33Z is 4 days 3:57:27 before the anchor.
        let expected = time::OffsetDateTime::now_utc()
            - time::Duration::seconds(4 * 86_400 + 3 * 3600 + 57 * 60 + 27);
        assert!(
            (modified - expected).abs() < time::Duration::minutes(2),
            "{modified} is not about {expected}"
        );
        changes
    };

    // Restarted on the same file: same rows at the same versions, not seeded again.
    {
        let server = start(&db);
        assert_eq!(pull_all(&server.addr, "bin-2"), changes);
        let (status, list) = get(&server.addr, "/api/data/products", BOB);
        assert_eq!(status, 200);
        assert_eq!(list["value"].as_array().unwrap().len(), 3);
    }
    let _ = std::fs::remove_dir_all(&root);
}

fn temp_root(name: &str) -> PathBuf {
    std::env::temp_dir().join(unique(&format!("ot-bin-{name}")))
}

#[test]
fn sighup_reloads_the_profile_file_and_keeps_the_old_one_when_it_is_invalid() {
    let root = temp_root("hup");
    std::fs::create_dir_all(&root).unwrap();
    let profile_path = root.join("profile.json");
    let mut profile: Value =
        serde_json::from_str(&std::fs::read_to_string(demo_path("profile.json")).unwrap()).unwrap();
    std::fs::write(&profile_path, profile.to_string()).unwrap();
    let server = start_with(&root.join("x.db"), profile_path.to_str().unwrap(), &[]);
    let served = |server: &Server| {
        let (status, p) = get(&server.addr, "/sync/profile", ALICE);
        assert_eq!(status, 200, "{p}");
        p
    };
    let pull_version = |server: &Server| {
        let req = pull_body("hup-1");
        let (status, page) = http(&server.addr, "POST", "/sync/pull", ALICE, Some(&req));
        assert_eq!(status, 200, "{page}");
        page["profileVersion"].clone()
    };
    assert_eq!(served(&server)["version"], json!(1));
    assert_eq!(pull_version(&server), json!(1));

    // Invalid JSON, then an invalid profile: logged, version 1 still served.
    std::fs::write(&profile_path, "{ \"version\": 2, ").unwrap();
    server.sighup();
    server.wait_for_log("SIGHUP: keeping profile version 1");
    profile["version"] = json!(2);
    profile["tables"]["accounts"]["conflict"] = json!("sometimes");
    std::fs::write(&profile_path, profile.to_string()).unwrap();
    server.sighup();
    let line = server.wait_for_log("SIGHUP: keeping profile version 1");
    assert!(line.contains("conflict"), "{line}");
    assert_eq!(served(&server)["version"], json!(1));

    // A valid version 2: served from the next request on.
    profile["tables"]["accounts"]["conflict"] = json!("manual");
    std::fs::write(&profile_path, profile.to_string()).unwrap();
    server.sighup();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while served(&server)["version"] != json!(2) {
        assert!(std::time::Instant::now() < deadline, "never reloaded");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        served(&server)["tables"]["accounts"]["conflict"],
        json!("manual")
    );
    assert_eq!(pull_version(&server), json!(2));
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

/// `cargo test` without the feature builds no fault test (`faults.rs` and `profile_swap.rs`
/// need it, see Cargo.toml, and so does the test below): fail, so a run that skipped them
/// cannot pass. (That the release build has no fault layer is checked by
/// scripts/no-test-faults.sh, which npm test runs.)
#[cfg(not(feature = "test-faults"))]
#[test]
fn the_fault_tests_need_the_test_faults_feature() {
    panic!(
        "the server's fault tests were not built: run cargo test -p offline-tables-server \
         --features test-faults (scripts/test.sh does)"
    );
}

#[cfg(feature = "test-faults")]
#[test]
fn with_test_faults_the_binary_drops_a_connection_on_request() {
    let root = temp_root("faults");
    let server = start_with(
        &root.join("x.db"),
        &demo_path("profile.json"),
        &["--test-faults"],
    );
    let rules = json!({ "rules": [
        { "path": "/sync/pull", "user": "alice", "fault": { "kind": "close" } } ] });
    let (status, state) = http(&server.addr, "POST", "/_test/faults", "", Some(&rules));
    assert_eq!(status, 200, "{state}");

    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = pull_body("f-1").to_string();
    write!(
        stream,
        "POST /sync/pull HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dev-token-alice\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw);
    assert!(raw.is_empty(), "no byte of a response: {read:?}");

    let req = pull_body("f-1");
    let (status, _) = http(&server.addr, "POST", "/sync/pull", ALICE, Some(&req));
    assert_eq!(status, 200, "the next request is served");
    let (_, state) = get(&server.addr, "/_test/faults", "");
    assert_eq!(
        state,
        json!({ "rules": [], "fired": [
            { "method": "POST", "path": "/sync/pull", "user": "alice", "kind": "close" } ] })
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

fn key_fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// An RS256 token signed with fixtures/rsa-private.pem, key id `rsa-1`.
fn rs256(claims: Value) -> String {
    let pem = std::fs::read(key_fixture("rsa-private.pem")).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("rsa-1".into());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[test]
fn the_binary_verifies_rs256_against_a_jwks_file_with_its_issuer_and_audience() {
    let root = temp_root("jwks");
    let exp = unix_secs() + 600;
    let (iss, aud) = ("https://idp.example.test/", "api://ot");
    let jwks = key_fixture("jwks.json");
    let server = start_with(
        &root.join("db/offline.db"),
        &demo_path("profile.json"),
        &["--jwks", &jwks, "--jwt-issuer", iss, "--jwt-audience", aud],
    );
    let good = rs256(json!({ "sub": "alice", "iss": iss, "aud": aud, "exp": exp }));
    let (status, body) = get(&server.addr, "/api/data/accounts", &good);
    assert_eq!(status, 200, "{body}");
    assert!(!body["value"].as_array().unwrap().is_empty());
    for bad in [
        json!({ "sub": "alice", "iss": "https://other/", "aud": aud, "exp": exp }),
        json!({ "sub": "alice", "iss": iss, "aud": "api://other", "exp": exp }),
    ] {
        let (status, body) = get(&server.addr, "/sync/profile", &rs256(bad));
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    // The dev tokens still work beside it.
    let (status, _) = get(&server.addr, "/sync/profile", ALICE);
    assert_eq!(status, 200);
    drop(server);

    // A key file that is no key stops the server at start, saying which flag.
    let out = Command::new(env!("CARGO_BIN_EXE_offline-tables-server"))
        .args(["--profile", &demo_path("profile.json")])
        .args(["--jwks", &demo_path("profile.json")])
        .arg("--db")
        .arg(format!("sqlite:{}", root.join("db2/offline.db").display()))
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("run the server binary");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--jwks") && err.contains("array"), "{err}");
    let _ = std::fs::remove_dir_all(&root);
}
