//! An in-memory backend, for tests and benchmarks that must not measure a disk.

use std::collections::BTreeMap;
use std::io;
use std::sync::RwLock;

use super::{BResult, Backend, BackendError, Buffered, FileType, PutStream};

#[derive(Default)]
pub struct MemBackend {
    created: RwLock<bool>,
    files: RwLock<BTreeMap<(u8, String), Vec<u8>>>,
}

fn key(t: FileType, name: &str) -> (u8, String) {
    (t as u8, name.to_string())
}

fn not_found(name: &str) -> BackendError {
    BackendError::NotFound(io::Error::new(
        io::ErrorKind::NotFound,
        format!("{name} not found"),
    ))
}

impl Backend for MemBackend {
    fn location(&self) -> String {
        "memory".into()
    }
    fn exists(&self) -> BResult<bool> {
        Ok(self
            .files
            .read()
            .unwrap()
            .contains_key(&key(FileType::Config, "config")))
    }
    fn create(&self) -> BResult<()> {
        *self.created.write().unwrap() = true;
        Ok(())
    }
    fn put(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
        self.files
            .write()
            .unwrap()
            .insert(key(t, name), data.to_vec());
        Ok(())
    }
    fn put_new(&self, t: FileType, name: &str, data: &[u8]) -> BResult<()> {
        use std::collections::btree_map::Entry;
        match self.files.write().unwrap().entry(key(t, name)) {
            Entry::Occupied(_) => Err(BackendError::Exists(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{name} exists"),
            ))),
            Entry::Vacant(v) => {
                v.insert(data.to_vec());
                Ok(())
            }
        }
    }
    fn put_stream(&self, t: FileType) -> BResult<Box<dyn PutStream + '_>> {
        Ok(Buffered::new(move |name: &str, buf: Vec<u8>| {
            self.files.write().unwrap().insert(key(t, name), buf);
            Ok(())
        }))
    }
    fn get(&self, t: FileType, name: &str) -> BResult<Vec<u8>> {
        self.files
            .read()
            .unwrap()
            .get(&key(t, name))
            .cloned()
            .ok_or_else(|| not_found(name))
    }
    fn get_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> BResult<Vec<u8>> {
        let files = self.files.read().unwrap();
        let f = files.get(&key(t, name)).ok_or_else(|| not_found(name))?;
        let end = offset.checked_add(len).filter(|&e| e <= f.len() as u64);
        match end {
            Some(end) => Ok(f[offset as usize..end as usize].to_vec()),
            None => {
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, "range past end of file").into())
            }
        }
    }
    fn list(&self, t: FileType) -> BResult<Vec<(String, u64)>> {
        Ok(self
            .files
            .read()
            .unwrap()
            .iter()
            .filter(|((ft, _), _)| *ft == t as u8)
            .map(|((_, n), v)| (n.clone(), v.len() as u64))
            .collect())
    }
    fn delete(&self, t: FileType, name: &str) -> BResult<()> {
        self.files
            .write()
            .unwrap()
            .remove(&key(t, name))
            .map(|_| ())
            .ok_or_else(|| not_found(name))
    }
}
