//! Failure notifications to a real HTTP receiver on 127.0.0.1 (the first answer a 500: the
//! notification is tried again, signed each time) and to a command.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

use crate::common::Env;

/// One request the receiver got: its headers (lower-case names) and body.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An HTTP receiver answering 500 to its first request and 200 to the others.
pub(crate) fn receiver() -> (String, Arc<Mutex<Vec<Got>>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = Arc::clone(&got);
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            loop {
                line.clear();
                r.read_line(&mut line).unwrap();
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                let (k, v) = l.split_once(':').unwrap();
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let n = {
                let mut v = g.lock().unwrap();
                v.push(Got { headers, body });
                v.len()
            };
            let status = if n == 1 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            write!(
                c,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
        }
    });
    (addr, got)
}

/// HMAC-SHA256 of `body` under `key`, by Python's standard library (not the code under test).
fn hmac_sha256(key: &str, body: &[u8]) -> String {
    let mut p = std::process::Command::new("python3")
        .args([
            "-c",
            "import hashlib, hmac, sys; \
             print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
            key,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    p.stdin.take().unwrap().write_all(body).unwrap();
    let o = p.wait_with_output().unwrap();
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

#[test]
fn a_failed_job_is_posted_again_after_a_500_and_signed_and_given_to_a_command() {
    let e = Env::with_cheap_key();
    let (addr, got) = receiver();
    std::fs::write(e.path("secret"), "s3cret key\n").unwrap();
    std::fs::create_dir_all(e.path("src")).unwrap();
    std::fs::write(e.path("src/f"), b"data").unwrap();
    let cfg = e.path("vcd.toml");
    std::fs::write(
        &cfg,
        format!(
            "[repository]\npath = {:?}\npassword_file = {:?}\n\n[categories.data]\npaths = [{:?}]\n\n\
             [jobs.nightly]\nschedule = \"0 2 * * *\"\ntype = \"incremental\"\ncategories = [\"data\"]\n\n\
             [notify]\nurl = \"http://{addr}/hook\"\nsecret_file = {:?}\n",
            e.repo().to_str().unwrap(),
            e.path("pw").to_str().unwrap(),
            e.path("src").to_str().unwrap(),
            e.path("secret").to_str().unwrap(),
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    // A job that succeeds tells nobody.
    e.ok(&["--config", cfg, "run", "nightly"]);
    assert!(got.lock().unwrap().is_empty());
    // The repository locked by another command: the job fails, and says so.
    let repo = e.open_repo();
    let lock = engine::repo::lock::acquire(&repo, true).unwrap();
    let (_, err) = e.code(11, &["--config", cfg, "run", "nightly"]);
    drop(lock);
    assert!(!err.contains("notification"), "delivered in the end: {err}");
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "a 500, then again: {got:?}");
    assert_eq!(got[0].body, got[1].body);
    let ev: serde_json::Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(
        (&ev["event"], &ev["op"]),
        (&"failure".into(), &"run".into())
    );
    assert_eq!(ev["outcome"], "failed");
    assert!(ev["error"].as_str().unwrap().contains("lock"), "{ev}");
    assert!(
        ev["args"].as_array().unwrap().contains(&"nightly".into()),
        "{ev}"
    );
    for g in &got {
        let sig = g
            .headers
            .iter()
            .find(|(k, _)| k == "x-vcd-signature")
            .map(|(_, v)| v.clone())
            .expect("signed");
        assert_eq!(
            sig,
            format!("sha256={}", hmac_sha256("s3cret key", &g.body))
        );
    }

    // A command instead (the flag wins over the file), with the event on stdin and in VCD_*.
    let out = e.path("event.json");
    let cmd = format!(
        "cat > {} && echo \"$VCD_OP $VCD_OUTCOME\" > {}",
        out.display(),
        e.path("env").display()
    );
    let (_, err) = e.code(
        1,
        &[
            "--notify-command",
            &cmd,
            "backup",
            e.path("src").to_str().unwrap(),
            e.path("missing").to_str().unwrap(),
        ],
    );
    assert!(!err.contains("notification"), "{err}");
    let ev: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        (&ev["op"], &ev["outcome"]),
        (&"backup".into(), &"failed".into())
    );
    assert!(ev["error"].as_str().unwrap().contains("missing"), "{ev}");
    assert_eq!(
        std::fs::read_to_string(e.path("env")).unwrap(),
        "backup failed\n"
    );
    // Nothing listens: logged, and the command's own exit code stands.
    let (_, err) = e.code(
        1,
        &[
            "--notify-url",
            "http://127.0.0.1:9/nobody",
            "backup",
            e.path("missing").to_str().unwrap(),
            e.path("src").to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("notification to http://127.0.0.1:9/") && !err.contains("nobody"),
        "{err}"
    );
}
