//! calstore-bench: being written.
fn main() {}
