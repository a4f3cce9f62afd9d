//! `calstore check`: reads every object, row and line and reports what is corrupt, with its
//! place (`calstore_any::check`); exit 0 only when all is sound.

use anyhow::Result;

use crate::args::Global;
use crate::backend;

pub async fn run(global: &Global) -> Result<u8> {
    let store = backend::open_store(global).await?;
    let journal = backend::open_journal(global).await?;
    let (s, j, p) = backend::locations(global)?;
    println!("store {s}, journal {j}, preferences {p}");
    let spellings = calstore_any::user_spellings(&store).await?;
    let f = calstore_any::check(&store, &journal).await;
    for p in f.problems.iter().chain(&spellings) {
        eprintln!("{p}");
    }
    // Read leniently, not wrong (docs/compatibility.md): listed, and the exit code stays 0.
    for w in &f.warnings {
        eprintln!("warning: {w}");
    }
    // Not a problem: nothing reads them; the cron job removes them (docs/operations.md).
    let left = backend::leftovers(Some(&store), Some(&journal), false).await?;
    if left.files > 0 {
        println!(
            "note: {} temporary files ({} bytes) left by interrupted writes; `make-freebusy --all` removes them",
            left.files, left.bytes
        );
    }
    if f.sound() && spellings.is_empty() {
        println!("checked {} items: all sound", f.checked);
        Ok(crate::exit::OK)
    } else {
        let problems = f.problems.len() + spellings.len();
        println!("checked {} items: {problems} problems", f.checked);
        Ok(crate::exit::DATA)
    }
}
