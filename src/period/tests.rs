use super::*;

fn t(s: &str) -> DateTime<Utc> {
    parse_instant(s).unwrap()
}

fn p(start: &str, end: &str, uid: &str, rid: Option<&str>) -> Period {
    Period::new(
        t(start),
        t(end),
        Uid::new(uid).unwrap(),
        rid.map(|r| Rid::new(r).unwrap()),
    )
    .unwrap()
}

#[test]
fn order_and_identity_ignore_details() {
    let a = p("20260105T090000Z", "20260105T100000Z", "a", None);
    let mut b = a.clone();
    b.summary = Some("other".into());
    b.fbtype = FbType::Free;
    assert_eq!(a, b);
    let mut table = vec![a.clone()];
    assert!(!insert(&mut table, b));
    assert_eq!(
        table[0].summary, None,
        "re-inserting an identity replaces nothing"
    );
    let c = p(
        "20260105T090000Z",
        "20260105T100000Z",
        "a",
        Some("20260105T090000Z"),
    );
    assert!(
        a < c,
        "the parent sorts before its instances at the same time"
    );
}

#[test]
fn lines_round_trip_with_escapes() {
    let mut a = p(
        "20260105T090000Z",
        "20260105T100000Z",
        "u\tid\\x",
        Some("20260105T090000Z"),
    );
    a.summary = Some("line\nbreak\rand\ttab".into());
    a.organiser = Some("mailto:o@example.com".into());
    a.expiry = Some(t("20260106T000000Z"));
    let line = a.to_line(false);
    assert_eq!(line.split('\t').count(), 8);
    assert!(!line.contains('\n'));
    let back = Period::from_line(&line).unwrap();
    assert!(back.same_details(&a));
    a.attendee = Some("mailto:room@example.com".into());
    assert!(Period::from_line(&a.to_line(true))
        .unwrap()
        .same_details(&a));
    assert_eq!(
        p("20260105T090000Z", "20260105T100000Z", "x", None).to_line(false),
        "20260105T090000Z\t20260105T100000Z\tx\tOPAQUE\t\t\t\t"
    );
}

#[test]
fn corrupt_lines_are_refused() {
    for bad in [
        "",
        "x",
        "20260105T090000Z\tnope\tu",
        "20260105T100000Z\t20260105T090000Z\tu",
        "a\tb\tc\td\te\tf\tg\th\ti\tj",
    ] {
        assert_eq!(
            Period::from_line(bad).unwrap_err().kind(),
            crate::ErrorKind::Corrupt,
            "{bad:?}"
        );
    }
}

#[test]
fn table_operations() {
    let mut table = normalise(vec![
        p("20260105T090000Z", "20260105T100000Z", "a", None),
        p("20260106T090000Z", "20260106T100000Z", "a", None),
        p(
            "20260107T090000Z",
            "20260107T100000Z",
            "a",
            Some("20260107T090000Z"),
        ),
        p("20260105T093000Z", "20260105T103000Z", "b", None),
    ]);
    let uid_a = Uid::new("a").unwrap();
    assert!(remove_affected(&mut table, &uid_a, t("20260106T090000Z")));
    assert_eq!(table.len(), 3);
    assert_eq!(remove_additional(&mut table, &uid_a, &[]), 1);
    replace_event(
        &mut table,
        &uid_a,
        None,
        vec![p("20260108T090000Z", "20260108T100000Z", "a", None)],
    )
    .unwrap();
    assert_eq!(
        table.iter().map(|p| p.uid.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
    assert!(replace_event(
        &mut table,
        &uid_a,
        None,
        vec![p("20260108T090000Z", "20260108T100000Z", "b", None)]
    )
    .is_err());
}

#[test]
fn overlap_conflicts_and_capacity() {
    let table = normalise(vec![
        p("20260105T080000Z", "20260105T180000Z", "long", None),
        p("20260105T090000Z", "20260105T100000Z", "b", None),
        p("20260105T100000Z", "20260105T110000Z", "c", None),
    ]);
    let found = overlapping(
        &table,
        t("20260105T100000Z"),
        t("20260105T103000Z"),
        max_duration(&table),
    );
    assert_eq!(
        found.iter().map(|p| p.uid.as_str()).collect::<Vec<_>>(),
        ["long", "c"]
    );
    let touching = overlapping(
        &table,
        t("20260105T180000Z"),
        t("20260105T190000Z"),
        max_duration(&table),
    );
    assert!(touching.is_empty(), "touching periods do not overlap");
    let cand = p("20260105T093000Z", "20260105T094500Z", "new", None);
    assert_eq!(conflicts(&table, std::slice::from_ref(&cand)).len(), 2);
    assert_eq!(
        capacity_conflicts(&table, std::slice::from_ref(&cand), 2).len(),
        2
    );
    assert!(capacity_conflicts(&table, std::slice::from_ref(&cand), 3).is_empty());
    let mut transparent = cand.clone();
    transparent.fbtype = FbType::Free;
    assert!(conflicts(&table, &[transparent]).is_empty());
}

#[test]
fn coalesce_and_invert() {
    let table = normalise(vec![
        p("20260105T090000Z", "20260105T100000Z", "a", None),
        p("20260105T100000Z", "20260105T110000Z", "b", None),
        p("20260105T130000Z", "20260105T140000Z", "c", None),
    ]);
    assert_eq!(
        coalesce(&table),
        vec![
            (t("20260105T090000Z"), t("20260105T110000Z")),
            (t("20260105T130000Z"), t("20260105T140000Z"))
        ]
    );
    assert_eq!(
        invert(&table, t("20260105T080000Z"), t("20260105T150000Z")),
        vec![
            (t("20260105T080000Z"), t("20260105T090000Z")),
            (t("20260105T110000Z"), t("20260105T130000Z")),
            (t("20260105T140000Z"), t("20260105T150000Z"))
        ]
    );
}

#[test]
fn local_times_follow_rfc5545() {
    let oslo: chrono_tz::Tz = "Europe/Oslo".parse().unwrap();
    let local = |s: &str| NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%S").unwrap();
    // Spring forward 2026-03-29 02:00 -> 03:00: 02:30 is read with +01:00.
    assert_eq!(
        resolve_local(&oslo, local("20260329T023000")).unwrap(),
        t("20260329T013000Z")
    );
    // Fall back 2026-10-25 03:00 -> 02:00: 02:30 is the first (summer) one.
    assert_eq!(
        resolve_local(&oslo, local("20261025T023000")).unwrap(),
        t("20261025T003000Z")
    );
}

#[test]
fn format_instant_writes_what_chrono_writes() {
    use chrono::{Datelike, TimeZone};
    let mut t = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
    // Steps of a prime number of seconds cover every field's digits over the years 1–9999.
    let step = chrono::Duration::seconds(104_729 * 997);
    while t.year() <= 9999 {
        assert_eq!(format_instant(t), t.format("%Y%m%dT%H%M%SZ").to_string());
        t += step;
    }
    let nanos = Utc.with_ymd_and_hms(2026, 3, 29, 1, 59, 59).unwrap()
        + chrono::Duration::nanoseconds(999_999_999);
    assert_eq!(
        format_instant(nanos),
        "20260329T015959Z",
        "sub-second parts are dropped"
    );
    let far = Utc.with_ymd_and_hms(12026, 1, 5, 9, 0, 0).unwrap();
    assert_eq!(
        format_instant(far),
        far.format("%Y%m%dT%H%M%SZ").to_string()
    );
}

#[test]
fn period_text_is_capped_on_a_char_boundary() {
    use super::{cap_period_text, MAX_PERIOD_TEXT};
    assert_eq!(cap_period_text("Standup"), "Standup");
    let exact = "x".repeat(MAX_PERIOD_TEXT);
    assert_eq!(cap_period_text(&exact), exact);
    // 'é' is two bytes: a cut in its middle must move back.
    let long = "é".repeat(MAX_PERIOD_TEXT);
    let capped = cap_period_text(&long);
    assert!(capped.len() <= MAX_PERIOD_TEXT, "{} bytes", capped.len());
    assert!(capped.ends_with('…'));
    assert!(long.starts_with(capped.trim_end_matches('…')));
}

/// Column 4 keeps imip-agent's words for busy and free (so today's files are written
/// byte-identically) and the FBTYPE for the others; every spelling reads back.
#[test]
fn the_fbtype_column_reads_and_writes_every_type() {
    let line = |field: &str| format!("20260105T090000Z\t20260105T100000Z\tx\t{field}\t\t\t\t");
    for (written, fbtype) in [
        ("OPAQUE", FbType::Busy),
        ("TRANSPARENT", FbType::Free),
        ("BUSY-TENTATIVE", FbType::BusyTentative),
        ("BUSY-UNAVAILABLE", FbType::BusyUnavailable),
    ] {
        let mut a = p("20260105T090000Z", "20260105T100000Z", "x", None);
        a.fbtype = fbtype;
        assert_eq!(a.to_line(false), line(written));
        assert!(Period::from_line(&line(written)).unwrap().same_details(&a));
        assert_eq!(a.is_busy(), fbtype != FbType::Free, "{fbtype}");
    }
    for (read, fbtype) in [
        ("", FbType::Busy),
        ("BUSY", FbType::Busy),
        ("opaque", FbType::Busy),
        ("FREE", FbType::Free),
        ("busy-tentative", FbType::BusyTentative),
    ] {
        assert_eq!(
            Period::from_line(&line(read)).unwrap().fbtype,
            fbtype,
            "{read:?}"
        );
    }
    assert_eq!(
        Period::from_line(&line("SOMETIMES")).unwrap_err().kind(),
        crate::ErrorKind::Corrupt
    );
    // Conflicts count every busy type, tentative included.
    let table = vec![p("20260105T090000Z", "20260105T100000Z", "old", None)];
    for fbtype in [FbType::BusyTentative, FbType::BusyUnavailable] {
        let mut cand = p("20260105T093000Z", "20260105T094500Z", "new", None);
        cand.fbtype = fbtype;
        assert_eq!(conflicts(&table, &[cand]).len(), 1, "{fbtype}");
    }
}
