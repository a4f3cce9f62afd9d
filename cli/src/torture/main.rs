//! calstore-torture: being written.
fn main() {}
