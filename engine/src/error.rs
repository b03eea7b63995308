//! The engine's error type.
//!
//! Policy: every failure a user can act on has its own variant, so the CLI can map it to an
//! exit code (see `Error::kind`) and a message that says what to do. `Error::is_damage` tells
//! whether repository bytes were found damaged (as opposed to being unreachable), which decides
//! whether retrying can help.

use std::path::PathBuf;

use crate::id::Id;

/// What a caller may do about an error: the CLI turns this into an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Anything else: exit 1.
    Other,
    /// No repository at the given location: exit 10.
    RepoNotFound,
    /// A lock held by another process prevents the operation: exit 11.
    Locked,
    /// No key in the repository opens with the given password: exit 12.
    WrongPassword,
    /// The operation was interrupted: exit 130.
    Interrupted,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no repository at {0} (run `vcd init` first)")]
    RepoNotFound(String),
    #[error("a repository already exists at {0}")]
    RepoExists(String),
    #[error("wrong password: no key in the repository opens with it")]
    WrongPassword,
    #[error("repository is locked: {0} (`vcd unlock` removes stale locks)")]
    Locked(String),
    #[error("interrupted")]
    Interrupted,
    #[error("{what} {name}: {source}")]
    Backend {
        what: &'static str,
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} not found in the repository")]
    NotFound(String),
    #[error("damaged repository object {what} {name}: {detail}")]
    Damaged {
        what: &'static str,
        name: String,
        detail: String,
    },
    #[error("blob {0} is not in the index (run `vcd repair index`)")]
    BlobNotIndexed(Id),
    #[error("unsupported {what} version {version} (this vcd reads up to {supported})")]
    UnsupportedVersion {
        what: &'static str,
        version: u32,
        supported: u32,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unsafe name in snapshot tree: {0:?} (refusing to restore outside the target)")]
    UnsafeName(String),
    #[error("no snapshot matches {0:?}")]
    NoSuchSnapshot(String),
    #[error("snapshot id prefix {0:?} is ambiguous")]
    AmbiguousSnapshot(String),
    #[error(transparent)]
    Key(#[from] crate::repo::keys::KeyError),
    #[error("local index: {0}")]
    Index(String),
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("crypto: {0}")]
    Crypto(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::RepoNotFound(_) => ErrorKind::RepoNotFound,
            Error::WrongPassword => ErrorKind::WrongPassword,
            Error::Locked(_) => ErrorKind::Locked,
            Error::Interrupted => ErrorKind::Interrupted,
            _ => ErrorKind::Other,
        }
    }

    /// True when repository bytes were read but failed their MAC, hash or parse: retrying the
    /// read will not help, the object is damaged.
    pub fn is_damage(&self) -> bool {
        matches!(self, Error::Damaged { .. })
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn damaged(what: &'static str, name: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Damaged {
            what,
            name: name.into(),
            detail: detail.into(),
        }
    }
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::Index(e.to_string())
    }
}
