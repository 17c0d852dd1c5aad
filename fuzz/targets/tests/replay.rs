//! Replays every committed corpus file through its target on the stable
//! toolchain, so the targets and their corpora never rot.

use std::path::Path;

#[test]
fn every_corpus_file_runs_through_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let mut total = 0;
    for (name, target) in sealshare_fuzz_targets::TARGETS {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut count = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            target(&data);
            count += 1;
        }
        assert!(count > 0, "target {name} has no corpus");
        total += count;
    }
    println!("replayed {total} corpus files");
}
