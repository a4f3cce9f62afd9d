//! `EventObject::parse` and `split_calendar` on any text: Ok or invalid input, never a panic;
//! what parses expands within the caps (`MAX_OCCURRENCES` periods per rule).
#![no_main]

use calstore::object::{split_calendar, EventObject};
use calstore::recurrence::{expand, ExpandOptions, MAX_OCCURRENCES};
use calstore::{ErrorKind, User};
use chrono::TimeZone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let user = User::new("mailto:alice@example.com").expect("a valid user");
    let opts = ExpandOptions {
        tz: chrono_tz::Europe::Oslo,
        window_end: chrono::Utc
            .with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
            .single()
            .expect("a valid instant"),
        needs_action: true,
    };
    match EventObject::parse(text) {
        Ok(event) => {
            assert_eq!(event.text(), text, "the text is kept byte for byte");
            if let Ok(expansion) = expand(&user, Some(&event), &[], &opts) {
                assert!(expansion.periods.len() <= MAX_OCCURRENCES + event.rdates().len() + 1);
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
    }
    if let Err(e) = split_calendar(text) {
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
});
