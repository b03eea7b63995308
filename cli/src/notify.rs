//! Failure notifications: an event (JSON) POSTed to a webhook, with retries and backoff and an
//! optional HMAC-SHA256 signature, and/or given to a command on stdin and as `VCD_*`
//! variables. Where to comes from `--notify-url` / `--notify-command`, else the configuration's
//! `[notify]`. A notification that cannot be delivered is logged: it never changes how the
//! command that failed ends. A webhook waits at most about half a minute (four tries of 5
//! seconds, 7 seconds between them), a command 30 seconds.

use std::io::Write;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::common::{self, GlobalOpts};

/// Where events go.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    url: Option<String>,
    secret: Option<Vec<u8>>,
    command: Option<String>,
}

impl Targets {
    pub fn any(&self) -> bool {
        self.url.is_some() || self.command.is_some()
    }
}

/// The flags', else the configuration's (when there is one and it reads).
pub fn targets(g: &GlobalOpts) -> Targets {
    let config = common::config_path(g)
        .exists()
        .then(|| common::load_config(g).ok())
        .flatten()
        .map(|c| c.notify)
        .unwrap_or_default();
    let secret = config
        .secret_file
        .as_ref()
        .and_then(|p| match std::fs::read_to_string(p) {
            Ok(s) => Some(s.lines().next().unwrap_or_default().as_bytes().to_vec()),
            Err(e) => {
                tracing::warn!("notify: secret_file {p}: {e}; webhooks go unsigned");
                None
            }
        });
    // A command from the file runs (often as root) only if the file is as trusted as one a
    // password_command is taken from: owned by this user or root, writable by no one else.
    let file_command =
        config
            .command
            .filter(|_| match common::trusted_to_run(&common::config_path(g)) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!("notify: the configuration's command is not run: {e:#}");
                    false
                }
            });
    Targets {
        url: g.notify_url.clone().or(config.url),
        secret,
        command: g.notify_command.clone().or(file_command),
    }
}

/// The event of an operation that did not end well.
pub fn event(kind: &str, op: &str, outcome: &str, error: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "event": kind,
        "time": crate::output::json_time(&chrono::Utc::now()),
        "host": engine::host::hostname(),
        "user": engine::host::username(),
        "op": op,
        "args": common::audit_args(),
        "outcome": outcome,
        "error": error,
    })
}

/// Delivers `event` to every target; failures are logged. True when every target took it.
pub fn send(t: &Targets, event: &serde_json::Value) -> bool {
    let body = serde_json::to_vec(event).expect("events serialise");
    let mut all = true;
    if let Some(url) = &t.url {
        if let Err(e) = post(url, &body, t.secret.as_deref()) {
            eprintln!("vcd: warning: notification to {}: {e}", redact(url));
            all = false;
        }
    }
    if let Some(cmd) = &t.command {
        if let Err(e) = run(cmd, event, &body) {
            eprintln!("vcd: warning: notification command: {e}");
            all = false;
        }
    }
    all
}

/// The URL as messages may show it: its scheme, host and port. Credentials and the path
/// (webhook URLs often carry their token there) are left out.
fn redact(url: &str) -> String {
    let Some(i) = url.find("://") else {
        return "(a URL)".into();
    };
    let rest = &url[i + 3..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{}{host}/…", &url[..i + 3])
}

/// The hex HMAC-SHA256 of `body` under `key`: the `X-Vcd-Signature: sha256=…` header.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

/// POSTs `body`, trying again after 1, 2 and 4 seconds on a connection failure or a 5xx or 429
/// answer; a 4xx answer is final.
fn post(url: &str, body: &[u8], secret: Option<&[u8]>) -> Result<(), String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build();
    let mut last = String::new();
    for (i, wait) in [0u64, 1, 2, 4].iter().enumerate() {
        std::thread::sleep(Duration::from_secs(*wait));
        let mut req = agent
            .post(url)
            .set("Content-Type", "application/json")
            .set("User-Agent", concat!("vcd/", env!("CARGO_PKG_VERSION")));
        if let Some(k) = secret {
            req = req.set("X-Vcd-Signature", &format!("sha256={}", signature(k, body)));
        }
        match req.send_bytes(body) {
            Ok(_) => return Ok(()),
            Err(ureq::Error::Status(code, _)) if code < 500 && code != 429 => {
                return Err(format!("refused with {code}"));
            }
            // Not `{e}`: ureq's message quotes the whole URL, credentials and all.
            Err(ureq::Error::Status(code, _)) => last = format!("attempt {}: {code}", i + 1),
            Err(ureq::Error::Transport(t)) => last = format!("attempt {}: {:?}", i + 1, t.kind()),
        }
    }
    Err(format!("not delivered after 4 attempts ({last})"))
}

/// Runs `cmd` with `sh -c`, the event on stdin and as `VCD_EVENT`, `VCD_OP`, `VCD_OUTCOME`,
/// `VCD_ERROR`, `VCD_HOST`, `VCD_TIME`; killed after 30 seconds.
fn run(cmd: &str, event: &serde_json::Value, body: &[u8]) -> Result<(), String> {
    let var = |k: &str| event[k].as_str().unwrap_or_default().to_string();
    use std::os::unix::process::CommandExt;
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        // Its own process group: what it starts is killed with it.
        .process_group(0)
        .env("VCD_EVENT", var("event"))
        .env("VCD_OP", var("op"))
        .env("VCD_OUTCOME", var("outcome"))
        .env("VCD_ERROR", var("error"))
        .env("VCD_HOST", var("host"))
        .env("VCD_TIME", var("time"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        // From a thread: a command that never reads would block a write past the pipe's size
        // (and the timeout below). Not reading its input is not an error.
        let body = body.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
    }
    let start = std::time::Instant::now();
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(st) if st.success() => return Ok(()),
            Some(st) => return Err(format!("{cmd:?} ended with {st}")),
            None if start.elapsed() > Duration::from_secs(30) => {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = child.wait();
                return Err(format!("{cmd:?} still running after 30 seconds: killed"));
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
