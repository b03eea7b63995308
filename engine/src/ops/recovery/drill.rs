//! Restore drills: a scenario's data (or a random sample of its files) restored into a scratch
//! directory, compared with its snapshots, removed, and recorded with an estimate of the whole
//! restore's duration against the scenario's RTO. A drill proves that the backups restore, and
//! how long the day they are needed would take, without touching anything live.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;

use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::format::restoration::{Drill, DrillPart, Objectives, Outcome, What};
use crate::format::tree::NodeKind;
use crate::id::Id;
use crate::ops::progress::Progress;
use crate::ops::recovery::compare;
use crate::ops::restore::{self, RestoreOptions};
use crate::policy::config;
use crate::policy::filter::build_excludes;
use crate::repo::Repo;

pub use crate::policy::scope::Part;

/// How much of the scope a drill restores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sample {
    All,
    /// Files drawn at random until they hold this share of the scope's bytes.
    Percent(f64),
    /// Files drawn at random until they hold this many bytes.
    Bytes(u64),
}

impl Sample {
    /// `all`, a percentage (`10%`) or a size (`500M`).
    pub fn parse(s: &str) -> Result<Sample> {
        let t = s.trim();
        let bad = |e: String| {
            Error::Invalid(format!(
                "sample {e}: all, a percentage (10%) or a size (500M)"
            ))
        };
        let sample = if t.eq_ignore_ascii_case("all") {
            Sample::All
        } else if t.ends_with('%') {
            Sample::Percent(config::percent(t).map_err(bad)?)
        } else {
            Sample::Bytes(config::size(t).map_err(bad)?)
        };
        match sample {
            Sample::Percent(p) if p <= 0.0 => Err(bad(format!("{t:?} restores nothing"))),
            Sample::Bytes(0) => Err(bad(format!("{t:?} restores nothing"))),
            s => Ok(s),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Sample::All => "all".into(),
            Sample::Percent(p) => format!("{p}%"),
            Sample::Bytes(b) => format!("{b}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DrillRequest {
    pub objectives: Objectives,
    pub categories: Vec<String>,
    pub parts: Vec<Part>,
    pub sample: Sample,
    /// The directory the scratch directory is made in (it must exist).
    pub parent: PathBuf,
    /// Leave owners as the drilling user's (and do not compare them).
    pub no_owner: bool,
    pub cancel: CancelToken,
}

#[derive(Debug)]
pub struct DrillReport {
    pub restoration: Id,
    pub drill: Drill,
}

impl DrillReport {
    /// The sample came back identical, nothing failed, and the estimate meets the RTO.
    pub fn ok(&self) -> bool {
        let d = &self.drill;
        d.outcome == Outcome::Ok
            && d.estimate_secs
                .is_some_and(|e| e <= d.objectives.rto_secs as f64)
    }
}

/// A regular file of the scope, as the sample draws from.
struct Candidate {
    part: usize,
    path: String,
    size: u64,
}

/// Runs the drill `req` asks for and records it (also when it fails; an interrupted drill
/// is recorded as such and returns `Error::Interrupted`). The scratch directory,
/// `<parent>/vcd-drill-<RID>`, is new and is removed at the end whatever happened.
pub fn drill(repo: &Repo, req: &DrillRequest, progress: &Progress) -> Result<DrillReport> {
    let rid = Id::random();
    restore::check_target(&req.parent)?;
    if !req.parent.is_dir() {
        return Err(Error::NotFound(format!(
            "drill directory {} (the scratch directory is made in it)",
            req.parent.display()
        )));
    }
    let parent = std::fs::canonicalize(&req.parent).map_err(|e| Error::io(&req.parent, e))?;
    safe_parent(&parent)?;
    let scratch = parent.join(format!("vcd-drill-{}", rid.short()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&scratch)
        .map_err(|e| Error::io(&scratch, e))?;
    let mut d = Drill {
        objectives: req.objectives.clone(),
        categories: req.categories.clone(),
        parts: req
            .parts
            .iter()
            .map(|p| DrillPart {
                snapshot: p.snapshot.id,
                snapshot_time: p.snapshot.snap.time,
                categories: p.categories.clone(),
                includes: p.includes.clone(),
            })
            .collect(),
        scratch: scratch.to_string_lossy().into_owned(),
        sample: req.sample.text(),
        total_files: 0,
        total_bytes: 0,
        sample_files: 0,
        sample_bytes: 0,
        restore_secs: 0.0,
        verify_secs: 0.0,
        estimate_secs: None,
        outcome: Outcome::Ok,
        verified: false,
        differences: Vec::new(),
        differences_total: 0,
        errors: Vec::new(),
        errors_total: 0,
        removed: false,
    };
    let run = run(repo, req, &scratch, &mut d, progress);
    match remove_scratch(&scratch) {
        Ok(()) => d.removed = true,
        Err(e) => d.errors.push(format!(
            "the scratch directory {} could not be removed: {e}",
            scratch.display()
        )),
    }
    if let Err(e) = &run {
        d.errors.insert(0, e.to_string());
    }
    d.errors_total = d.errors.len() as u64;
    d.errors.truncate(100);
    d.outcome = match &run {
        Err(Error::Interrupted) => Outcome::Interrupted,
        Err(_) => Outcome::Failed,
        Ok(()) if d.errors.is_empty() && d.verified => Outcome::Ok,
        Ok(()) => Outcome::Errors,
    };
    let recorded = super::records::record(repo, rid, What::Drilled(d.clone()));
    run?;
    recorded?;
    Ok(DrillReport {
        restoration: rid,
        drill: d,
    })
}

/// The drill's measured part: the scope surveyed, the sample drawn, restored, compared.
fn run(
    repo: &Repo,
    req: &DrillRequest,
    scratch: &Path,
    d: &mut Drill,
    progress: &Progress,
) -> Result<()> {
    let mut files = Vec::new();
    for (i, p) in req.parts.iter().enumerate() {
        survey(repo, i, p, &req.cancel, &mut files, d)?;
    }
    let scopes = choose_sample(req, &mut files, d);
    room_for(scratch, d.sample_bytes)?;
    progress.set_totals(d.sample_files, d.sample_bytes);
    // What the restores wrote, not what was drawn: the figures the estimate scales.
    d.sample_files = 0;
    d.sample_bytes = 0;
    let start = std::time::Instant::now();
    for (p, includes) in req.parts.iter().zip(&scopes) {
        let Some(includes) = includes else { continue };
        let opts = RestoreOptions {
            target: scratch.to_path_buf(),
            includes: includes.clone(),
            no_owner: req.no_owner,
            cancel: req.cancel.clone(),
            ..Default::default()
        };
        let r = restore::restore(repo, &p.snapshot, &opts, progress)?;
        d.sample_files += r.files;
        d.sample_bytes += r.bytes;
        d.errors.extend(r.errors);
    }
    d.restore_secs = start.elapsed().as_secs_f64();
    if d.total_files > 0 && d.sample_files == 0 {
        d.errors.push(
            "no file of the scope could be restored for the sample (names that are not UTF-8 \
             cannot be drawn): restore all of it with --sample all"
                .into(),
        );
    }
    // Scaled by whichever of bytes and files the sample holds the smaller share of (the
    // sample is drawn to hold about the same share of both): the restore's cost per file and
    // per byte are not told apart by one measurement, and the larger estimate is the one to
    // plan for. Nothing restored of a scope that has something: no estimate.
    let ratio = |total: u64, sample: u64| match (total, sample) {
        (0, _) => Some(1.0),
        (_, 0) => None,
        (t, s) => Some(t as f64 / s as f64),
    };
    d.estimate_secs = ratio(d.total_bytes, d.sample_bytes)
        .zip(ratio(d.total_files, d.sample_files))
        .map(|(b, f)| d.restore_secs * b.max(f));
    let start = std::time::Instant::now();
    let root = nix::unistd::geteuid().is_root();
    for (p, includes) in req.parts.iter().zip(&scopes) {
        let Some(includes) = includes else { continue };
        let c = compare::compare(
            repo,
            &p.snapshot,
            scratch,
            &compare::CompareOptions {
                includes: includes.clone(),
                excludes: Vec::new(),
                owners: root && !req.no_owner,
                cancel: req.cancel.clone(),
            },
        )?;
        d.differences_total += c.differences.len() as u64;
        d.differences.extend(c.differences);
    }
    d.differences.truncate(100);
    d.verify_secs = start.elapsed().as_secs_f64();
    d.verified = d.differences_total == 0;
    Ok(())
}

/// Counts the scope of part `i` (regular files; a file of several names once) and lists its
/// files as sample candidates. A name that is not UTF-8 cannot be named by an include, so it
/// is counted but never drawn.
fn survey(
    repo: &Repo,
    i: usize,
    p: &Part,
    cancel: &CancelToken,
    out: &mut Vec<Candidate>,
    d: &mut Drill,
) -> Result<()> {
    let includes = if p.includes.is_empty() {
        None
    } else {
        Some(build_excludes(&p.includes)?)
    };
    let mut seen = std::collections::HashSet::new();
    // The directory the scope takes whole that the walk is in, as `path/`.
    let mut taken: Option<String> = None;
    let tree = repo.load_tree(&p.snapshot.snap.tree)?;
    crate::ops::ls::walk::<Error>(repo, tree, "", |e| {
        cancel.check()?;
        let inherited = taken
            .as_ref()
            .is_some_and(|t| e.path.starts_with(t.as_str()));
        if !inherited {
            taken = None;
        }
        let in_scope = inherited || includes.as_ref().is_none_or(|g| g.is_match(&e.path));
        if !in_scope {
            return Ok(());
        }
        match e.node.kind {
            NodeKind::Dir if !inherited => taken = Some(format!("{}/", e.path)),
            NodeKind::File => {
                let first = e.node.links <= 1 || seen.insert((e.node.device, e.node.inode));
                if first {
                    d.total_files += 1;
                    d.total_bytes += e.node.size;
                }
                if first && !e.path.contains(char::REPLACEMENT_CHARACTER) {
                    out.push(Candidate {
                        part: i,
                        path: e.path.clone(),
                        size: e.node.size,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    })
}

/// Draws the sample: per part, the includes its restore takes (None: nothing of that part).
fn choose_sample(
    req: &DrillRequest,
    files: &mut [Candidate],
    d: &mut Drill,
) -> Vec<Option<Vec<String>>> {
    let share = match req.sample {
        Sample::All => {
            d.sample_files = d.total_files;
            d.sample_bytes = d.total_bytes;
            return req.parts.iter().map(|p| Some(p.includes.clone())).collect();
        }
        Sample::Percent(p) => p / 100.0,
        Sample::Bytes(b) => (b as f64 / d.total_bytes.max(1) as f64).min(1.0),
    };
    // At least that share of the bytes and of the files: one large file alone would make
    // the files' share tiny, and the estimate scale a single file's time by the file count.
    let bytes = (d.total_bytes as f64 * share).ceil() as u64;
    let count = ((d.total_files as f64 * share).ceil() as u64).max(1);
    files.shuffle(&mut rand::thread_rng());
    let mut scopes: Vec<Option<Vec<String>>> = vec![None; req.parts.len()];
    for f in files.iter() {
        if d.sample_bytes >= bytes && d.sample_files >= count {
            break;
        }
        d.sample_files += 1;
        d.sample_bytes += f.size;
        scopes[f.part]
            .get_or_insert_with(Vec::new)
            .push(glob_literal(&f.path));
    }
    scopes
}

/// Refuses a directory others may rename entries in (group or world writable without the
/// sticky bit): the scratch directory made there could be swapped for a link under the
/// restore, which runs as root.
fn safe_parent(parent: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(parent).map_err(|e| Error::io(parent, e))?;
    if m.mode() & 0o022 != 0 && m.mode() & 0o1000 == 0 {
        return Err(Error::Invalid(format!(
            "drill directory {} is writable by others and not sticky: choose another --target",
            parent.display()
        )));
    }
    Ok(())
}

/// Refuses a sample the scratch directory's filesystem has no room for (with a margin for
/// directories and metadata), before anything is written.
fn room_for(scratch: &Path, bytes: u64) -> Result<()> {
    let Ok(fs) = nix::sys::statvfs::statvfs(scratch) else {
        return Ok(());
    };
    let free = fs.blocks_available().saturating_mul(fs.fragment_size());
    let need = bytes + bytes / 20 + (1 << 20);
    if free < need {
        return Err(Error::Invalid(format!(
            "the drill restores {bytes} bytes and {} has {free} free: choose another --target \
             (default /var/tmp) or a smaller --sample",
            scratch.parent().unwrap_or(scratch).display()
        )));
    }
    Ok(())
}

/// Where a drill's scratch directory goes by default: `/var/tmp` (on disk, where the system's
/// temporary directory is often memory), else the system's temporary directory.
pub fn default_parent() -> PathBuf {
    let var = PathBuf::from("/var/tmp");
    if var.is_dir() {
        var
    } else {
        std::env::temp_dir()
    }
}

/// `path` as a glob that matches it alone.
fn glob_literal(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '\\' | '*' | '?' | '[' | ']' | '{' | '}') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Removes the scratch directory. What a restore made unwritable (a directory of mode 0555,
/// say) is made writable first when a plain removal is refused.
fn remove_scratch(scratch: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(scratch) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    open_up(scratch);
    std::fs::remove_dir_all(scratch)
}

/// Gives the owner rwx on every directory below `dir` (never following a link; a loop, not
/// recursion: a snapshot's tree may be deeper than a thread's stack).
fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700));
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_parse_and_refuse_nothing() {
        assert_eq!(Sample::parse("all").unwrap(), Sample::All);
        assert_eq!(Sample::parse("10%").unwrap(), Sample::Percent(10.0));
        assert_eq!(Sample::parse("500M").unwrap(), Sample::Bytes(500 << 20));
        assert_eq!(Sample::parse("1.5G").unwrap(), Sample::Bytes(3 << 29));
        for bad in ["0%", "0", "150%", "5X", "ten", ""] {
            assert!(Sample::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_literal_glob_matches_its_path_alone() {
        let p = "/d/a*[b]{c}?\\x";
        let g = build_excludes(&[glob_literal(p)]).unwrap();
        assert!(g.is_match(p));
        assert!(!g.is_match("/d/a-[b]{c}?\\x"));
        assert!(!g.is_match("/d/aXb"));
    }
}
