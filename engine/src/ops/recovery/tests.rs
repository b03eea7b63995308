//! Records written and read back: events grouped by restoration, states, objectives.

use chrono::{Duration, TimeZone, Utc};

use super::records::{self, State};
use crate::format::restoration::{Objectives, Outcome, What};
use crate::id::Id;
use crate::repo::testing::mem_repo;

fn started(snapshot_age: Duration, rto: u64) -> What {
    let t = Utc.with_ymd_and_hms(2026, 11, 29, 4, 0, 0).unwrap();
    What::Started {
        snapshot: Id([1; 32]),
        target: "/t".into(),
        includes: vec![],
        excludes: vec![],
        categories: vec![],
        at: None,
        incident: t,
        snapshot_time: t - snapshot_age,
        objectives: Some(Objectives {
            scenario: "partial".into(),
            rto_secs: rto,
            rpo_secs: 3600,
        }),
        rollback_snapshot: None,
        target_existed: true,
        overwrite: "always".into(),
        delete: false,
        no_owner: false,
    }
}

fn finished(secs: f64) -> What {
    What::Finished {
        outcome: Outcome::Ok,
        files: 3,
        links: 0,
        special: 0,
        dirs: 1,
        bytes: 10,
        deleted: 0,
        unchanged: 0,
        duration_secs: secs,
        verified: None,
        errors: vec![],
        errors_total: 0,
    }
}

#[test]
fn events_make_restorations_with_states_and_objectives() {
    let repo = mem_repo();
    let (a, b) = (Id([0xa0; 32]), Id([0xb0; 32]));
    records::record(&repo, a, started(Duration::minutes(30), 60)).unwrap();
    records::record(&repo, b, started(Duration::hours(5), 3600)).unwrap();
    records::record(&repo, a, finished(12.5)).unwrap();
    let list = records::list(&repo).unwrap();
    assert_eq!(list.len(), 2);
    let ra = records::find(&list, "a0a0").unwrap();
    assert_eq!(ra.state(), State::Finished(Outcome::Ok));
    assert_eq!(ra.rto(), Some((12.5, true)));
    assert_eq!(ra.rpo(), Some((1800, true)));
    let rb = records::find(&list, "B0").unwrap();
    assert_eq!(rb.state(), State::Unfinished, "started, never finished");
    assert_eq!(rb.rpo(), Some((5 * 3600, false)));
    assert_eq!(rb.rto(), None);
    // A restore that took longer than its scenario's RTO.
    let c = Id([0xc0; 32]);
    records::record(&repo, c, started(Duration::minutes(1), 10)).unwrap();
    records::record(&repo, c, finished(12.5)).unwrap();
    let list = records::list(&repo).unwrap();
    assert_eq!(
        records::find(&list, "c0").unwrap().rto(),
        Some((12.5, false))
    );
    records::record(
        &repo,
        a,
        What::RolledBack {
            outcome: Outcome::Ok,
            restored: 3,
            removed: 1,
            duration_secs: 1.0,
            errors: vec![],
        },
    )
    .unwrap();
    let list = records::list(&repo).unwrap();
    assert_eq!(
        records::find(&list, "a0").unwrap().state(),
        State::RolledBack
    );
    assert!(records::find(&list, "d0").is_err());
    assert!(records::find(&list, "").is_err());
}

#[test]
fn scenarios_come_from_the_configuration_or_the_specification() {
    let (o, cats) = super::scenario(None, "configuration").unwrap();
    assert_eq!((o.rto_secs, o.rpo_secs), (1800, 3600));
    assert_eq!(cats, ["critical"]);
    let (o, _) = super::scenario(None, "complete").unwrap();
    assert_eq!(
        (o.scenario.as_str(), o.rto_secs),
        ("complete-system", 4 * 3600)
    );
    assert!(super::scenario(None, "mars").is_err());
    let text = crate::policy::config::DEFAULT.replace("rto = \"30min\"", "rto = \"1s\"");
    let (c, d) = crate::policy::config::check(&text);
    let c = c.unwrap_or_else(|| panic!("{d:#?}"));
    let (o, cats) = super::scenario(Some(&c), "configuration").unwrap();
    assert_eq!(o.rto_secs, 1);
    assert_eq!(cats, ["critical"]);
    let (o, _) = super::scenario(Some(&c), "partial").unwrap();
    assert_eq!(o.scenario, "partial-data");
    let e = super::scenario(Some(&c), "mars").unwrap_err();
    assert!(
        e.to_string()
            .contains("complete-system, configuration, partial-data"),
        "{e}"
    );
}
