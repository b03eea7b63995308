//! Counters that long operations bump and a front end polls (a progress bar, plain lines, or
//! nothing). Lock-free, so workers never wait on the display.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Default, Debug)]
pub struct Progress {
    /// Files and bytes finished so far (backup: read or reused; restore: written).
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    /// Totals, when known (a scan running beside a backup fills them in).
    pub total_files: AtomicU64,
    pub total_bytes: AtomicU64,
    pub totals_known: AtomicBool,
    pub errors: AtomicU64,
}

impl Progress {
    pub fn add(&self, files: u64, bytes: u64) {
        self.files.fetch_add(files, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_totals(&self, files: u64, bytes: u64) {
        self.total_files.store(files, Ordering::Relaxed);
        self.total_bytes.store(bytes, Ordering::Relaxed);
        self.totals_known.store(true, Ordering::Release);
    }

    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.files.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}
