//! The engine's error type.
//!
//! Policy: every failure a user can act on has its own variant, so the CLI can map it to an
//! exit code (see `Error::kind`) and a message that says what to do. Callers that decide what
//! to do next ask `is_damage` (bytes were read and are wrong: repair, not retry),
//! `is_retryable` (storage said a retry may work) and `is_not_found`.

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
        source: crate::backend::BackendError,
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
    /// What was restored differs from the snapshot (`restore --verify`); `path` names the
    /// file for callers, the message leaves it to them.
    #[error("differs from the snapshot: {detail}")]
    Mismatch { path: PathBuf, detail: String },
    /// A stage of a pipeline ended early (its own failure is reported first).
    #[error("{0} stopped")]
    Stopped(&'static str),
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

    /// True when bytes were read but are not what they must be: a repository object failed its
    /// MAC, hash or parse, a blob a snapshot needs is missing from the index or its pack is
    /// missing from storage, a tree names an unsafe path, or a restored file differs from its
    /// snapshot. Retrying will not help.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            Error::Damaged { .. }
                | Error::BlobNotIndexed(_)
                | Error::UnsafeName(_)
                | Error::Mismatch { .. }
        )
    }

    /// True when trying again may succeed: storage answered with a transient failure.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Backend { source, .. } if source.is_transient())
    }

    /// True when what was asked for does not exist (a repository, snapshot or file).
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::RepoNotFound(_) | Error::NotFound(_) | Error::NoSuchSnapshot(_) => true,
            Error::Backend { source, .. } => source.is_not_found(),
            _ => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendError;
    use std::io;

    fn backend(kind: io::ErrorKind) -> Error {
        Error::Backend {
            what: "reading",
            name: "x".into(),
            source: BackendError::from(io::Error::from(kind)),
        }
    }

    #[test]
    fn errors_say_what_a_caller_can_do() {
        // (error, damage, retryable, not found)
        let cases = [
            (backend(io::ErrorKind::TimedOut), false, true, false),
            (backend(io::ErrorKind::NotFound), false, false, true),
            (
                backend(io::ErrorKind::PermissionDenied),
                false,
                false,
                false,
            ),
            (Error::damaged("pack", "p", "bad MAC"), true, false, false),
            (Error::BlobNotIndexed(Id([1; 32])), true, false, false),
            (
                Error::Mismatch {
                    path: "/r/f".into(),
                    detail: "bytes differ".into(),
                },
                true,
                false,
                false,
            ),
            (Error::NoSuchSnapshot("x".into()), false, false, true),
            (Error::Stopped("pack writer"), false, false, false),
            (Error::Invalid("x".into()), false, false, false),
        ];
        for (e, damage, retry, missing) in cases {
            assert_eq!(e.is_damage(), damage, "{e}");
            assert_eq!(e.is_retryable(), retry, "{e}");
            assert_eq!(e.is_not_found(), missing, "{e}");
        }
    }
}
