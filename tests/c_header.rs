//! The hand-written C header declares exactly the functions and status codes src/c_api.rs exports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

fn read(p: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap()
}

fn words_after(text: &str, marker: &str) -> BTreeSet<String> {
    text.match_indices(marker)
        .map(|(i, _)| {
            text[i + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .collect()
}

#[test]
fn header_matches_the_exported_symbols() {
    let rust = read("src/c_api.rs");
    let header = read("bindings/c/liveupdate.h");
    let exported = words_after(&rust, "extern \"C\" fn ");
    assert!(exported.len() >= 10, "{exported:?}");
    let declared: BTreeSet<String> = header
        .lines()
        .filter(|l| !l.trim_start().starts_with('*') && !l.trim_start().starts_with("/*"))
        .flat_map(|l| words_after(l, "liveupdate_"))
        .map(|w| format!("liveupdate_{w}"))
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(exported, declared, "header and src/c_api.rs disagree");
    for name in exported {
        assert!(name.starts_with("liveupdate_"), "{name} is not prefixed");
    }
    // Status codes: same names, same values.
    for line in rust.lines().filter(|l| l.contains("pub const LIVEUPDATE_")) {
        let name = line
            .split("const ")
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap();
        let value = line.split('=').nth(1).unwrap().trim().trim_end_matches(';');
        assert!(
            header.contains(&format!("#define {name} {value}")),
            "{name} = {value} missing from the header"
        );
    }
}
