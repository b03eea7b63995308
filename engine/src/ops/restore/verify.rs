//! Verification of a restored file against its snapshot node: every data extent re-read and
//! hashed against its chunk id, every hole read as zeros. Differences are `Error::Mismatch`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::format::tree::{Extent, Node};
use crate::repo::{BlobSource, Repo};

fn mismatch(path: &Path, detail: String) -> Error {
    Error::Mismatch {
        path: path.to_path_buf(),
        detail,
    }
}

/// Reads a restored file back and checks every data extent against its id and every hole
/// against zeros.
pub fn verify_file(repo: &Repo, path: &Path, n: &Node) -> Result<()> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let m = f.metadata().map_err(|e| Error::io(path, e))?;
    if m.len() != n.size {
        return Err(mismatch(
            path,
            format!("size {} instead of {}", m.len(), n.size),
        ));
    }
    let mut off = 0u64;
    let mut buf = Vec::new();
    for e in &n.content {
        match *e {
            Extent::Data { id, len } => {
                buf.resize(len as usize, 0);
                f.read_exact_at(&mut buf, off)
                    .map_err(|e| Error::io(path, e))?;
                if repo.chunk_id(&buf) != id {
                    return Err(mismatch(path, format!("bytes at offset {off}")));
                }
            }
            Extent::Hole { len } => {
                // Holes read as zeros; check them in bounded pieces.
                let mut done = 0;
                while done < len {
                    let k = (len - done).min(1 << 20) as usize;
                    buf.resize(k, 0);
                    f.read_exact_at(&mut buf, off + done)
                        .map_err(|e| Error::io(path, e))?;
                    if buf.iter().any(|&b| b != 0) {
                        return Err(mismatch(
                            path,
                            format!("hole at offset {} is not zero", off + done),
                        ));
                    }
                    done += k as u64;
                }
            }
        }
        off += e.len();
    }
    Ok(())
}
