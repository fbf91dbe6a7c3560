//! Replays every committed fuzz corpus input (fuzz/corpus/TARGET/*) through its target's body, so
//! what the fuzzers found interesting stays covered by the regular tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../fuzz/targets.rs"]
mod targets;

#[test]
fn every_corpus_input_replays_without_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut total = 0;
    for (name, run) in targets::ALL {
        let dir = root.join(name);
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            run(&std::fs::read(&path).unwrap());
            n += 1;
        }
        assert!(n > 0, "no corpus for {name}");
        total += n;
    }
    println!("replayed {total} corpus inputs");
}
