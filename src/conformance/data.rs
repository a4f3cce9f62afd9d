//! The test calendars of the import cases, compiled in (so the suite runs from a packaged crate
//! as from the workspace): every valid calendar of `tests/data`, in name order. The workspace
//! test `tests/conformance.rs` checks that this list is the directory's.

/// (file name, text) of every valid calendar of `tests/data`, in name order.
pub const CALENDARS: &[(&str, &str)] = &[
    ("allday.ics", include_str!("../../tests/data/allday.ics")),
    (
        "cancelled-instance.ics",
        include_str!("../../tests/data/cancelled-instance.ics"),
    ),
    (
        "count-until.ics",
        include_str!("../../tests/data/count-until.ics"),
    ),
    (
        "custom-tzid.ics",
        include_str!("../../tests/data/custom-tzid.ics"),
    ),
    (
        "declined.ics",
        include_str!("../../tests/data/declined.ics"),
    ),
    (
        "exdate-tzid.ics",
        include_str!("../../tests/data/exdate-tzid.ics"),
    ),
    (
        "floating.ics",
        include_str!("../../tests/data/floating.ics"),
    ),
    (
        "monthly-last-friday.ics",
        include_str!("../../tests/data/monthly-last-friday.ics"),
    ),
    (
        "newyork-dst.ics",
        include_str!("../../tests/data/newyork-dst.ics"),
    ),
    (
        "oslo-dst.ics",
        include_str!("../../tests/data/oslo-dst.ics"),
    ),
    (
        "override-moved.ics",
        include_str!("../../tests/data/override-moved.ics"),
    ),
    (
        "rdate-periods.ics",
        include_str!("../../tests/data/rdate-periods.ics"),
    ),
    (
        "weekly-forever.unbounded.ics",
        include_str!("../../tests/data/weekly-forever.unbounded.ics"),
    ),
];
