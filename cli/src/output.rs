//! Progress display: a bar on a terminal (files, bytes, rate, ETA), a plain line every few
//! seconds otherwise, nothing with --quiet. It only reads the engine's atomic counters.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::ops::progress::Progress;

use crate::common::human_bytes;

pub struct Display {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Display {
    pub fn start(what: &'static str, p: Arc<Progress>, quiet: bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        if quiet {
            return Display { stop, thread: None };
        }
        let s = Arc::clone(&stop);
        let tty = std::io::stderr().is_terminal();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let bar = tty.then(|| {
                let b = indicatif::ProgressBar::new(0);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{prefix} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
                    )
                    .unwrap(),
                );
                b.set_prefix(what);
                b
            });
            let mut last_line = Instant::now();
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let (files, bytes, errors) = p.snapshot();
                let known = p.totals_known.load(Ordering::Acquire);
                let (tf, tb) = (
                    p.total_files.load(Ordering::Relaxed),
                    p.total_bytes.load(Ordering::Relaxed),
                );
                if let Some(b) = &bar {
                    if known {
                        b.set_length(tb.max(bytes));
                    }
                    b.set_position(bytes);
                    let files = if known {
                        format!("{files}/{tf} files")
                    } else {
                        format!("{files} files")
                    };
                    let errs = if errors > 0 {
                        format!(", {errors} errors")
                    } else {
                        String::new()
                    };
                    b.set_message(format!("{files}{errs}"));
                } else if last_line.elapsed() >= Duration::from_secs(10) {
                    last_line = Instant::now();
                    let secs = start.elapsed().as_secs_f64().max(0.001);
                    eprintln!(
                        "{what}: {files} files, {} ({}/s){}",
                        human_bytes(bytes),
                        human_bytes((bytes as f64 / secs) as u64),
                        if errors > 0 {
                            format!(", {errors} errors")
                        } else {
                            String::new()
                        }
                    );
                }
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        });
        Display {
            stop,
            thread: Some(thread),
        }
    }

    pub fn finish(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.stop_now();
    }
}
