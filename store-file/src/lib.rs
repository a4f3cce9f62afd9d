//! calstore-file (being written).
#![forbid(unsafe_code)]
