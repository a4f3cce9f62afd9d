//! `decode_component` on any file name: Ok or invalid input, never a panic; every key encodes
//! to one path component that decodes back to it.
#![no_main]

use calstore::id::{decode_component, encode_component};
use calstore::{ErrorKind, Uid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match decode_component(text) {
        Ok(_) => {}
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
    }
    let encoded = encode_component(text);
    assert!(!encoded.contains('/') && !encoded.contains('\0') && !encoded.starts_with('.'));
    assert!(encoded != ".." && encoded != ".");
    assert_eq!(
        decode_component(&encoded).expect("an encoding decodes"),
        text
    );
    if let Ok(uid) = Uid::new(text) {
        assert!(uid.file_name().len() <= calstore::id::MAX_ENCODED_LEN);
        assert_eq!(Uid::from_file_name(&uid.file_name()).expect("decodes"), uid);
    }
});
