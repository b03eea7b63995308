//! The recovery system through the binary: every restore recorded in the repository and listed
//! by `vcd restores`, with its outcome, scope and duration.

use crate::common::Env;

#[test]
fn every_restore_is_recorded_and_listed_with_its_outcome() {
    let e = Env::with_cheap_key();
    let src = e.path("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    std::fs::write(src.join("d/a"), b"alpha").unwrap();
    std::fs::write(src.join("b"), b"bravo").unwrap();
    let snap = e.backup(&src, &[]);
    let t1 = e.path("t1");
    let out = e.ok(&[
        "restore",
        "latest",
        "--target",
        t1.to_str().unwrap(),
        "--verify",
    ]);
    let rid = out
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    assert!(out.starts_with("restoration "), "{out}");
    let inc = src.join("d");
    e.ok(&[
        "restore",
        &snap[..8],
        "--target",
        e.path("t2").to_str().unwrap(),
        "--include",
        inc.to_str().unwrap(),
    ]);
    // A restore refused before it wrote anything is on record too, as failed.
    e.code(
        1,
        &[
            "restore",
            "latest",
            "--target",
            e.path("t3").to_str().unwrap(),
            "--include",
            "/nowhere",
        ],
    );

    let v: serde_json::Value = serde_json::from_str(&e.ok(&["restores", "--json"])).unwrap();
    let l = v.as_array().unwrap();
    assert_eq!(l.len(), 3, "{v:#}");
    assert_eq!(l[0]["short_id"], rid.as_str());
    assert_eq!(
        l.iter()
            .map(|r| r["state"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["ok", "ok", "failed"]
    );
    for r in l {
        assert_eq!(r["snapshot"], snap.as_str());
        assert!(r["duration_secs"].as_f64().unwrap() >= 0.0, "{r:#}");
        assert_eq!(
            r["events"].as_array().unwrap().len(),
            2,
            "started and finished"
        );
    }
    assert_eq!(l[0]["target"], t1.to_str().unwrap());
    let fin = &l[0]["events"][1];
    assert_eq!(
        (&fin["event"], &fin["files"], &fin["verified"]),
        (&"finished".into(), &2.into(), &2.into())
    );
    assert_eq!(
        l[1]["events"][0]["includes"],
        serde_json::json!([inc.to_str().unwrap()])
    );
    assert_eq!(l[1]["events"][1]["files"], 1);
    assert!(l[2]["events"][1]["errors"][0]
        .as_str()
        .unwrap()
        .contains("matches nothing"));

    let table = e.ok(&["restores"]);
    assert!(table.lines().next().unwrap().contains("target"), "{table}");
    assert!(
        table.contains(&rid) && table.contains("3 restorations"),
        "{table}"
    );
    let shown = e.ok(&["restores", "show", &rid]);
    assert!(
        shown.contains("started by") && shown.contains("finished: ok: 2 files"),
        "{shown}"
    );
    // An unknown id: exit 1 and a pointer to the list.
    let (_, err) = e.code(1, &["restores", "show", "ffffffff"]);
    assert!(
        err.contains("restoration \"ffffffff\"") && err.contains("vcd restores"),
        "{err}"
    );
}
