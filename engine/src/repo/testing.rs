//! Test fixtures: a repository in memory, opened, with a KDF cheap enough for unit tests.

use std::sync::Arc;

use crate::backend::MemBackend;
use crate::crypto::KdfParams;
use crate::format::config::Config;
use crate::repo::Repo;

pub(crate) fn cheap_kdf() -> KdfParams {
    KdfParams {
        m_cost: 64,
        t_cost: 1,
        ..KdfParams::recommended()
    }
}

pub(crate) fn mem_repo() -> Repo {
    let b: crate::backend::DynBackend = Arc::new(MemBackend::default());
    Repo::init(Arc::clone(&b), b"pw", Config::new(), cheap_kdf()).unwrap();
    Repo::open(b, b"pw", None).unwrap()
}
