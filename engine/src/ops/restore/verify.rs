//! Verification of a restored file against its snapshot node, through the descriptor it was
//! written by: every data extent re-read and hashed against its chunk id, every hole checked
//! to read as zeros. Ranges the filesystem reports as holes (`SEEK_DATA`) are zeros without
//! reading them, so a file with a terabyte hole verifies in a few system calls; every loop
//! checks for interruption. Differences are `Error::Mismatch`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::format::tree::{Extent, Node};
use crate::repo::{BlobSource, Repo};

/// Holes are read (where the filesystem has data in them) in pieces of this size.
const PIECE: u64 = 1 << 20;

fn mismatch(detail: String) -> Error {
    Error::Mismatch {
        path: PathBuf::new(),
        detail,
    }
}

fn io(e: std::io::Error) -> Error {
    Error::io("reading back", e)
}

/// The first offset at or after `pos` that holds data, or None if only a hole remains (or
/// the filesystem cannot say: then everything counts as data).
fn next_data(f: &File, pos: u64) -> Result<Option<u64>> {
    match rustix::fs::seek(f, rustix::fs::SeekFrom::Data(pos)) {
        Ok(d) => Ok(Some(d)),
        Err(rustix::io::Errno::NXIO) => Ok(None),
        Err(rustix::io::Errno::INVAL) => Ok(Some(pos)),
        Err(e) => Err(io(e.into())),
    }
}

/// Checks that `[off, off + len)` of `f` reads as zeros, reading only where the filesystem
/// has data.
pub(super) fn check_hole(
    f: &File,
    off: u64,
    len: u64,
    buf: &mut Vec<u8>,
    cancel: &CancelToken,
) -> Result<()> {
    let end = off + len;
    let mut pos = off;
    while pos < end {
        cancel.check()?;
        let Some(data) = next_data(f, pos)? else {
            return Ok(());
        };
        if data >= end {
            return Ok(());
        }
        let k = (end - data).min(PIECE) as usize;
        buf.resize(k, 0);
        f.read_exact_at(buf, data).map_err(io)?;
        if buf.iter().any(|&b| b != 0) {
            return Err(mismatch(format!("hole at offset {data} is not zero")));
        }
        pos = data + k as u64;
    }
    Ok(())
}

/// Reads a restored file back and checks every data extent against its id and every hole
/// against zeros. Errors carry no path: the caller knows where the file is.
pub fn verify_file(repo: &Repo, f: &File, n: &Node, cancel: &CancelToken) -> Result<()> {
    let m = f.metadata().map_err(io)?;
    if m.len() != n.size {
        return Err(mismatch(format!("size {} instead of {}", m.len(), n.size)));
    }
    let mut off = 0u64;
    let mut buf = Vec::new();
    for e in &n.content {
        cancel.check()?;
        match *e {
            Extent::Data { id, len } => {
                buf.resize(len as usize, 0);
                f.read_exact_at(&mut buf, off).map_err(io)?;
                if repo.chunk_id(&buf) != id {
                    return Err(mismatch(format!("bytes at offset {off}")));
                }
            }
            Extent::Hole { len } => check_hole(f, off, len, &mut buf, cancel)?,
        }
        off += e.len();
    }
    Ok(())
}
