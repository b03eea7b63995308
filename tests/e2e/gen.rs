//! Seeded random source trees, and a comparison of two trees by content and metadata.
//!
//! `generate` builds a tree with the awkward things a backup tool meets: empty and multi-MiB
//! files (random and compressible), thousands of small files, symlinks (relative, absolute,
//! dangling, looping, non-UTF-8 targets), hard links within and across directories, sparse
//! files (holes at the start, middle and end), odd names (spaces, newlines, non-UTF-8 bytes),
//! odd permissions and owners (0o000, setuid, setgid and sticky bits, foreign uids), fifos,
//! `user.*` xattrs (the filesystem must take them) and varied mtimes (before 1970 and after
//! 2038 too). The same seed gives the same tree.
//!
//! `compare` walks two trees and panics naming every path where they differ.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use filetime::FileTime;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// How much to generate. The odd cases (links, sparse files, names, permissions, fifos,
/// xattrs) are always there; these knobs set the bulk.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Small files (0 to 64 KiB, most under 4 KiB) spread over a nested directory tree.
    pub small_files: usize,
    /// Files of several MiB, alternately random and compressible.
    pub big_files: usize,
    /// Size of a big file, give or take half of it.
    pub big_size: usize,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            small_files: 2000,
            big_files: 2,
            big_size: 3 * MIB,
        }
    }
}

impl Spec {
    /// Few small files: for tests that need the odd cases but not the bulk.
    pub fn small() -> Self {
        Spec {
            small_files: 150,
            big_files: 2,
            big_size: MIB,
        }
    }
}

/// What `generate` made.
#[derive(Debug, Clone)]
pub struct Generated {
    pub root: PathBuf,
    /// Paths (relative to the root) of the small files, for tests that modify some.
    pub small: Vec<PathBuf>,
    /// Paths (relative to the root) of the big files.
    pub big: Vec<PathBuf>,
}

pub fn random_bytes(rng: &mut StdRng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

/// Text-like bytes that zstd compresses well but that are not one repeated block.
pub fn compressible(rng: &mut StdRng, n: usize) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "backup",
        "restore",
        "chunk",
        "pack",
        "index",
        "snapshot",
        "tree",
        "blob",
        "the",
        "a",
        "of",
        "and",
        "2024-05-01",
        "INFO",
        "WARN",
        "request",
    ];
    let mut v = Vec::with_capacity(n + 64);
    let mut line = 0u64;
    while v.len() < n {
        line += 1;
        v.extend_from_slice(format!("{line:08} ").as_bytes());
        for _ in 0..rng.gen_range(4..12) {
            v.extend_from_slice(WORDS[rng.gen_range(0..WORDS.len())].as_bytes());
            v.push(b' ');
        }
        v.push(b'\n');
    }
    v.truncate(n);
    v
}

/// Panics unless `dir`'s filesystem takes `user.*` xattrs: a tree generated without them
/// would let every xattr round trip pass untested.
pub fn require_xattrs(dir: &Path) {
    let probe = dir.join(".xattr-probe");
    fs::write(&probe, b"").unwrap();
    let r = xattr::set(&probe, "user.vcd-probe", b"1");
    fs::remove_file(&probe).unwrap();
    if let Err(e) = r {
        let fs_type = nix::sys::statfs::statfs(dir)
            .map(|s| format!("{:?}", s.filesystem_type()))
            .unwrap_or_else(|e| format!("unknown ({e})"));
        panic!(
            "{} (filesystem {fs_type}) does not take user.* xattrs ({e}): the generated trees \
             need them; run the tests on a filesystem that does (ext4, xfs, btrfs, tmpfs)",
            dir.display()
        );
    }
}

fn p(root: &Path, rel: &[u8]) -> PathBuf {
    root.join(OsStr::from_bytes(rel))
}

fn mkdir(path: &Path) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {path:?}: {e}"));
}

fn write(path: &Path, data: &[u8]) {
    fs::write(path, data).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {path:?}: {e}"));
}

fn lchown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("lchown {path:?}: {e}"));
}

fn symlink(target: &[u8], path: &Path) {
    std::os::unix::fs::symlink(OsStr::from_bytes(target), path)
        .unwrap_or_else(|e| panic!("symlink {path:?}: {e}"));
}

fn hard_link(from: &Path, to: &Path) {
    fs::hard_link(from, to).unwrap_or_else(|e| panic!("link {from:?} -> {to:?}: {e}"));
}

/// Writes `data` at `off` without touching the rest of the file.
fn write_at(f: &File, data: &[u8], off: u64) {
    f.write_all_at(data, off).unwrap();
}

struct Gen {
    rng: StdRng,
    root: PathBuf,
    seed: u64,
}

impl Gen {
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn setx(&mut self, path: &Path, name: &str, value: &[u8]) {
        xattr::set(path, name, value).unwrap_or_else(|e| panic!("setxattr {path:?} {name}: {e}"));
    }

    /// A random mtime: mostly recent, sometimes before 1970 or after 2038.
    fn mtime(&mut self) -> FileTime {
        let nsec = self.rng.gen_range(0..1_000_000_000u32);
        let sec: i64 = match self.rng.gen_range(0..20) {
            0 => -self.rng.gen_range(1..2_000_000_000i64),
            1 => self.rng.gen_range(2_200_000_000i64..4_000_000_000),
            _ => self.rng.gen_range(1_000_000_000i64..1_750_000_000),
        };
        FileTime::from_unix_time(sec, nsec)
    }

    fn big_files(&mut self, spec: &Spec) -> Vec<PathBuf> {
        mkdir(&self.path("big"));
        let mut out = Vec::new();
        for i in 0..spec.big_files {
            let n = spec.big_size + self.rng.gen_range(0..=spec.big_size / 2);
            let (rel, data) = if i % 2 == 0 {
                (
                    format!("big/random_{i}.bin"),
                    random_bytes(&mut self.rng, n),
                )
            } else {
                (format!("big/text_{i}.log"), compressible(&mut self.rng, n))
            };
            write(&self.path(&rel), &data);
            out.push(PathBuf::from(rel));
        }
        out
    }

    fn small_files(&mut self, n: usize) -> Vec<PathBuf> {
        let mut dirs = vec![PathBuf::from("many")];
        mkdir(&self.path("many"));
        for i in 0..(n / 25).max(1) {
            let parent = dirs[self.rng.gen_range(0..dirs.len())].clone();
            let d = parent.join(format!("d{i:03}"));
            mkdir(&self.root.join(&d));
            dirs.push(d);
        }
        let mut out = Vec::new();
        let mut previous: Vec<Vec<u8>> = Vec::new();
        for i in 0..n {
            let dir = &dirs[self.rng.gen_range(0..dirs.len())];
            let rel = dir.join(format!("f{i:05}_{:x}", self.rng.gen::<u16>()));
            let size = match self.rng.gen_range(0..20) {
                0 => 0,
                1 => self.rng.gen_range(4 * KIB..64 * KIB),
                _ => self.rng.gen_range(1..4 * KIB),
            };
            let data = match self.rng.gen_range(0..10) {
                // Same bytes as an earlier file: deduplicated inside one snapshot.
                0 if !previous.is_empty() => {
                    previous[self.rng.gen_range(0..previous.len())].clone()
                }
                1..=3 => compressible(&mut self.rng, size),
                _ => random_bytes(&mut self.rng, size),
            };
            write(&self.root.join(&rel), &data);
            if previous.len() < 64 {
                previous.push(data);
            }
            out.push(rel);
        }
        // Empty directories among them.
        for i in 0..3 {
            let parent = dirs[self.rng.gen_range(0..dirs.len())].clone();
            mkdir(&self.root.join(parent.join(format!("empty_dir_{i}"))));
        }
        out
    }

    fn empty_files(&mut self) {
        write(&self.path("empty"), b"");
        mkdir(&self.path("emptydir"));
        mkdir(&self.path("nested/empty/dirs/all/the/way"));
        write(&self.path("nested/empty/file"), b"");
    }

    fn symlinks(&mut self) {
        mkdir(&self.path("links"));
        let l = |s: &Self, n: &str| s.path(&format!("links/{n}"));
        symlink(b"../big/random_0.bin", &l(self, "relative"));
        symlink(b"../hard", &l(self, "relative_dir"));
        symlink(b"same_dir_target", &l(self, "same_dir"));
        write(&l(self, "same_dir_target"), b"target of a symlink\n");
        let abs = self.path("hard/a");
        symlink(abs.as_os_str().as_bytes(), &l(self, "absolute_inside"));
        symlink(b"/etc/passwd", &l(self, "absolute_outside"));
        symlink(b"no/such/target", &l(self, "dangling"));
        symlink(
            b"/nonexistent/vcd-e2e/target",
            &l(self, "dangling_absolute"),
        );
        symlink(b"loop", &l(self, "loop"));
        symlink(b"chain2", &l(self, "chain1"));
        symlink(b"relative", &l(self, "chain2"));
        symlink(b"odd \xff\xfe target\nwith newline", &l(self, "odd_target"));
        let long = vec![b'x'; 1000];
        symlink(&long, &l(self, "long_target"));
        let owned = l(self, "owned");
        symlink(b"relative", &owned);
        lchown(&owned, 4321, 8765);
        let r = self.rng.gen::<u32>();
        symlink(
            format!("seed-{}-{r}", self.seed).as_bytes(),
            &l(self, "seeded"),
        );
    }

    fn hard_links(&mut self, small: &[PathBuf]) {
        mkdir(&self.path("hard/sub"));
        let a = self.path("hard/a");
        let data = random_bytes(&mut self.rng, 10 * KIB + 7);
        write(&a, &data);
        hard_link(&a, &self.path("hard/b"));
        hard_link(&a, &self.path("hard/sub/c"));
        hard_link(&a, &p(&self.root, b"hard/sub/\xff non-utf8 link"));
        // Across directories, into the small-file tree.
        if let Some(s) = small.first() {
            let dir = self.root.join(s).parent().unwrap().to_path_buf();
            hard_link(&a, &dir.join("link_to_hard_a"));
        }
        let x = self.path("hard/pair_one");
        write(&x, &compressible(&mut self.rng, 5000));
        chmod(&x, 0o640);
        hard_link(&x, &self.path("hard/sub/pair_two"));
        let e = self.path("hard/empty_one");
        write(&e, b"");
        hard_link(&e, &self.path("hard/empty_two"));
        // A multiply linked file with an owner and odd mode.
        let o = self.path("hard/owned");
        write(&o, b"owned and linked\n");
        lchown(&o, 2000, 3000);
        chmod(&o, 0o4711);
        hard_link(&o, &self.path("hard/sub/owned_too"));
        self.setx(&a, "user.linked", b"one inode, four names");
    }

    fn sparse_files(&mut self) {
        mkdir(&self.path("sparse"));
        let open = |s: &Self, n: &str| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(s.path(&format!("sparse/{n}")))
                .unwrap()
        };
        // Hole at the start, data to the end.
        let f = open(self, "hole_start");
        let n = 100 * KIB + self.rng.gen_range(0..4096);
        let d = random_bytes(&mut self.rng, n);
        write_at(&f, &d, MIB as u64 + 123);
        // Data, hole, data.
        let f = open(self, "hole_middle");
        let d = random_bytes(&mut self.rng, 200 * KIB + 17);
        write_at(&f, &d, 0);
        let d = random_bytes(&mut self.rng, 100 * KIB + 5);
        write_at(&f, &d, 3 * MIB as u64 + 999);
        // Data, then a hole to the end (set_len).
        let f = open(self, "hole_end");
        let d = random_bytes(&mut self.rng, 150 * KIB + 3);
        write_at(&f, &d, 0);
        f.set_len(4 * MIB as u64 + 1).unwrap();
        // Nothing but a hole.
        let f = open(self, "all_hole");
        f.set_len(8 * MIB as u64 + self.rng.gen_range(0..MIB as u64))
            .unwrap();
        // Several holes, unaligned offsets, holes at both ends.
        let f = open(self, "many_holes");
        let mut off = 300 * KIB as u64 + 1;
        for _ in 0..5 {
            let n = self.rng.gen_range(5 * KIB..80 * KIB);
            let d = random_bytes(&mut self.rng, n);
            write_at(&f, &d, off);
            off += d.len() as u64 + self.rng.gen_range(300 * KIB as u64..MIB as u64);
        }
        f.set_len(off).unwrap();
        // A data region larger than the backup's whole-read limit (1 MiB), after a hole.
        let f = open(self, "big_region");
        let d = random_bytes(&mut self.rng, 2 * MIB + 511);
        write_at(&f, &d, 512 * KIB as u64 + 77);
        let d = random_bytes(&mut self.rng, 10 * KIB);
        write_at(&f, &d, 4 * MIB as u64);
        f.set_len(5 * MIB as u64).unwrap();
        let x = self.path("sparse/hole_middle");
        let v = random_bytes(&mut self.rng, 1500);
        self.setx(&x, "user.big_value", &v);
    }

    fn names(&mut self) {
        mkdir(&self.path("names"));
        let names: [&[u8]; 16] = [
            b"with space",
            b" leading space",
            b"trailing space ",
            b" ",
            b"new\nline",
            b"tab\there",
            b"non-utf8-\xff\xfe\x80",
            b"latin1-caf\xe9",
            "ünïcödé ✓".as_bytes(),
            b"-starts-with-dash",
            b".hidden",
            b"..double-dot-prefix",
            b"* [glob]? {a,b}",
            b"back\\slash",
            b"quote\"'",
            b"carriage\rreturn",
        ];
        for n in names {
            let mut content = n.to_vec();
            content.push(b'\n');
            write(&p(&self.root, &[&b"names/"[..], n].concat()), &content);
        }
        let long = vec![b'L'; 255];
        write(
            &p(&self.root, &[&b"names/"[..], &long].concat()),
            b"long name\n",
        );
        let d = p(&self.root, b"names/dir with space and \xff\n");
        mkdir(&d);
        write(&d.join("inside"), b"inside an odd directory\n");
        write(
            &d.join(OsStr::from_bytes(b"\xfe")),
            b"odd name in odd directory\n",
        );
        let x = p(&self.root, b"names/with space");
        self.setx(&x, "user.empty_value", b"");
    }

    fn permissions(&mut self) {
        mkdir(&self.path("perms"));
        let f = |s: &mut Self, n: &str, mode: u32| {
            let path = s.path(&format!("perms/{n}"));
            let data = random_bytes(&mut s.rng, 100);
            write(&path, &data);
            chmod(&path, mode);
            path
        };
        f(self, "none", 0o000);
        let exec = f(self, "exec", 0o755);
        f(self, "script", 0o700);
        f(self, "setuid", 0o4755);
        f(self, "setgid", 0o2755);
        f(self, "readonly", 0o444);
        f(self, "world_writable", 0o666);
        f(self, "sticky_file", 0o1644);
        let owned = self.path("perms/owned");
        write(&owned, b"owned by someone else\n");
        lchown(&owned, 1234, 5678);
        chmod(&owned, 0o640);
        // chown clears setuid: the mode must come back after the owner.
        let su = self.path("perms/setuid_owned");
        write(&su, b"#!/bin/sh\n");
        lchown(&su, 1000, 1000);
        chmod(&su, 0o4750);
        // setgid directory with a foreign group: what is created inside inherits both.
        let sg = self.path("perms/setgid_dir");
        mkdir(&sg);
        lchown(&sg, 0, 4242);
        chmod(&sg, 0o2775);
        write(&sg.join("inherits_group"), b"group 4242\n");
        mkdir(&sg.join("subdir_inherits_setgid"));
        write(&sg.join("subdir_inherits_setgid/file"), b"deep\n");
        let private = self.path("perms/private_dir");
        mkdir(&private);
        write(&private.join("secret"), b"secret\n");
        chmod(&private.join("secret"), 0o600);
        chmod(&private, 0o700);
        let sticky = self.path("perms/sticky_dir");
        mkdir(&sticky);
        write(&sticky.join("shared"), b"shared\n");
        chmod(&sticky, 0o1777);
        let ro = self.path("perms/readonly_dir");
        mkdir(&ro);
        write(&ro.join("file"), b"in a read-only directory\n");
        chmod(&ro, 0o555);
        let closed = self.path("perms/closed_dir");
        mkdir(&closed);
        write(&closed.join("file"), b"in a 000 directory\n");
        chmod(&closed, 0o000);
        let v = random_bytes(&mut self.rng, 100);
        self.setx(&exec, "user.binary", &[&[0u8, 0, 255][..], &v].concat());
        let dir = self.path("perms/setgid_dir");
        self.setx(&dir, "user.on_a_dir", b"directory attribute");
    }

    fn fifos(&mut self) {
        use nix::sys::stat::Mode;
        mkdir(&self.path("special"));
        let a = self.path("special/fifo");
        nix::unistd::mkfifo(&a, Mode::from_bits_truncate(0o644)).unwrap();
        chmod(&a, 0o644);
        let b = self.path("special/fifo owned");
        nix::unistd::mkfifo(&b, Mode::from_bits_truncate(0o600)).unwrap();
        lchown(&b, 55, 66);
        chmod(&b, 0o620);
    }

    fn xattrs_on_small(&mut self, small: &[PathBuf]) {
        for rel in small.iter().step_by(97) {
            let path = self.root.join(rel);
            let v = format!("seed {} file {}", self.seed, rel.display());
            self.setx(&path, "user.comment", v.as_bytes());
            let n = self.rng.gen_range(0..300);
            let r = random_bytes(&mut self.rng, n);
            self.setx(&path, "user.random", &r);
        }
        let root = self.root.clone();
        self.setx(&root, "user.root", b"on the root directory");
        let big = self.path("big/random_0.bin");
        if big.exists() {
            self.setx(&big, "user.comment", b"a big file");
            self.setx(&big, "user.ünicode-name", b"value");
        }
    }

    /// Every entry gets a random mtime; directories last, deepest first, so nothing done
    /// afterwards changes them.
    fn times(&mut self) {
        let mut dirs = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(d) = stack.pop() {
            let mut names: Vec<OsString> = fs::read_dir(&d)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            names.sort();
            for n in names {
                let path = d.join(&n);
                let m = fs::symlink_metadata(&path).unwrap();
                if m.is_dir() {
                    stack.push(path);
                } else {
                    let t = self.mtime();
                    let at = self.mtime();
                    // Not `set_file_times`: it opens the path, which blocks on a fifo.
                    // utimensat(AT_SYMLINK_NOFOLLOW) sets any entry's own times.
                    filetime::set_symlink_file_times(&path, at, t).unwrap();
                }
            }
            dirs.push(d);
        }
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            let t = self.mtime();
            filetime::set_file_times(&d, t, t).unwrap();
        }
    }
}

/// Generates the tree for `seed` at `root` (created; must not exist or be empty).
pub fn generate(root: &Path, seed: u64) -> Generated {
    generate_with(root, seed, &Spec::default())
}

pub fn generate_with(root: &Path, seed: u64, spec: &Spec) -> Generated {
    mkdir(root);
    require_xattrs(root);
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
        root: root.to_path_buf(),
        seed,
    };
    g.empty_files();
    let big = g.big_files(spec);
    let small = g.small_files(spec.small_files);
    g.hard_links(&small);
    g.symlinks();
    g.sparse_files();
    g.names();
    g.permissions();
    g.fifos();
    g.xattrs_on_small(&small);
    g.times();
    Generated {
        root: root.to_path_buf(),
        small,
        big,
    }
}

/// `cp -a`: a copy with every piece of metadata, hard links and holes.
pub fn cp_a(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("running cp -a");
    assert!(st.success(), "cp -a {from:?} {to:?} failed");
}

// ---------------------------------------------------------------------------------------------
// Comparison

/// Allowed extra allocation of a restored sparse file, in 512-byte blocks (64 KiB).
const SPARSE_SLACK_BLOCKS: u64 = 128;

fn kind(m: &fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        "directory"
    } else if t.is_symlink() {
        "symlink"
    } else if t.is_file() {
        "file"
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() {
        "char device"
    } else if t.is_block_device() {
        "block device"
    } else {
        "unknown"
    }
}

/// An entry's xattrs by name; Err says why they could not be read (a filesystem without
/// xattrs lists none, which is not an error).
fn xattrs_of(path: &Path) -> Result<BTreeMap<OsString, Vec<u8>>, String> {
    let mut out = BTreeMap::new();
    let list = xattr::list(path).map_err(|e| format!("listing xattrs: {e}"))?;
    for n in list {
        let v = xattr::get(path, &n)
            .map_err(|e| format!("reading xattr {n:?}: {e}"))?
            .ok_or_else(|| format!("xattr {n:?} listed but gone"))?;
        out.insert(n, v);
    }
    Ok(out)
}

/// A value for a message: text when it is, else its length and first bytes.
fn show(v: &[u8]) -> String {
    match std::str::from_utf8(v) {
        Ok(t) if t.len() <= 60 => t.to_string(),
        _ => format!("{} bytes {:02x?}", v.len(), &v[..v.len().min(8)]),
    }
}

fn names_in(dir: &Path) -> BTreeSet<OsString> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading directory {dir:?}: {e}"))
        .map(|e| e.unwrap().file_name())
        .collect()
}

/// Whether two files hold the same bytes; Err names the first differing offset.
fn same_content(a: &Path, b: &Path) -> Result<(), String> {
    let mut fa = File::open(a).map_err(|e| format!("open {a:?}: {e}"))?;
    let mut fb = File::open(b).map_err(|e| format!("open {b:?}: {e}"))?;
    let (mut ba, mut bb) = (vec![0u8; MIB], vec![0u8; MIB]);
    let mut off = 0u64;
    loop {
        let na = read_full(&mut fa, &mut ba);
        let nb = read_full(&mut fb, &mut bb);
        if ba[..na] != bb[..nb] {
            let i = ba[..na]
                .iter()
                .zip(&bb[..nb])
                .position(|(x, y)| x != y)
                .unwrap_or(na.min(nb));
            return Err(format!("content differs at byte {}", off + i as u64));
        }
        if na == 0 {
            return Ok(());
        }
        off += na as u64;
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}

struct Cmp {
    diffs: Vec<String>,
    /// (dev, ino) in `a` → in `b`, and back: the hard-link structure must be the same.
    a2b: HashMap<(u64, u64), ((u64, u64), PathBuf)>,
    b2a: HashMap<(u64, u64), ((u64, u64), PathBuf)>,
}

impl Cmp {
    fn diff(&mut self, rel: &Path, what: String) {
        self.diffs.push(format!("{rel:?}: {what}"));
    }

    fn entry(&mut self, a: &Path, b: &Path, rel: &Path) {
        let ma = fs::symlink_metadata(a).unwrap_or_else(|e| panic!("lstat {a:?}: {e}"));
        let mb = match fs::symlink_metadata(b) {
            Ok(m) => m,
            Err(e) => return self.diff(rel, format!("missing in the second tree ({e})")),
        };
        if kind(&ma) != kind(&mb) {
            return self.diff(rel, format!("type {} vs {}", kind(&ma), kind(&mb)));
        }
        if ma.mode() & 0o7777 != mb.mode() & 0o7777 {
            self.diff(
                rel,
                format!(
                    "mode {:04o} vs {:04o}",
                    ma.mode() & 0o7777,
                    mb.mode() & 0o7777
                ),
            );
        }
        if (ma.uid(), ma.gid()) != (mb.uid(), mb.gid()) {
            self.diff(
                rel,
                format!(
                    "owner {}:{} vs {}:{}",
                    ma.uid(),
                    ma.gid(),
                    mb.uid(),
                    mb.gid()
                ),
            );
        }
        if (ma.mtime(), ma.mtime_nsec()) != (mb.mtime(), mb.mtime_nsec()) {
            self.diff(
                rel,
                format!(
                    "mtime {}.{:09} vs {}.{:09}",
                    ma.mtime(),
                    ma.mtime_nsec(),
                    mb.mtime(),
                    mb.mtime_nsec()
                ),
            );
        }
        match (xattrs_of(a), xattrs_of(b)) {
            (Ok(xa), Ok(xb)) => {
                for (n, va) in &xa {
                    match xb.get(n) {
                        None => self.diff(rel, format!("xattr {n:?} only in the first tree")),
                        Some(vb) if vb != va => self.diff(
                            rel,
                            format!("xattr {n:?} value {:?} vs {:?}", show(va), show(vb)),
                        ),
                        Some(_) => {}
                    }
                }
                for n in xb.keys().filter(|n| !xa.contains_key(*n)) {
                    self.diff(rel, format!("xattr {n:?} only in the second tree"));
                }
            }
            (Err(e), _) => self.diff(rel, format!("first tree: {e}")),
            (_, Err(e)) => self.diff(rel, format!("second tree: {e}")),
        }
        if ma.nlink() != mb.nlink() {
            self.diff(rel, format!("link count {} vs {}", ma.nlink(), mb.nlink()));
        }
        if !ma.is_dir() {
            let (ka, kb) = ((ma.dev(), ma.ino()), (mb.dev(), mb.ino()));
            match self.a2b.get(&ka) {
                Some((want, first)) if *want != kb => {
                    let first = first.clone();
                    self.diff(
                        rel,
                        format!(
                            "is a hard link of {first:?} in the first tree but not in the second"
                        ),
                    );
                }
                None => {
                    self.a2b.insert(ka, (kb, rel.to_path_buf()));
                }
                _ => {}
            }
            match self.b2a.get(&kb) {
                Some((want, first)) if *want != ka => {
                    let first = first.clone();
                    self.diff(
                        rel,
                        format!(
                            "is a hard link of {first:?} in the second tree but not in the first"
                        ),
                    );
                }
                None => {
                    self.b2a.insert(kb, (ka, rel.to_path_buf()));
                }
                _ => {}
            }
        }
        let t = ma.file_type();
        if t.is_file() {
            if ma.len() != mb.len() {
                return self.diff(rel, format!("size {} vs {}", ma.len(), mb.len()));
            }
            if let Err(e) = same_content(a, b) {
                self.diff(rel, e);
            }
            let sparse = ma.blocks() * 512 < ma.len();
            if sparse && mb.blocks() > ma.blocks() + SPARSE_SLACK_BLOCKS {
                self.diff(
                    rel,
                    format!(
                        "sparse file: {} blocks allocated in the first tree, {} in the second (holes not kept)",
                        ma.blocks(),
                        mb.blocks()
                    ),
                );
            }
        } else if t.is_symlink() {
            let (ta, tb) = (fs::read_link(a).unwrap(), fs::read_link(b).unwrap());
            if ta != tb {
                self.diff(rel, format!("symlink target {ta:?} vs {tb:?}"));
            }
        } else if t.is_dir() {
            let (na, nb) = (names_in(a), names_in(b));
            for n in na.difference(&nb) {
                self.diff(&rel.join(n), "only in the first tree".into());
            }
            for n in nb.difference(&na) {
                self.diff(&rel.join(n), "only in the second tree".into());
            }
            for n in na.intersection(&nb) {
                self.entry(&a.join(n), &b.join(n), &rel.join(n));
            }
        } else if (t.is_char_device() || t.is_block_device()) && ma.rdev() != mb.rdev() {
            self.diff(rel, format!("device {} vs {}", ma.rdev(), mb.rdev()));
        }
    }
}

/// Every difference between the trees at `a` and `b` (their roots included), one line each,
/// naming the path relative to the roots.
pub fn differences(a: &Path, b: &Path) -> Vec<String> {
    let mut c = Cmp {
        diffs: Vec::new(),
        a2b: HashMap::new(),
        b2a: HashMap::new(),
    };
    c.entry(a, b, Path::new("."));
    c.diffs
}

/// Asserts the trees at `a` and `b` are the same in names, types, content, mode, owner,
/// mtime, symlink targets, xattrs, hard-link structure and holes.
pub fn compare(a: &Path, b: &Path) {
    let d = differences(a, b);
    if !d.is_empty() {
        let shown = d.iter().take(40).cloned().collect::<Vec<_>>().join("\n  ");
        panic!(
            "trees differ: {a:?} vs {b:?} ({} differences)\n  {shown}{}",
            d.len(),
            if d.len() > 40 { "\n  ..." } else { "" }
        );
    }
}

/// Regular-file names and distinct regular-file inodes below `root`.
pub fn count_files(root: &Path) -> (usize, usize) {
    let mut names = 0;
    let mut inodes = std::collections::HashSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                names += 1;
                inodes.insert((m.dev(), m.ino()));
            }
        }
    }
    (names, inodes.len())
}

/// Words in a seeded order: text that zstd's levels compress to different sizes.
pub fn words(seed: u64, words: usize) -> Vec<u8> {
    let vocab = [
        "backup",
        "restore",
        "snapshot",
        "chunk",
        "pack",
        "index",
        "policy",
        "schedule",
        "daily",
        "weekly",
        "monthly",
        "category",
        "critical",
        "important",
        "optional",
        "scenario",
    ];
    let mut x = seed;
    let mut out = Vec::new();
    for i in 0..words {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.extend_from_slice(vocab[(x >> 60) as usize].as_bytes());
        out.extend_from_slice(if i % 13 == 12 { b".\n" } else { b" " });
    }
    out
}
