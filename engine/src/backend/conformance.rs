//! The behaviour every backend must show, as one function a backend's tests call (public, so
//! an out-of-tree backend can run it too). It panics on the first broken promise.

use std::io;

use super::{Backend, FileType};

/// The behaviour every backend must show.
pub fn run(b: &dyn Backend) {
    use std::io::Write;
    assert!(!b.exists().unwrap());
    b.create().unwrap();
    b.put(FileType::Config, "config", b"cfg").unwrap();
    assert!(b.exists().unwrap());
    assert_eq!(b.get(FileType::Config, "config").unwrap(), b"cfg");

    // A create-exclusive put never replaces, and of racing ones exactly one wins.
    let e = b.put_new(FileType::Config, "config", b"other").unwrap_err();
    assert!(e.is_exists(), "{e}");
    assert_eq!(b.get(FileType::Config, "config").unwrap(), b"cfg");
    for round in 0..4 {
        let name = format!("race{round}");
        let won: Vec<usize> = std::thread::scope(|s| {
            let racers: Vec<_> = (0..8)
                .map(|i| {
                    let name = &name;
                    s.spawn(
                        move || match b.put_new(FileType::Key, name, &[i as u8; 3]) {
                            Ok(()) => Some(i),
                            Err(e) if e.is_exists() => None,
                            Err(e) => panic!("put_new: {e}"),
                        },
                    )
                })
                .collect();
            racers
                .into_iter()
                .filter_map(|r| r.join().unwrap())
                .collect()
        });
        assert_eq!(won.len(), 1, "winners of round {round}: {won:?}");
        assert_eq!(b.get(FileType::Key, &name).unwrap(), [won[0] as u8; 3]);
        b.delete(FileType::Key, &name).unwrap();
    }

    let name = "ab".repeat(32);
    b.put(FileType::Pack, &name, b"0123456789").unwrap();
    assert_eq!(b.get_range(FileType::Pack, &name, 2, 3).unwrap(), b"234");
    let mut buf = b"old contents".to_vec();
    b.read_range_into(FileType::Pack, &name, 2, 3, &mut buf)
        .unwrap();
    assert_eq!(buf, b"234");
    assert!(b
        .read_range_into(FileType::Pack, &name, 8, 5, &mut buf)
        .is_err());
    assert_eq!(
        b.get_range(FileType::Pack, &name, 8, 5)
            .unwrap_err()
            .io()
            .kind(),
        io::ErrorKind::UnexpectedEof
    );
    assert_eq!(b.list(FileType::Pack).unwrap(), vec![(name.clone(), 10)]);
    assert!(b.list(FileType::Index).unwrap().is_empty());
    b.put(FileType::Pack, &name, b"abc").unwrap();
    assert_eq!(b.get(FileType::Pack, &name).unwrap(), b"abc");
    b.delete(FileType::Pack, &name).unwrap();
    assert!(b.get(FileType::Pack, &name).unwrap_err().is_not_found());
    // Deleting what is gone: NotFound, or success where the store cannot tell (S3).
    if let Err(e) = b.delete(FileType::Pack, &name) {
        assert!(e.is_not_found(), "{e}");
    }
    assert!(b.list(FileType::Pack).unwrap().is_empty());

    // A streamed file is invisible until committed, and nothing once dropped uncommitted.
    let mut w = b.put_stream(FileType::Pack).unwrap();
    w.write_all(b"stream").unwrap();
    w.write_all(b"ed").unwrap();
    assert!(b.list(FileType::Pack).unwrap().is_empty());
    w.commit(&name).unwrap();
    assert_eq!(b.get(FileType::Pack, &name).unwrap(), b"streamed");
    assert_eq!(b.list(FileType::Pack).unwrap(), vec![(name.clone(), 8)]);
    let mut w = b.put_stream(FileType::Pack).unwrap();
    w.write_all(b"abandoned").unwrap();
    drop(w);
    assert_eq!(b.list(FileType::Pack).unwrap(), vec![(name.clone(), 8)]);
    b.delete(FileType::Pack, &name).unwrap();

    for t in FileType::ALL {
        if t != FileType::Config {
            b.put(t, "0011", b"x").unwrap();
            assert_eq!(b.list(t).unwrap(), vec![("0011".to_string(), 1)]);
        }
    }
}
