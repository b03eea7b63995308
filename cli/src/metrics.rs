//! The status as Prometheus metrics, in the text exposition format (the `prometheus` crate's
//! encoder): `vcd status --prometheus FILE` writes them for node_exporter's textfile
//! collector, `vcd daemon` serves them on `/metrics`. Names follow Prometheus's conventions:
//! base units (seconds, bytes), `_timestamp_seconds` for times, one label per job (`vcd_job`:
//! Prometheus sets `job` itself, to the scrape job) or scenario.

use anyhow::Result;
use engine::format::snapshot::SnapshotRef;
use engine::ops::status::{Level, Status};
use prometheus::{Gauge, GaugeVec, Opts, Registry, TextEncoder};

fn level_value(l: Level) -> f64 {
    match l {
        Level::Ok => 0.0,
        Level::Warning => 1.0,
        Level::Breach => 2.0,
    }
}

struct Builder {
    registry: Registry,
}

impl Builder {
    fn gauge(&self, name: &str, help: &str, v: f64) -> Result<()> {
        let g = Gauge::with_opts(Opts::new(name, help))?;
        g.set(v);
        self.registry.register(Box::new(g))?;
        Ok(())
    }

    fn by(&self, name: &str, help: &str, label: &str, values: &[(String, f64)]) -> Result<()> {
        let g = GaugeVec::new(Opts::new(name, help), &[label])?;
        for (k, v) in values {
            g.with_label_values(&[k.as_str()]).set(*v);
        }
        self.registry.register(Box::new(g))?;
        Ok(())
    }
}

/// The metrics of `s` (and of each job's newest snapshot among `snaps`, and the signs of
/// storage rolled back in `storage`) as exposition text.
pub fn render(s: &Status, snaps: &[SnapshotRef], storage: &[String]) -> Result<String> {
    let b = Builder {
        registry: Registry::new(),
    };
    let jobs = |f: &dyn Fn(&engine::ops::status::JobStatus) -> Option<f64>| {
        s.jobs
            .iter()
            .filter_map(|j| f(j).map(|v| (j.job.clone(), v)))
            .collect::<Vec<_>>()
    };
    b.by(
        "vcd_job_last_success_timestamp_seconds",
        "Time of the job's newest snapshot.",
        "vcd_job",
        &jobs(&|j| j.last_success.map(|t| t.timestamp() as f64)),
    )?;
    b.by(
        "vcd_job_age_seconds",
        "Age of the job's newest snapshot.",
        "vcd_job",
        &jobs(&|j| j.age_secs.map(|a| a as f64)),
    )?;
    b.by(
        "vcd_rpo_seconds",
        "The job's recovery point objective.",
        "vcd_job",
        &jobs(&|j| j.rpo_secs.map(|r| r as f64)),
    )?;
    b.by(
        "vcd_job_status",
        "The job's state: 0 ok, 1 warning (past 80% of its RPO, or incomplete), 2 breach.",
        "vcd_job",
        &jobs(&|j| Some(level_value(j.level))),
    )?;
    b.by(
        "vcd_job_failing",
        "1 when the job's last run failed after its last success.",
        "vcd_job",
        &jobs(&|j| Some(f64::from(u8::from(j.failing)))),
    )?;
    b.by(
        "vcd_job_last_failure_timestamp_seconds",
        "Time of the job's newest failed run.",
        "vcd_job",
        &jobs(&|j| j.last_failure.as_ref().map(|f| f.time.timestamp() as f64)),
    )?;
    b.by(
        "vcd_job_next_run_timestamp_seconds",
        "Time of the job's next scheduled run.",
        "vcd_job",
        &jobs(&|j| j.next_run.map(|t| t.timestamp() as f64)),
    )?;
    let newest = |j: &engine::ops::status::JobStatus| {
        let id = j.last_snapshot.as_ref()?;
        snaps.iter().find(|x| &x.id.to_hex() == id)
    };
    b.by(
        "vcd_backup_duration_seconds",
        "Duration of the job's newest backup.",
        "vcd_job",
        &jobs(&|j| newest(j).map(|x| x.snap.summary.duration_secs)),
    )?;
    b.by(
        "vcd_backup_added_bytes",
        "New data the job's newest backup stored (before compression).",
        "vcd_job",
        &jobs(&|j| newest(j).map(|x| x.snap.summary.bytes_added as f64)),
    )?;
    b.by(
        "vcd_backup_size_bytes",
        "Bytes of the files the job's newest backup holds.",
        "vcd_job",
        &jobs(&|j| newest(j).map(|x| x.snap.summary.bytes_total as f64)),
    )?;
    let scenarios = |f: &dyn Fn(&engine::ops::status::ScenarioStatus) -> Option<f64>| {
        s.scenarios
            .iter()
            .filter_map(|x| f(x).map(|v| (x.scenario.clone(), v)))
            .collect::<Vec<_>>()
    };
    b.by(
        "vcd_rto_seconds",
        "The scenario's recovery time objective.",
        "scenario",
        &scenarios(&|x| Some(x.rto_secs as f64)),
    )?;
    b.by(
        "vcd_restore_duration_seconds",
        "Duration of the scenario's newest restore, or its newest drill's estimate of one.",
        "scenario",
        &scenarios(&|x| x.last.as_ref().and_then(|r| r.duration_secs)),
    )?;
    b.by(
        "vcd_restore_last_timestamp_seconds",
        "Time of the scenario's newest restore or drill.",
        "scenario",
        &scenarios(&|x| x.last.as_ref().map(|r| r.time.timestamp() as f64)),
    )?;
    b.by(
        "vcd_scenario_status",
        "The scenario's state: 0 ok, 1 warning (its newest restore or drill missed the RTO).",
        "scenario",
        &scenarios(&|x| Some(level_value(x.level))),
    )?;
    let r = &s.repository;
    b.gauge(
        "vcd_repository_size_bytes",
        "Bytes of the repository's pack files.",
        r.bytes as f64,
    )?;
    b.gauge(
        "vcd_repository_packs",
        "Pack files in the repository.",
        r.packs as f64,
    )?;
    b.gauge(
        "vcd_snapshots",
        "Snapshots in the repository.",
        r.snapshots as f64,
    )?;
    b.gauge(
        "vcd_repository_added_7d_bytes",
        "New data backups stored in the last 7 days (before compression).",
        r.added_7d as f64,
    )?;
    b.gauge(
        "vcd_repository_added_30d_bytes",
        "New data backups stored in the last 30 days (before compression).",
        r.added_30d as f64,
    )?;
    if let Some(c) = &s.last_check {
        b.gauge(
            "vcd_check_last_timestamp_seconds",
            "Time of the newest check.",
            c.time.timestamp() as f64,
        )?;
        b.gauge(
            "vcd_check_ok",
            "1 when the newest check found no error.",
            f64::from(u8::from(c.outcome == engine::format::audit::Outcome::Ok)),
        )?;
    }
    b.gauge(
        "vcd_storage_rolled_back",
        "Signs of storage rolled back: snapshots gone without a forget, audit entries gone.",
        storage.len() as f64,
    )?;
    let level = if storage.is_empty() {
        s.level
    } else {
        Level::Breach
    };
    b.gauge(
        "vcd_status",
        "The whole: 0 ok, 1 warning, 2 breach.",
        level_value(level),
    )?;
    b.gauge(
        "vcd_status_timestamp_seconds",
        "When these figures were read from the repository.",
        s.time.timestamp() as f64,
    )?;
    Ok(TextEncoder::new().encode_to_string(&b.registry.gather())?)
}

/// Writes `text` to `path` whole or not at all (the textfile collector may read at any time).
pub fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".vcd-metrics")
        .tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.as_file().sync_all()?;
    // Readable by the collector, which rarely runs as root.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
