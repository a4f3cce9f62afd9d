//! calstore-postgres (being written).
#![forbid(unsafe_code)]
