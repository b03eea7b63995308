//! What a storage failure means to the caller: the file is not there, it is there already (for
//! a create-exclusive put), trying again may work, or it will not. A retry layer retries
//! `Transient` only; `NotFound` and `Exists` are answers, not failures, and the layer above
//! decides whether a missing file is damage and what a taken name means.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The file does not exist.
    #[error("not found")]
    NotFound(#[source] io::Error),
    /// May succeed if tried again: a timeout, a reset connection, throttling, an interrupted
    /// call.
    #[error("{0} (transient)")]
    Transient(#[source] io::Error),
    /// Will fail again: permission denied, no space, a short read, anything else.
    #[error("{0}")]
    Permanent(#[source] io::Error),
    /// `put_new` found the name taken: someone else created it first.
    #[error("already exists")]
    Exists(#[source] io::Error),
}

pub type BResult<T> = Result<T, BackendError>;

impl BackendError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, BackendError::NotFound(_))
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, BackendError::Transient(_))
    }

    pub fn is_exists(&self) -> bool {
        matches!(self, BackendError::Exists(_))
    }

    /// A copy for each of several callers failed by one read (io::Error is not Clone).
    pub fn duplicate(&self) -> BackendError {
        let copy = |e: &io::Error| io::Error::new(e.kind(), e.to_string());
        match self {
            BackendError::NotFound(e) => BackendError::NotFound(copy(e)),
            BackendError::Transient(e) => BackendError::Transient(copy(e)),
            BackendError::Permanent(e) => BackendError::Permanent(copy(e)),
            BackendError::Exists(e) => BackendError::Exists(copy(e)),
        }
    }

    pub fn io(&self) -> &io::Error {
        match self {
            BackendError::NotFound(e)
            | BackendError::Transient(e)
            | BackendError::Permanent(e)
            | BackendError::Exists(e) => e,
        }
    }
}

/// Classifies an I/O error of a local or network call.
impl From<io::Error> for BackendError {
    fn from(e: io::Error) -> Self {
        use io::ErrorKind as K;
        match e.kind() {
            K::NotFound => BackendError::NotFound(e),
            K::AlreadyExists => BackendError::Exists(e),
            K::Interrupted
            | K::WouldBlock
            | K::TimedOut
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::ConnectionRefused
            | K::BrokenPipe
            | K::NotConnected => BackendError::Transient(e),
            _ => BackendError::Permanent(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_classified_by_what_a_retry_could_do() {
        use io::ErrorKind as K;
        let cases = [
            (K::NotFound, "not found"),
            (K::TimedOut, "transient"),
            (K::ConnectionReset, "transient"),
            (K::Interrupted, "transient"),
            (K::PermissionDenied, "permanent"),
            (K::UnexpectedEof, "permanent"),
            (K::StorageFull, "permanent"),
            (K::AlreadyExists, "exists"),
        ];
        for (kind, want) in cases {
            let e = BackendError::from(io::Error::from(kind));
            let got = match e {
                BackendError::NotFound(_) => "not found",
                BackendError::Transient(_) => "transient",
                BackendError::Permanent(_) => "permanent",
                BackendError::Exists(_) => "exists",
            };
            assert_eq!(got, want, "{kind:?}");
        }
    }
}
