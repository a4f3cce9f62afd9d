//! `Period::from_line` on any line: Ok or corrupt data, never a panic; a line that parses writes
//! back to a line that parses to the same period, every field included.
#![no_main]

use calstore::{ErrorKind, Period};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    match Period::from_line(line) {
        Ok(p) => {
            for with_attendee in [false, true] {
                let written = p.to_line(with_attendee);
                assert!(!written.contains(['\n', '\r']));
                let back = Period::from_line(&written).expect("a written line parses");
                let mut want = p.clone();
                if !with_attendee {
                    want.attendee = None;
                }
                assert!(back.same_details(&want), "{back:?} != {want:?}");
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Corrupt),
    }
});
