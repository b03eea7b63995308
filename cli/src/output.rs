//! What the CLI shows besides plain lines: the progress display (a bar on a terminal, plain
//! lines every few seconds otherwise, nothing with --quiet; it only reads the engine's atomic
//! counters), tables sized to their content, the one time format of every JSON output, and the
//! escaping of control characters in every name shown as text (`esc`).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::ops::progress::Progress;

use crate::common::human_bytes;

/// Text that comes from a repository or a filesystem (file names, link targets, user, group
/// and host names, tags, and messages that quote them) as it may be written to a terminal:
/// every control character (U+0000 to U+001F, U+007F to U+009F: escape sequences, carriage
/// return, newline, backspace, bell) becomes `\x` and two hex digits, so no name can recolour
/// or rewrite the screen or forge a line of output. Everything else is written as is, as GNU
/// `ls -b` would for a printable name. Applied whether or not the output is a terminal: a log
/// file is read on one later. JSON output is not escaped here: JSON's own escapes keep names
/// exact there.
pub fn esc(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The log's field formatter: messages (and any other field) escaped as `esc` does, since the
/// engine's warnings quote file names (tracing-subscriber escapes ESC but not newlines or
/// carriage returns).
pub fn log_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let v = format!("{value:?}");
        if field.name() == "message" {
            write!(w, "{}", esc(&v))
        } else {
            write!(w, "{field}={}", esc(&v))
        }
    })
    .delimited(" ")
}

/// Log lines for journald: `<N>` (the syslog priority of the level), then the message.
pub struct Journald;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Journald
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let p = match *event.metadata().level() {
            tracing::Level::ERROR => 3,
            tracing::Level::WARN => 4,
            tracing::Level::INFO => 6,
            _ => 7,
        };
        write!(w, "<{p}>")?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Times in JSON: RFC 3339 in UTC, whole seconds, `Z` (`2026-11-28T16:20:00Z`).
pub fn json_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Rewrites `v[field]` (a time serialised by serde) in `json_time`'s format.
pub fn set_json_time(v: &mut serde_json::Value, field: &str, t: &chrono::DateTime<chrono::Utc>) {
    v[field] = json_time(t).into();
}

/// Lines of a table whose columns are as wide as their widest cell (header included), two
/// spaces apart. `right[i]` right-aligns column i; the last column is never padded.
pub fn table(header: &[&str], right: &[bool], rows: &[Vec<String>]) -> Vec<String> {
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = " ".repeat(width[i].saturating_sub(c.chars().count()));
            match (right.get(i).copied().unwrap_or(false), i == last) {
                (true, _) => s.extend([pad.as_str(), c]),
                (false, false) => s.extend([c, pad.as_str()]),
                (false, true) => s.push_str(c),
            }
        }
        s
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out
}

/// What a progress display counts besides bytes ("files", "packs").
#[derive(Clone, Copy)]
pub struct Unit(pub &'static str);

/// Counters read at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub items: u64,
    pub bytes: u64,
    pub errors: u64,
    /// (items, bytes) to expect, once known.
    pub totals: Option<(u64, u64)>,
}

impl Counts {
    fn read(p: &Progress) -> Self {
        let (items, bytes, errors) = p.snapshot();
        let totals = p.totals_known.load(Ordering::Acquire).then(|| {
            (
                p.total_files.load(Ordering::Relaxed),
                p.total_bytes.load(Ordering::Relaxed),
            )
        });
        Counts {
            items,
            bytes,
            errors,
            totals,
        }
    }
}

/// The progress line printed when stderr is not a terminal, e.g.
/// `restore: 3/10 files, 1.00 MiB/4.00 MiB (25%), 512.00 KiB/s`.
pub fn plain_line(what: &str, unit: Unit, c: &Counts, secs: f64) -> String {
    let rate = human_bytes((c.bytes as f64 / secs.max(0.001)) as u64);
    let errs = if c.errors > 0 {
        format!(", {} errors", c.errors)
    } else {
        String::new()
    };
    let unit = unit.0;
    match c.totals {
        Some((tf, tb)) => {
            // A total can be passed (a file grew during the backup): never show over 100%.
            // Nothing to do (an empty snapshot) is all done.
            let pct = (c.bytes.min(tb) * 100).checked_div(tb).unwrap_or(100);
            format!(
                "{what}: {}/{tf} {unit}, {}/{} ({pct}%), {rate}/s{errs}",
                c.items,
                human_bytes(c.bytes),
                human_bytes(tb.max(c.bytes))
            )
        }
        None => format!(
            "{what}: {} {unit}, {}, {rate}/s{errs}",
            c.items,
            human_bytes(c.bytes)
        ),
    }
}

/// How often plain progress lines are printed: 10 s, or `VCD_PROGRESS_INTERVAL_MS` (for tests).
fn plain_interval() -> Duration {
    std::env::var("VCD_PROGRESS_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(10))
}

pub struct Display {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn bar_style(with_total: bool) -> indicatif::ProgressStyle {
    let t = if with_total {
        "{prefix} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}"
    } else {
        "{prefix} [{elapsed_precise}] {bytes} {bytes_per_sec} {msg}"
    };
    indicatif::ProgressStyle::with_template(t).expect("progress templates are valid")
}

impl Display {
    pub fn start(what: &'static str, unit: Unit, p: Arc<Progress>, quiet: bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        if quiet {
            return Display { stop, thread: None };
        }
        let s = Arc::clone(&stop);
        let tty = std::io::stderr().is_terminal();
        let interval = plain_interval();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let bar = tty.then(|| {
                let b = indicatif::ProgressBar::new(0);
                b.set_style(bar_style(false));
                b.set_prefix(what);
                b
            });
            let mut styled_total = false;
            let mut last_line = Instant::now();
            let tick = interval.clamp(Duration::from_millis(10), Duration::from_millis(200));
            loop {
                let stopping = s.load(Ordering::Relaxed);
                let c = Counts::read(&p);
                if let Some(b) = &bar {
                    if let Some((_, tb)) = c.totals {
                        if !styled_total {
                            b.set_style(bar_style(true));
                            styled_total = true;
                        }
                        b.set_length(tb.max(c.bytes));
                    }
                    b.set_position(c.bytes);
                    let items = match c.totals {
                        Some((tf, _)) => format!("{}/{tf} {}", c.items, unit.0),
                        None => format!("{} {}", c.items, unit.0),
                    };
                    let errs = if c.errors > 0 {
                        format!(", {} errors", c.errors)
                    } else {
                        String::new()
                    };
                    b.set_message(format!("{items}{errs}"));
                } else if last_line.elapsed() >= interval
                    || (stopping && start.elapsed() >= interval)
                {
                    // The last line (when any were due) shows where the run ended.
                    last_line = Instant::now();
                    let secs = start.elapsed().as_secs_f64();
                    eprintln!("{}", plain_line(what, unit, &c, secs));
                }
                if stopping {
                    break;
                }
                std::thread::sleep(tick);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_line_shows_totals_and_percentage_when_known() {
        let mut c = Counts {
            items: 3,
            bytes: 1 << 20,
            errors: 0,
            totals: Some((10, 4 << 20)),
        };
        assert_eq!(
            plain_line("restore", Unit("files"), &c, 2.0),
            "restore: 3/10 files, 1.00 MiB/4.00 MiB (25%), 512.00 KiB/s"
        );
        c.totals = None;
        c.errors = 2;
        assert_eq!(
            plain_line("backup", Unit("files"), &c, 1.0),
            "backup: 3 files, 1.00 MiB, 1.00 MiB/s, 2 errors"
        );
        // A file that grew past the scan's total: capped at 100%.
        c.totals = Some((1, 1000));
        c.errors = 0;
        assert!(plain_line("check", Unit("packs"), &c, 1.0).contains("/1.00 MiB (100%)"));
    }

    #[test]
    fn table_columns_fit_their_widest_cell() {
        let rows = vec![
            vec!["a".into(), "1 B".into(), "x".into()],
            vec!["a-very-long-tag".into(), "10.00 MiB".into(), "y".into()],
        ];
        let t = table(&["tags", "size", "paths"], &[false, true, false], &rows);
        assert_eq!(
            t,
            [
                "tags                  size  paths",
                "a                      1 B  x",
                "a-very-long-tag  10.00 MiB  y",
            ]
        );
    }

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        assert_eq!(esc("plain/name ü 名"), "plain/name ü 名");
        assert!(matches!(esc("plain"), Cow::Borrowed(_)));
        assert_eq!(
            esc("\u{1b}[31mred\nline\r\t\u{7f}\u{9b}2J\0"),
            "\\x1b[31mred\\x0aline\\x0d\\x09\\x7f\\x9b2J\\x00"
        );
        // Backslashes stay: `\x1b` in a name is shown as typed.
        assert_eq!(esc("a\\x1b"), "a\\x1b");
    }

    /// Defect: the engine's warnings quote file names and went to stderr as they were;
    /// tracing-subscriber escapes ESC but not a newline or a carriage return, so a name could
    /// still forge or overwrite lines.
    #[test]
    fn log_messages_are_escaped() {
        use std::sync::Mutex;
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let w = buf.clone();
        let sub = tracing_subscriber::fmt()
            .fmt_fields(log_fields())
            .with_writer(move || w.clone())
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .finish();
        tracing::subscriber::with_default(sub, || {
            tracing::warn!("cannot read {}", "a\u{1b}[31m\nb\r");
            tracing::warn!(path = "x\ny", "with a field");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out:?}");
        assert!(
            lines[0].ends_with("cannot read a\\x1b[31m\\x0ab\\x0d"),
            "{out:?}"
        );
        assert!(lines[1].ends_with("with a field path=\"x\\ny\""), "{out:?}");
    }

    #[test]
    fn json_time_is_utc_seconds_with_z() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-28T17:20:00.123456789+01:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(json_time(&t), "2026-11-28T16:20:00Z");
    }
}
