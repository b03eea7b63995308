//! Engine errors as errno: the one place that decides what a failed read or listing tells the
//! application (the log line naming the file is written where the error is met).

use engine::Error;
use fuser::Errno;

/// The errno for an engine error met while serving a request. Anything the engine reports
/// while reading a name the tree lists is the data's fault, not the name's: a blob or pack the
/// repository lacks is damage, so `NotFound` is EIO here, never ENOENT.
pub(crate) fn errno(e: &Error) -> Errno {
    match e {
        Error::Interrupted => Errno::EINTR,
        Error::Invalid(_) => Errno::EINVAL,
        Error::Crypto(_)
        | Error::Damaged { .. }
        | Error::BlobNotIndexed(_)
        | Error::NotFound(_)
        | Error::Backend { .. }
        | Error::Io { .. }
        | Error::Index(_)
        | Error::UnsupportedVersion { .. }
        | Error::UnsafeName(_) => Errno::EIO,
        // Errors of opening a repository or picking a snapshot, which a mounted filesystem does
        // not do while serving requests.
        _ => Errno::EIO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_and_missing_data_are_eio() {
        assert_eq!(errno(&Error::damaged("blob", "x", "bad MAC")), Errno::EIO);
        assert_eq!(errno(&Error::NotFound("pack p".into())), Errno::EIO);
        assert_eq!(errno(&Error::Interrupted), Errno::EINTR);
    }
}
