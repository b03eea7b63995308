//! Killing a command at an observed step instead of after a guessed delay. inotify on the
//! repository's directories reports each file a command creates, renames into place or
//! deletes; at the chosen event the command is stopped (SIGSTOP, waited for), the repository's
//! files are read while nothing can change them (that is where the kill lands), and the
//! command is killed (SIGKILL).

use std::collections::BTreeSet;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// The repository directories watched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Root,
    Locks,
    Data,
    Index,
    Snapshots,
    Keys,
    /// Deletion plans (created here if missing: the repository makes it with its first plan).
    Pending,
    /// Restoration records (created here if missing).
    Restores,
    /// The `data/XX/` directories that hold the packs (those that exist when watching starts).
    Packs,
}

const DIRS: [(Dir, &str); 8] = [
    (Dir::Root, ""),
    (Dir::Locks, "locks"),
    (Dir::Data, "data"),
    (Dir::Index, "index"),
    (Dir::Snapshots, "snapshots"),
    (Dir::Keys, "keys"),
    (Dir::Pending, "pending"),
    (Dir::Restores, "restores"),
];

#[derive(Debug)]
pub struct Event {
    pub dir: Dir,
    pub mask: AddWatchFlags,
    pub name: String,
}

impl Event {
    fn temp(&self) -> bool {
        self.name.starts_with('.')
    }

    /// A file renamed into place in `d` (every file but a pack is written as a temp file in
    /// its own directory and renamed).
    pub fn placed(&self, d: Dir) -> bool {
        self.dir == d && self.mask.contains(AddWatchFlags::IN_MOVED_TO) && !self.temp()
    }

    /// A pack renamed from its temp file in `data/` into `data/<xx>/`.
    pub fn pack_placed(&self) -> bool {
        self.dir == Dir::Data && self.mask.contains(AddWatchFlags::IN_MOVED_FROM) && self.temp()
    }

    /// A file deleted from `d`.
    pub fn removed(&self, d: Dir) -> bool {
        self.dir == d && self.mask.contains(AddWatchFlags::IN_DELETE) && !self.temp()
    }

    /// A temp file created in `d` (a write about to happen).
    pub fn temp_created(&self, d: Dir) -> bool {
        self.dir == d && self.mask.contains(AddWatchFlags::IN_CREATE) && self.temp()
    }
}

struct Watch {
    ino: Inotify,
    wds: Vec<(WatchDescriptor, Dir)>,
}

impl Watch {
    fn new(repo: &Path) -> Watch {
        let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).unwrap();
        let mask = AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_DELETE;
        let mut wds: Vec<(WatchDescriptor, Dir)> = DIRS
            .iter()
            .map(|&(d, rel)| {
                let p = repo.join(rel);
                std::fs::create_dir_all(&p).unwrap();
                (ino.add_watch(&p, mask).unwrap(), d)
            })
            .collect();
        for e in std::fs::read_dir(repo.join("data")).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                wds.push((ino.add_watch(&e.path(), mask).unwrap(), Dir::Packs));
            }
        }
        Watch { ino, wds }
    }

    /// Events so far (none after `wait` without one).
    fn events(&self, wait: Duration) -> Vec<Event> {
        let mut fds = [PollFd::new(self.ino.as_fd(), PollFlags::POLLIN)];
        let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        poll(&mut fds, ms).unwrap();
        match self.ino.read_events() {
            Ok(evs) => evs
                .into_iter()
                .filter_map(|ev| {
                    let dir = self.wds.iter().find(|(w, _)| *w == ev.wd)?.1;
                    Some(Event {
                        dir,
                        mask: ev.mask,
                        name: ev.name?.to_string_lossy().into_owned(),
                    })
                })
                .collect(),
            Err(nix::errno::Errno::EAGAIN) => Vec::new(),
            Err(e) => panic!("reading inotify events: {e}"),
        }
    }
}

/// The repository's files (temp files, whose names begin with `.`, counted apart) and the
/// config's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub locks: BTreeSet<String>,
    pub packs: BTreeSet<String>,
    pub index: BTreeSet<String>,
    pub snapshots: BTreeSet<String>,
    pub keys: BTreeSet<String>,
    pub plans: BTreeSet<String>,
    pub config: Vec<u8>,
    pub temps: usize,
}

pub fn state(repo: &Path) -> State {
    let mut temps = 0;
    let mut names = |dir: PathBuf| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return out;
        };
        for e in rd {
            let e = e.unwrap();
            let n = e.file_name().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_dir() {
                continue;
            }
            if n.starts_with('.') {
                temps += 1;
            } else {
                out.insert(n);
            }
        }
        out
    };
    let mut packs = names(repo.join("data"));
    assert!(packs.is_empty(), "packs directly in data/: {packs:?}");
    for d in std::fs::read_dir(repo.join("data")).unwrap() {
        let d = d.unwrap();
        if d.file_type().unwrap().is_dir() {
            packs.extend(names(d.path()));
        }
    }
    let (locks, index) = (names(repo.join("locks")), names(repo.join("index")));
    let (snapshots, keys) = (names(repo.join("snapshots")), names(repo.join("keys")));
    let plans = names(repo.join("pending"));
    names(repo.to_path_buf()); // the config's temp files
    State {
        locks,
        packs,
        index,
        snapshots,
        keys,
        plans,
        config: std::fs::read(repo.join("config")).unwrap(),
        temps,
    }
}

/// Where a stopped command was.
#[derive(Debug)]
pub struct Stop {
    /// The repository while the command was stopped (or once it had ended).
    pub state: State,
    /// The command exited before it could be stopped: it was not killed.
    pub ended: bool,
}

/// Runs `cmd` until the first event `at` accepts; panics if it ends before.
fn run_until(repo: &Path, cmd: &mut Command, what: &str, at: impl Fn(&Event) -> bool) -> Child {
    let w = Watch::new(repo);
    let mut child = cmd.spawn().expect("spawning vcd");
    let start = Instant::now();
    loop {
        for ev in w.events(Duration::from_millis(20)) {
            if at(&ev) {
                return child;
            }
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("{what}: the command ended ({st}) before the step it was to be stopped at");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: the step never came"
        );
    }
}

/// A command stopped (SIGSTOP) at an observed step, still alive; its output is piped.
pub struct Stopped {
    pub child: Child,
    /// The repository while it was stopped.
    pub state: State,
}

impl Stopped {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets it run on (SIGCONT) and waits for it to end.
    pub fn resume(self) -> Output {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGCONT).unwrap();
        self.child.wait_with_output().unwrap()
    }
}

/// Runs `cmd` and, at the first event `at` accepts, stops it and leaves it stopped; panics if
/// it ends before it could be stopped.
pub fn stop_at(repo: &Path, mut cmd: Command, what: &str, at: impl Fn(&Event) -> bool) -> Stopped {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = run_until(repo, &mut cmd, what, at);
    let pid = Pid::from_raw(child.id() as i32);
    kill(pid, Signal::SIGSTOP).unwrap();
    match waitpid(pid, Some(WaitPidFlag::WUNTRACED)).unwrap() {
        WaitStatus::Stopped(..) => Stopped {
            state: state(repo),
            child,
        },
        other => {
            let _ = child.kill();
            panic!("{what}: ended before it could be stopped ({other:?})")
        }
    }
}

/// Runs `cmd` (output discarded) and, at the first event `at` accepts and `delay` after it,
/// stops it, reads the repository's state and kills it.
pub fn kill_at(
    repo: &Path,
    mut cmd: Command,
    what: &str,
    delay: Duration,
    at: impl Fn(&Event) -> bool,
) -> Stop {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = run_until(repo, &mut cmd, what, at);
    let pid = Pid::from_raw(child.id() as i32);
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    kill(pid, Signal::SIGSTOP).unwrap();
    // The whole process (every thread) is stopped once waitpid reports it.
    match waitpid(pid, Some(WaitPidFlag::WUNTRACED)).unwrap() {
        WaitStatus::Stopped(..) => {
            let state = state(repo);
            kill(pid, Signal::SIGKILL).unwrap();
            child.wait().unwrap();
            Stop {
                state,
                ended: false,
            }
        }
        // Reaped here: `child` must not be waited for again.
        WaitStatus::Exited(..) | WaitStatus::Signaled(..) => Stop {
            state: state(repo),
            ended: true,
        },
        other => panic!("{what}: unexpected wait status {other:?}"),
    }
}
