//! `CancelToken`: how a caller asks a long operation to stop at its next checkpoint. Passed in
//! each operation's options instead of a process-wide flag, so a daemon can cancel one job of
//! several and a host embedding the engine keeps its own signal handling.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// Cheap to clone; every clone sees the same cancellation. The default is never cancelled
/// unless `cancel` is called on it or a clone.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every operation holding a clone to stop. Safe from a signal-handling thread.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The checkpoint: `Err(Interrupted)` once cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_cancellation_and_tokens_are_independent() {
        let a = CancelToken::new();
        let b = a.clone();
        let other = CancelToken::new();
        assert!(a.check().is_ok());
        b.cancel();
        assert!(matches!(a.check(), Err(Error::Interrupted)));
        assert!(other.check().is_ok());
    }
}
