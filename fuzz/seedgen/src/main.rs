//! Writes one valid seed input per fuzz target (and per mode of the multi-mode targets) into
//! the directory given as the only argument: `cargo run --manifest-path seedgen/Cargo.toml
//! --target-dir target/seedgen -- seeds` from fuzz/. The layouts follow the headers documented
//! at the top of each file in fuzz_targets/.

use std::fs;
use std::path::Path;

use engine::cache::fuzzing::encode_record;
use engine::crypto::{aad, KdfParams, MasterKey};
use engine::format::blob::{seal_blob, BlobEntry, BlobType};
use engine::format::config::Config;
use engine::format::index_file::{encode_index_file, PackEntries};
use engine::format::lock_file::LockInfo;
use engine::format::pack::{encode_trailer, PackWriter};
use engine::format::snapshot::{BackupType, Snapshot, Summary};
use engine::format::tree::{Extent, Node, NodeKind, Timestamp, Tree, Xattr};
use engine::id::Id;
use engine::repo::keys::KeyFile;

fn put(dir: &Path, target: &str, name: &str, b: &[u8]) {
    let d = dir.join(target);
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join(name), b).unwrap();
}

fn main() {
    let dir = Path::new(&std::env::args().nth(1).expect("output dir")).to_path_buf();
    let master = MasterKey::from_bytes([7; 32]);
    let keys = master.derive();

    // key_file: tiny KDF params and the password the target tries, so unlock succeeds.
    let tiny = KdfParams {
        algorithm: "argon2id".into(),
        m_cost: 64,
        t_cost: 1,
        p_cost: 1,
        salt: vec![1; 16],
    };
    let k = KeyFile::create(&master, b"fuzz password", tiny).unwrap();
    assert!(k.unlock(b"fuzz password").unwrap().is_some());
    put(&dir, "key_file", "tiny_kdf", &k.encode());
    let mut big = k.clone();
    big.kdf = KdfParams::recommended();
    put(&dir, "key_file", "recommended_kdf", &big.encode());

    // config: as `vcd init` writes it.
    put(
        &dir,
        "config",
        "default",
        &serde_json::to_vec_pretty(&Config::new()).unwrap(),
    );
    put(
        &dir,
        "config",
        "compact",
        &serde_json::to_vec(&Config::new()).unwrap(),
    );

    // snapshot
    let s = Snapshot {
        version: 1,
        time: chrono::Utc::now(),
        host: "host".into(),
        user: "user".into(),
        paths: vec!["/home/u".into(), "/etc".into()],
        tags: vec!["daily".into()],
        category: Some("home".into()),
        categories: vec!["critical".into()],
        job: None,
        audit: vec![Id([5; 32])],
        original: None,
        kind: BackupType::Full,
        parent: Some(Id([3; 32])),
        tree: Id([4; 32]),
        summary: Summary {
            files_new: 3,
            bytes_read: 1 << 20,
            duration_secs: 1.5,
            errors: vec!["/x: denied".into()],
            ..Summary::default()
        },
    };
    put(&dir, "snapshot", "full", &s.encode());

    // tree: one node of every interesting shape.
    let mut f = Node::new(b"file".to_vec(), NodeKind::File);
    f.content = vec![
        Extent::Data {
            id: Id([1; 32]),
            len: 100,
        },
        Extent::Hole { len: 4096 },
    ];
    f.size = 4196;
    f.mode = 0o644;
    f.user = "u".into();
    f.mtime = Timestamp {
        sec: 1_700_000_000,
        nsec: 5,
    };
    f.xattrs.push(Xattr {
        name: b"user.a".to_vec(),
        value: vec![0, 1, 2],
    });
    let mut d = Node::new(b"dir".to_vec(), NodeKind::Dir);
    d.subtree = Some(Id([2; 32]));
    let mut l = Node::new(b"link".to_vec(), NodeKind::Symlink);
    l.target = Some(engine_bytes(b"../target"));
    let mut t = Tree {
        nodes: vec![f, d, l, Node::new(b"fifo".to_vec(), NodeKind::Fifo)],
    };
    t.sort();
    put(&dir, "tree", "mixed", &t.encode());
    put(&dir, "tree", "empty", &Tree::default().encode());

    // index_file and pack trailers
    let e = |i: u8, off: u64| BlobEntry {
        ty: if i % 2 == 0 {
            BlobType::Data
        } else {
            BlobType::Tree
        },
        compressed: i % 3 == 0,
        compact: i == 2,
        id: Id([i; 32]),
        offset: off,
        length: 60,
        raw_length: 100,
    };
    let entries = vec![e(1, 0), e(2, 60), e(3, 120)];
    let packs = vec![
        PackEntries {
            pack: Id([9; 32]),
            entries: entries.clone(),
        },
        PackEntries {
            pack: Id([8; 32]),
            entries: vec![],
        },
    ];
    put(&dir, "index_file", "two_packs", &encode_index_file(&packs));

    let trailer = encode_trailer(&entries);
    let mut m0 = vec![0u8];
    m0.extend_from_slice(&180u64.to_le_bytes());
    m0.extend_from_slice(&trailer);
    put(&dir, "pack_trailer", "mode0_trailer", &m0);
    let mut w = PackWriter::default();
    for (i, data) in [&b"hello hello hello hello hello"[..], &[0u8; 3000][..]]
        .iter()
        .enumerate()
    {
        w.add(&seal_blob(
            &keys,
            if i == 0 {
                BlobType::Data
            } else {
                BlobType::Tree
            },
            keys.chunk_id.id(data),
            data,
            3,
        ));
    }
    let p = w.finish(&keys.data);
    let mut m1 = vec![1u8];
    m1.extend_from_slice(&(p.bytes.len() as u64).to_le_bytes());
    m1.extend_from_slice(&p.bytes[p.bytes.len() - 12..]);
    put(&dir, "pack_trailer", "mode1_footer", &m1);
    let mut m2 = vec![2u8];
    entries[0].encode_into(&mut m2);
    put(&dir, "pack_trailer", "mode2_entry", &m2);
    let mut m3 = vec![3u8];
    m3.extend_from_slice(&p.bytes);
    put(&dir, "pack_trailer", "mode3_pack", &m3);
    let mut m4 = vec![4u8];
    m4.extend_from_slice(&180u16.to_le_bytes());
    m4.extend_from_slice(&trailer);
    put(&dir, "pack_trailer", "mode4_sealed_trailer", &m4);

    // cache_record: a record as the local index writes one, named by a valid location
    // (mode 0) and behind five bytes of other records (mode 1, skip 5).
    let rec = encode_record(&entries);
    let mut c0 = vec![0u8];
    c0.extend_from_slice(&0u64.to_le_bytes());
    c0.extend_from_slice(&(rec.len() as u32).to_le_bytes());
    c0.extend_from_slice(&Id::of_file(&rec).0);
    c0.extend_from_slice(&(rec.len() as u64).to_le_bytes());
    c0.extend_from_slice(&rec);
    put(&dir, "cache_record", "mode0_record", &c0);
    let mut c1 = vec![1u8, 5, 0, 0, 0, 0, 0];
    c1.extend_from_slice(&rec);
    put(&dir, "cache_record", "mode1_record", &c1);

    // blob: flags = mode << 2 | bit4 (raw_length = payload length) ...
    let payload = b"abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc".repeat(8);
    let mut b2 = vec![64 | (2 << 2) | 16, 0, 0, 0, 0, 0, 0, 0];
    b2.extend_from_slice(&payload);
    put(&dir, "blob", "mode2_compressed_exact", &b2);
    let mut b2x = vec![64 | (2 << 2) | 16, 0, 0, 0, 0, 9, 0, 0x20];
    b2x.extend_from_slice(&payload);
    put(&dir, "blob", "mode2_compressed_corrupt", &b2x);
    // mode 1: a real zstd frame as the sealed plaintext, raw_length from the header.
    let sb = seal_blob(&keys, BlobType::Data, Id([0; 32]), &payload, 3);
    let frame = keys.data.open_compact(aad::BLOB, &sb.bytes).unwrap();
    let mut b1 = vec![64 | (1 << 2) | 32];
    b1.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    b1.extend_from_slice(&[0, 0, 0]);
    b1.extend_from_slice(&frame);
    put(&dir, "blob", "mode1_zstd_frame", &b1);
    let mut b1u = vec![(1 << 2) | 2 | 16, 0, 0, 0, 0, 0, 0, 0];
    b1u.extend_from_slice(b"plain uncompressed blob");
    put(&dir, "blob", "mode1_uncompressed_exact", &b1u);
    // The earlier layout: a standard frame under a full nonce.
    let mut b1s = vec![(1 << 2) | 32];
    b1s.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    b1s.extend_from_slice(&[0, 0, 0]);
    b1s.extend_from_slice(&zstd::bulk::compress(&payload, 3).unwrap());
    put(&dir, "blob", "mode1_standard_frame_exact", &b1s);

    // lock_file: as a lock taker writes one.
    let l = LockInfo {
        time: chrono::Utc::now(),
        host: "host".into(),
        user: "user".into(),
        pid: 4242,
        exclusive: true,
        prune: false,
    };
    put(&dir, "lock_file", "exclusive", &l.encode());

    // key_open: the config sealed with the fixed key; the tiny key file (which opens it), a key
    // of another master key under the same password (unlocks, opens nothing), garbage.
    let config = keys.data.seal(
        aad::CONFIG,
        &serde_json::to_vec_pretty(&Config::new()).unwrap(),
    );
    let stray = KeyFile::create(
        &MasterKey::from_bytes([9; 32]),
        b"fuzz password",
        k.kdf.clone(),
    )
    .unwrap();
    let key_open = |flags: u8, parts: &[&[u8]]| {
        let mut b = vec![flags];
        for p in parts {
            b.extend_from_slice(&(p.len() as u16).to_le_bytes());
            b.extend_from_slice(p);
        }
        b
    };
    let (real, stray) = (k.encode(), stray.encode());
    put(
        &dir,
        "key_open",
        "remembered_real",
        &key_open(0x80, &[&config, &real, &stray]),
    );
    put(
        &dir,
        "key_open",
        "remembered_stray_then_misnamed",
        &key_open(0x80 | 0b100, &[&config, &stray, &real, b"{}"]),
    );
    put(
        &dir,
        "key_open",
        "remembered_real_by_name",
        &key_open(0x80 | 0x40, &[&config, &real, &stray]),
    );
    put(
        &dir,
        "key_open",
        "remembered_by_a_wrong_size",
        &key_open(0x80 | 0x40 | 0x20, &[&config, &real, &stray]),
    );
    eprintln!("seeds written to {}", dir.display());
}

fn engine_bytes(b: &[u8]) -> serde_bytes::ByteBuf {
    serde_bytes::ByteBuf::from(b.to_vec())
}
