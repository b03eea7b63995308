//! The repository `config` object: identity, format version and the parameters every writer
//! must share (chunker, pack size, compression). Sealed with the data key; JSON inside.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::Id;

/// The newest repository format this vcd reads. Version 2: packs and index files may hold
/// compact blobs (trailer and index file version 4). Version 3: deletion plans may exist
/// (`pending/`, FORMAT.md §14), which every writer must honour. A repository is raised only as
/// far as what is written needs: to 2 by the first command that writes a pack or an index
/// file, to 3 by the first prune that writes a plan (`Repo::upgrade_to`), so an older vcd
/// refuses it instead of misjudging version-4 objects or storing chunks in packs about to go.
pub const REPO_VERSION: u32 = 3;
/// What `init` writes, and what a pack or an index file needs.
pub const COMPACT_VERSION: u32 = 2;
/// What a deletion plan needs.
pub const PLANS_VERSION: u32 = 3;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChunkerParams {
    pub min_size: u32,
    pub avg_size: u32,
    pub max_size: u32,
}

impl ChunkerParams {
    /// Chosen by measurement (FORMAT.md §Chunking): 128 KiB / 512 KiB / 2 MiB.
    pub const DEFAULT: ChunkerParams = ChunkerParams {
        min_size: 128 * 1024,
        avg_size: 512 * 1024,
        max_size: 2 * 1024 * 1024,
    };

    pub fn validate(&self) -> Result<()> {
        // fastcdc's v2020 limits (it panics outside them), and our own: a chunk must fit a blob.
        use fastcdc::v2020 as f;
        let ok = (f::MINIMUM_MIN..=f::MINIMUM_MAX).contains(&self.min_size)
            && (f::AVERAGE_MIN..=f::AVERAGE_MAX).contains(&self.avg_size)
            && (f::MAXIMUM_MIN..=f::MAXIMUM_MAX.min(crate::format::blob::MAX_BLOB_RAW))
                .contains(&self.max_size)
            && self.min_size <= self.avg_size
            && self.avg_size <= self.max_size;
        if ok {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "chunker parameters out of range: {self:?}"
            )))
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Config {
    pub version: u32,
    pub id: Id,
    pub chunker: ChunkerParams,
    /// Packs are closed once they reach this many bytes.
    pub pack_size: u32,
    /// zstd level for new blobs; 0 stores raw.
    pub compression: i32,
    pub created: chrono::DateTime<chrono::Utc>,
}

impl Config {
    /// Chosen by measurement (FORMAT.md §Pack size).
    pub const DEFAULT_PACK_SIZE: u32 = 16 << 20;

    pub fn new() -> Self {
        Config {
            version: COMPACT_VERSION,
            id: Id::random(),
            chunker: ChunkerParams::DEFAULT,
            pack_size: Self::DEFAULT_PACK_SIZE,
            compression: 3,
            created: chrono::Utc::now(),
        }
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        let c: Config = serde_json::from_slice(b)
            .map_err(|e| Error::damaged("config", "config", e.to_string()))?;
        if c.version > REPO_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "repository",
                version: c.version,
                supported: REPO_VERSION,
            });
        }
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<()> {
        self.chunker.validate()?;
        if !(1 << 16..=1 << 30).contains(&self.pack_size) {
            return Err(Error::Invalid(format!(
                "pack size {} out of range",
                self.pack_size
            )));
        }
        if !(-7..=22).contains(&self.compression) {
            return Err(Error::Invalid(format!(
                "zstd level {} out of range",
                self.compression
            )));
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}
