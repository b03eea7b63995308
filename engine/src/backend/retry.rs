//! `RetryBackend`: retries what storage calls `Transient` (a timeout, a reset connection,
//! throttling) with exponential backoff, and never what it calls `NotFound` or `Permanent`.
//! Every call is safe to repeat: puts are whole and atomic, names are content hashes, reads
//! and lists have no effect; a repeated `put_new` that finds its name taken checks whether the
//! file holds its own bytes (an earlier attempt that succeeded but whose answer was lost). A stream is not retried: its bytes are gone once written.

use std::time::Duration;

use super::{BResult, Backend, FileType, PutStream};

/// How often and how long to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each further one, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            // Six waits, 12.6 s in all: a network that drops a third of its connections
            // still gets a request through (0.3^7), and a dead endpoint fails in seconds.
            attempts: 7,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

pub struct RetryBackend<B> {
    inner: B,
    policy: RetryPolicy,
    /// How to wait: the thread's sleep, or a recorder in tests.
    sleep: fn(Duration),
}

impl<B: Backend> RetryBackend<B> {
    pub fn new(inner: B, policy: RetryPolicy) -> Self {
        RetryBackend {
            inner,
            policy,
            sleep: std::thread::sleep,
        }
    }

    /// Same, waiting with `sleep` (tests pass one that only records).
    pub fn with_sleep(inner: B, policy: RetryPolicy, sleep: fn(Duration)) -> Self {
        RetryBackend {
            inner,
            policy,
            sleep,
        }
    }

    fn retry<T>(&self, what: &str, call: impl FnMut() -> BResult<T>) -> BResult<T> {
        run(&self.policy, self.sleep, what, call)
    }
}

/// Calls `call` until it succeeds, fails other than transiently, or `policy` runs out; for a
/// backend whose calls cannot be repeated from outside (a stream's commit).
pub(crate) fn run<T>(
    policy: &RetryPolicy,
    sleep: fn(Duration),
    what: &str,
    mut call: impl FnMut() -> BResult<T>,
) -> BResult<T> {
    let mut delay = policy.first_delay;
    let mut attempt = 1;
    loop {
        match call() {
            Err(e) if e.is_transient() && attempt < policy.attempts => {
                tracing::debug!("{what}: {e}; attempt {attempt} failed, retrying in {delay:?}");
                sleep(delay);
                delay = (delay * 2).min(policy.max_delay);
                attempt += 1;
            }
            r => return r,
        }
    }
}

impl<B: Backend> Backend for RetryBackend<B> {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn exists(&self) -> BResult<bool> {
        self.retry("probing", || self.inner.exists())
    }
    fn create(&self) -> BResult<()> {
        self.retry("creating", || self.inner.create())
    }
    fn put(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
        self.retry("writing", || self.inner.put(t, name, data))
    }
    fn put_new(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
        let mut attempts = 0;
        match self.retry("creating", || {
            attempts += 1;
            self.inner.put_new(t, name, data)
        }) {
            // An attempt whose answer was lost may have created the file itself: it is ours if
            // it holds our bytes (sealed objects never repeat, nonces being random).
            Err(e) if e.is_exists() && attempts > 1 => match self.get(t, name) {
                Ok(b) if b == data => Ok(()),
                _ => Err(e),
            },
            r => r,
        }
    }
    fn get(&self, t: FileType, name: &str) -> BResult<Vec<u8>> {
        self.retry("reading", || self.inner.get(t, name))
    }
    fn get_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> BResult<Vec<u8>> {
        self.retry("reading", || self.inner.get_range(t, name, offset, len))
    }
    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> BResult<()> {
        self.retry("reading", || {
            self.inner.read_range_into(t, name, offset, len, buf)
        })
    }
    fn put_stream(&self, t: FileType) -> BResult<Box<dyn PutStream + '_>> {
        self.retry("writing", || self.inner.put_stream(t))
    }
    fn list(&self, t: FileType) -> BResult<Vec<(String, u64)>> {
        self.retry("listing", || self.inner.list(t))
    }
    fn delete(&self, t: FileType, name: &str) -> BResult<()> {
        self.retry("deleting", || self.inner.delete(t, name))
    }
    fn modified(&self, t: FileType, name: &str) -> BResult<Option<std::time::SystemTime>> {
        self.retry("probing", || self.inner.modified(t, name))
    }
    fn remove_temp_files(&self, before: &super::TempCutoff) -> BResult<(u64, u64)> {
        self.retry("cleaning", || self.inner.remove_temp_files(before))
    }
    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }
    fn is_remote(&self) -> bool {
        self.inner.is_remote()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{BackendError, MemBackend};
    use std::io;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    /// A memory backend whose `get` fails `fails` times with an error of `kind` first, and
    /// whose `put_new` does its work but answers with a timeout `lost` times first.
    struct Flaky {
        inner: MemBackend,
        fails: AtomicU32,
        kind: io::ErrorKind,
        calls: AtomicU32,
        lost: AtomicU32,
    }

    impl Backend for Flaky {
        fn location(&self) -> String {
            "flaky".into()
        }
        fn exists(&self) -> BResult<bool> {
            self.inner.exists()
        }
        fn create(&self) -> BResult<()> {
            self.inner.create()
        }
        fn put(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
            self.inner.put(t, name, data)
        }
        fn put_new(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
            self.inner.put_new(t, name, data)?;
            if self.lost.load(Ordering::SeqCst) > 0 {
                self.lost.fetch_sub(1, Ordering::SeqCst);
                return Err(BackendError::from(io::Error::from(io::ErrorKind::TimedOut)));
            }
            Ok(())
        }
        fn get(&self, t: FileType, name: &str) -> BResult<Vec<u8>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.fails.load(Ordering::SeqCst) > 0 {
                self.fails.fetch_sub(1, Ordering::SeqCst);
                return Err(BackendError::from(io::Error::from(self.kind)));
            }
            self.inner.get(t, name)
        }
        fn get_range(&self, t: FileType, name: &str, o: u64, l: u64) -> BResult<Vec<u8>> {
            self.inner.get_range(t, name, o, l)
        }
        fn put_stream(&self, t: FileType) -> BResult<Box<dyn PutStream + '_>> {
            self.inner.put_stream(t)
        }
        fn list(&self, t: FileType) -> BResult<Vec<(String, u64)>> {
            self.inner.list(t)
        }
        fn delete(&self, t: FileType, name: &str) -> BResult<()> {
            self.inner.delete(t, name)
        }
    }

    static SLEPT: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

    fn record(d: Duration) {
        SLEPT.lock().unwrap().push(d);
    }

    fn flaky(fails: u32, kind: io::ErrorKind) -> RetryBackend<Flaky> {
        let f = Flaky {
            inner: MemBackend::default(),
            fails: AtomicU32::new(fails),
            kind,
            calls: AtomicU32::new(0),
            lost: AtomicU32::new(0),
        };
        f.inner.put(FileType::Config, "config", b"c").unwrap();
        let policy = RetryPolicy {
            attempts: 4,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(250),
        };
        RetryBackend::with_sleep(f, policy, record)
    }

    // One test, so the recorded sleeps are not shared between tests running in parallel.
    #[test]
    fn transient_failures_are_retried_with_backoff_and_others_are_not() {
        // Three transient failures, four attempts: the fourth succeeds after waits that double
        // up to the cap.
        SLEPT.lock().unwrap().clear();
        let b = flaky(3, io::ErrorKind::TimedOut);
        assert_eq!(b.get(FileType::Config, "config").unwrap(), b"c");
        assert_eq!(b.inner.calls.load(Ordering::SeqCst), 4);
        let ms: Vec<u128> = SLEPT
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(ms, vec![100, 200, 250]);

        // Four transient failures: attempts run out and the last error comes back.
        let b = flaky(4, io::ErrorKind::ConnectionReset);
        let e = b.get(FileType::Config, "config").unwrap_err();
        assert!(e.is_transient());
        assert_eq!(b.inner.calls.load(Ordering::SeqCst), 4);

        // Permanent and not-found answers are final at once.
        SLEPT.lock().unwrap().clear();
        let b = flaky(1, io::ErrorKind::PermissionDenied);
        assert!(b.get(FileType::Config, "config").is_err());
        assert_eq!(b.inner.calls.load(Ordering::SeqCst), 1);
        let b = flaky(0, io::ErrorKind::Other);
        assert!(b.get(FileType::Config, "nope").unwrap_err().is_not_found());
        assert_eq!(b.inner.calls.load(Ordering::SeqCst), 1);
        assert!(SLEPT.lock().unwrap().is_empty());
    }

    #[test]
    fn a_create_whose_answer_was_lost_is_recognised_as_ours() {
        let b = flaky(0, io::ErrorKind::Other);
        b.inner.lost.store(1, Ordering::SeqCst);
        // The first attempt created the file and timed out; the retry finds it taken, with
        // our bytes: success.
        b.put_new(FileType::Key, "k", b"ours").unwrap();
        assert_eq!(b.get(FileType::Key, "k").unwrap(), b"ours");
        // Taken by someone else: an answer, not a failure, and the file is left alone.
        assert!(b
            .put_new(FileType::Key, "k", b"again")
            .unwrap_err()
            .is_exists());
        assert_eq!(b.get(FileType::Key, "k").unwrap(), b"ours");
    }

    #[test]
    fn a_retrying_backend_keeps_the_contract() {
        let policy = RetryPolicy {
            attempts: 2,
            first_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        };
        crate::backend::conformance::run(&RetryBackend::new(MemBackend::default(), policy));
    }
}
