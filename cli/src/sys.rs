//! Process tuning and the few system calls that need `unsafe`: the allocator's settings, the
//! descriptor limit, and detaching the mount daemon. The only module of the binary allowed
//! `unsafe` (main.rs denies it elsewhere); the engine has none.

use std::process::Command;

/// glibc raises its mmap threshold as large buffers are freed, after which multi-MiB pack
/// buffers are served from per-thread arenas that keep the memory: peak RSS then grows with
/// the number of threads times the largest buffers ever used. A fixed threshold above the
/// largest chunk (2 MiB) keeps chunk buffers in the arenas, reused without page faults (an
/// mmap per chunk cost 10% of the mount's read time in page faults and zeroing), and sends
/// pack-sized buffers back to the kernel when freed. A fixed threshold also pins the trim
/// threshold at 128 KiB, so freeing a chunk at the top of a heap handed its pages back and the
/// next chunk faulted them in again (page faults in zstd's output during restore and check).
/// A 4 MiB trim threshold (two of the largest chunks) keeps them: measured on a 1.63 GiB
/// restore, 0.6 s less system time for 3-5 MiB more peak RSS; 16 MiB added another 6-10 MiB
/// (each arena keeps its own) for no further gain.
pub fn tune_allocator() {
    // SAFETY: mallopt only adjusts allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

/// Hands memory freed across threads' arenas back to the system (the engine calls this after
/// large frees, through `BackupOptions::release_memory`).
pub fn release_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: no arguments but a size hint; only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Raises the soft descriptor limit to the hard one: a restore keeps a batch of files open
/// (it sizes batches by the soft limit), and so does the mount.
pub fn raise_nofile_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// Makes `cmd`'s child start a new session, so the terminal's hangup does not reach it.
pub fn new_session(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
}
