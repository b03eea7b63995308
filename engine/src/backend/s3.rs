//! The S3 backend: any S3-compatible object store (AWS, Ceph RGW, MinIO, SeaweedFS, Garage,
//! Backblaze, Wasabi), through Apache OpenDAL's S3 service. Keys mirror the local layout
//! (`PREFIX/config`, `PREFIX/keys/…`, `PREFIX/data/XX/…`), so a repository directory copied
//! into a bucket is a repository there too.
//!
//! Why it keeps the contract:
//! - a PUT is atomic (a reader sees the old object, the new one, or none); a streamed file is
//!   held in memory until `commit` names it, since an object cannot be renamed;
//! - `put_new` is a conditional PUT (`If-None-Match: *`): of racing creators the server lets
//!   exactly one win, and the rest get 412, which is `Exists`;
//! - failures say what a retry can do: 5xx, throttling, timeouts and dropped connections are
//!   `Transient` (`RetryBackend` above retries them); 403 and a missing bucket are `Permanent`;
//!   only a missing object is `NotFound`.
//!
//! The backend owns a small tokio runtime (no process-wide one: a host may embed several
//! repositories); callers on any thread block on it, and the engine's own threads give the
//! parallelism, up to `connections` requests at once.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use opendal::{ErrorKind, Operator};

use super::url::S3Location;
use super::{valid_name, BResult, Backend, BackendError, Buffered, FileType, PutStream};

/// How to reach the store, beyond its URL.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// Region to sign for; None: `us-east-1`, which every non-AWS server accepts.
    pub region: Option<String>,
    /// Bucket in the host name (`BUCKET.HOST`) instead of the path (`HOST/BUCKET`).
    pub virtual_host: bool,
    /// A PEM bundle of extra CA certificates to trust (a private endpoint's own CA).
    pub ca_file: Option<PathBuf>,
    /// Credentials given directly: (access key id, secret, session token). Tried first.
    pub credentials: Option<(String, String, Option<String>)>,
    /// Also look for credentials where AWS tools do: `AWS_ACCESS_KEY_ID`, `AWS_PROFILE` and
    /// `~/.aws/credentials`, the instance metadata (unless `AWS_EC2_METADATA_DISABLED=true`),
    /// and the endpoint in `AWS_ENDPOINT_URL` when the URL names none.
    pub from_environment: bool,
    /// Requests in flight at most (uploads, range reads and lists together).
    pub connections: usize,
    /// Objects larger than this are uploaded in parts of `part_size`.
    pub multipart_over: usize,
    pub part_size: usize,
    pub connect_timeout: Duration,
    /// A response that sends nothing for this long is abandoned (and retried above).
    pub read_timeout: Duration,
    /// For a streamed file's upload, which `RetryBackend` cannot repeat (its bytes are here).
    pub retry: super::RetryPolicy,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            region: None,
            virtual_host: false,
            ca_file: None,
            credentials: None,
            from_environment: true,
            connections: 8,
            multipart_over: 64 << 20,
            part_size: 16 << 20,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retry: super::RetryPolicy::default(),
        }
    }
}

pub struct S3Backend {
    rt: tokio::runtime::Runtime,
    op: Operator,
    url: String,
    opts: S3Options,
}

impl S3Backend {
    pub fn new(loc: &S3Location, opts: S3Options) -> BResult<S3Backend> {
        let url = super::url::Location::S3(loc.clone()).to_string();
        let bad = |m: String| BackendError::Permanent(io::Error::other(format!("{url}: {m}")));
        let mut b = opendal::services::S3::default()
            .bucket(&loc.bucket)
            .root(&format!("/{}", loc.prefix))
            .region(opts.region.as_deref().unwrap_or("us-east-1"));
        if let Some(e) = &loc.endpoint {
            b = b.endpoint(e);
        } else if !opts.from_environment {
            b = b.endpoint("https://s3.amazonaws.com");
        }
        if opts.virtual_host {
            b = b.enable_virtual_host_style();
        }
        if let Some((id, secret, token)) = &opts.credentials {
            b = b.access_key_id(id).secret_access_key(secret);
            if let Some(t) = token {
                b = b.session_token(t);
            }
        }
        if !opts.from_environment {
            b = b.disable_config_load().disable_ec2_metadata();
        }
        let mut client = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .read_timeout(opts.read_timeout)
            .pool_max_idle_per_host(opts.connections);
        if let Some(f) = &opts.ca_file {
            let pem = std::fs::read(f)
                .map_err(|e| bad(format!("reading CA file {}: {e}", f.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| bad(format!("CA file {}: {e}", f.display())))?;
            client = client.tls_certs_merge(certs);
        }
        let client = client
            .build()
            .map_err(|e| bad(format!("HTTP client: {e}")))?;
        let op = Operator::new(b).map_err(|e| bad(describe(&e)))?;
        let ctx = op
            .context()
            .with_http_transport(opendal::HttpTransporter::new(
                opendal_http_transport_reqwest::ReqwestTransport::new(client),
            ));
        let op = op.with_context(ctx);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vcd-s3")
            .enable_all()
            .build()
            .map_err(|e| bad(format!("starting the I/O runtime: {e}")))?;
        Ok(S3Backend { rt, op, url, opts })
    }

    fn key(&self, t: FileType, name: &str) -> BResult<String> {
        valid_name(name)?;
        Ok(match t {
            FileType::Config => "config".to_string(),
            FileType::Pack => format!("data/{}/{name}", name.get(..2).unwrap_or("__")),
            _ => format!("{}/{name}", t.dir()),
        })
    }

    fn error(&self, what: &str, key: &str, e: opendal::Error) -> BackendError {
        let msg = format!("{}: {what} {key}: {}", self.url, describe(&e));
        let io = |k: io::ErrorKind| io::Error::new(k, msg.clone());
        match e.kind() {
            ErrorKind::NotFound if !e.message().contains("NoSuchBucket") => {
                BackendError::NotFound(io(io::ErrorKind::NotFound))
            }
            ErrorKind::ConditionNotMatch | ErrorKind::AlreadyExists => {
                BackendError::Exists(io(io::ErrorKind::AlreadyExists))
            }
            ErrorKind::RateLimited => BackendError::Transient(io(io::ErrorKind::WouldBlock)),
            ErrorKind::PermissionDenied => BackendError::Permanent(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{msg} (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, \
                     and that the key may use this bucket)"
                ),
            )),
            // A certificate the client does not trust stays untrusted: no retry.
            _ if msg.contains("certificate") => {
                BackendError::Permanent(io(io::ErrorKind::PermissionDenied))
            }
            _ if e.message().contains("too little data") => {
                BackendError::Permanent(io(io::ErrorKind::UnexpectedEof))
            }
            _ if e.is_temporary() => BackendError::Transient(io(io::ErrorKind::Interrupted)),
            _ => BackendError::Permanent(io(io::ErrorKind::Other)),
        }
    }

    fn write(&self, key: &str, data: opendal::Buffer, new: bool) -> BResult<()> {
        let len = data.len();
        tracing::debug!(target: "vcd::storage", "s3 PUT {key} ({len} bytes{})", if new { ", if none" } else { "" });
        let r = self.rt.block_on(async {
            let mut w = self.op.write_with(key, data).if_not_exists(new);
            if len > self.opts.multipart_over {
                w = w
                    .chunk(self.opts.part_size)
                    .concurrent(self.opts.connections.max(1));
            }
            w.await
        });
        r.map(|_| ()).map_err(|e| self.error("writing", key, e))
    }

    /// Distinguishes "no repository here" from "no bucket here": a HEAD of a missing key
    /// answers 404 either way, a listing names the missing bucket.
    fn check_bucket(&self) -> BResult<()> {
        tracing::debug!(target: "vcd::storage", "s3 LIST / (limit 1)");
        let r = self
            .rt
            .block_on(async { self.op.list_with("/").limit(1).await });
        match r {
            Ok(_) => Ok(()),
            Err(e) => Err(self.error("listing", "the bucket", e)),
        }
    }
}

/// What went wrong, in one line: OpenDAL's kind and message, the server's S3 error code and
/// message when it sent one, and the underlying cause (a refused connection, a TLS failure).
fn describe(e: &opendal::Error) -> String {
    let m = e.message();
    let field = |name: &str| {
        let start = m.find(&format!("{name}: \""))? + name.len() + 3;
        let len = m[start..].find('"')?;
        Some(m[start..start + len].to_string())
    };
    let mut out = match (field("code"), field("message")) {
        (Some(c), Some(msg)) => format!("{c}: {msg}"),
        // A HEAD's answer has no body: only its status says what failed.
        _ if m.is_empty() => match e.kind() {
            ErrorKind::PermissionDenied => "access denied (HTTP 403)".to_string(),
            ErrorKind::NotFound => "not found (HTTP 404)".to_string(),
            k => k.to_string(),
        },
        _ => m.to_string(),
    };
    if m.contains("signing credential") {
        out.push_str(
            " (no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
             AWS_PROFILE)",
        );
    }
    if e.kind() == ErrorKind::PermissionDenied && !out.contains("ccess") {
        out = format!("access denied: {out}");
    }
    let mut src = std::error::Error::source(e);
    let mut seen = 0;
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) && seen < 3 {
            out.push_str(&format!(": {t}"));
        }
        seen += 1;
        src = s.source();
    }
    out
}

impl Backend for S3Backend {
    fn location(&self) -> String {
        self.url.clone()
    }

    fn exists(&self) -> BResult<bool> {
        tracing::debug!(target: "vcd::storage", "s3 HEAD config");
        let r = self.rt.block_on(async { self.op.stat("config").await });
        match r {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.check_bucket()?;
                Ok(false)
            }
            Err(e) => Err(self.error("reading", "config", e)),
        }
    }

    fn create(&self) -> BResult<()> {
        self.check_bucket()?;
        // Some servers (Garage 2.5) ignore `If-None-Match: *` and overwrite: then `put_new`
        // (the config's creation) is not exclusive. Said once, at init, where it matters.
        let probe = format!(".vcd-probe-{}", hex::encode(rand::random::<[u8; 8]>()));
        let first = self.write(&probe, b"1".to_vec().into(), true);
        let second = self.write(&probe, b"2".to_vec().into(), true);
        let _ = self.rt.block_on(async { self.op.delete(&probe).await });
        first?;
        if second.is_ok() {
            tracing::warn!(
                "{}: this server ignores conditional writes (If-None-Match): two `vcd init`s \
                 racing for this location could both seem to succeed",
                self.url
            );
        }
        Ok(())
    }

    fn put(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
        let key = self.key(t, name)?;
        self.write(&key, data.to_vec().into(), false)
    }

    fn put_new(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
        let key = self.key(t, name)?;
        self.write(&key, data.to_vec().into(), true)
    }

    fn get(&self, t: FileType, name: &str) -> BResult<Vec<u8>> {
        let key = self.key(t, name)?;
        tracing::debug!(target: "vcd::storage", "s3 GET {key}");
        let r = self.rt.block_on(async { self.op.read(&key).await });
        r.map(|b| b.to_vec())
            .map_err(|e| self.error("reading", &key, e))
    }

    fn get_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> BResult<Vec<u8>> {
        let key = self.key(t, name)?;
        if len == 0 {
            return Ok(Vec::new());
        }
        let end = offset.checked_add(len).ok_or_else(|| {
            BackendError::Permanent(io::Error::new(
                io::ErrorKind::InvalidInput,
                "range past 2^64",
            ))
        })?;
        tracing::debug!(target: "vcd::storage", "s3 GET {key} bytes {offset}+{len}");
        let r = self
            .rt
            .block_on(async { self.op.read_with(&key).range(offset..end).await });
        let b = r.map_err(|e| self.error("reading", &key, e))?.to_vec();
        if (b.len() as u64) < len {
            return Err(BackendError::Permanent(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: {key}: {} bytes at {offset} asked, {} read",
                    self.url,
                    len,
                    b.len()
                ),
            )));
        }
        Ok(b)
    }

    fn put_stream(&self, t: FileType) -> BResult<Box<dyn PutStream + '_>> {
        Ok(Buffered::new(move |name: &str, buf: Vec<u8>| {
            let key = self.key(t, name)?;
            // A Buffer clones by reference count: a retry does not copy the pack.
            let data = opendal::Buffer::from(buf);
            // `RetryBackend` cannot repeat a stream's commit: the retry is here.
            super::retry::run(&self.opts.retry, std::thread::sleep, "writing", || {
                self.write(&key, data.clone(), false)
            })
        }))
    }

    fn list(&self, t: FileType) -> BResult<Vec<(String, u64)>> {
        if t == FileType::Config {
            let r = self.rt.block_on(async { self.op.stat("config").await });
            return match r {
                Ok(m) => Ok(vec![("config".to_string(), m.content_length())]),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(self.error("reading", "config", e)),
            };
        }
        let dir = format!("{}/", t.dir());
        tracing::debug!(target: "vcd::storage", "s3 LIST {dir}");
        let r = self
            .rt
            .block_on(async { self.op.list_with(&dir).recursive(t == FileType::Pack).await });
        let entries = r.map_err(|e| self.error("listing", &dir, e))?;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            if !e.metadata().is_file() {
                continue;
            }
            let name = e.name();
            if valid_name(name).is_ok() {
                out.push((name.to_string(), e.metadata().content_length()));
            }
        }
        Ok(out)
    }

    fn delete(&self, t: FileType, name: &str) -> BResult<()> {
        let key = self.key(t, name)?;
        tracing::debug!(target: "vcd::storage", "s3 DELETE {key}");
        let r = self.rt.block_on(async { self.op.delete(&key).await });
        r.map_err(|e| self.error("deleting", &key, e))
    }

    fn modified(&self, t: FileType, name: &str) -> BResult<Option<std::time::SystemTime>> {
        let key = self.key(t, name)?;
        tracing::debug!(target: "vcd::storage", "s3 HEAD {key}");
        let r = self.rt.block_on(async { self.op.stat(&key).await });
        let m = r.map_err(|e| self.error("reading", &key, e))?;
        Ok(m.last_modified().map(std::time::SystemTime::from))
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn concurrency(&self) -> usize {
        self.opts.connections
    }
}
