//! The hand-written C header declares exactly the functions, prototypes, callback struct and status
//! codes that core/src/api/c_api.rs exports: every parameter type and return type is compared.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

/// The C ABI's source: `core/src/api/c_api.rs` and its step files.
fn c_api_source() -> String {
    [
        "src/api/c_api.rs",
        "src/api/c_api/engine.rs",
        "src/api/c_api/transport.rs",
        "src/api/c_api/trust.rs",
    ]
    .iter()
    .map(|p| read(p))
    .collect::<Vec<_>>()
    .join("\n")
}

fn read(p: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap()
}

/// A Rust FFI type as C spells it (`*const c_char` → `const char *`).
fn c_type(rust: &str) -> String {
    let t = rust.trim();
    if let Some(inner) = t.strip_prefix("*const ") {
        let inner = c_type(inner);
        return if inner.ends_with('*') {
            format!("{inner} const *")
        } else {
            format!("const {inner} *")
        };
    }
    if let Some(inner) = t.strip_prefix("*mut ") {
        let inner = c_type(inner);
        return if inner.ends_with('*') {
            format!("{inner}*")
        } else {
            format!("{inner} *")
        };
    }
    match t {
        "c_char" => "char".into(),
        "c_void" => "void".into(),
        "i32" => "int32_t".into(),
        "u32" => "uint32_t".into(),
        "u64" => "uint64_t".into(),
        other => other.into(),
    }
}

/// Normalises C type text: single spaces, `*` glued (`char * *` → `char **`).
fn norm(c: &str) -> String {
    let spaced = c.replace('*', " * ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut out = String::new();
    for w in words {
        if w == "*" {
            if !out.ends_with('*') {
                out.push(' ');
            }
            out.push('*');
        } else {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(w);
        }
    }
    out
}

/// `name → (return type, parameter types)` of every `extern "C" fn` in the Rust source.
fn rust_prototypes(src: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    for (i, _) in src.match_indices("extern \"C\" fn ") {
        let rest = &src[i + "extern \"C\" fn ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let open = rest.find('(').unwrap();
        // Parameters end at the matching parenthesis.
        let mut depth = 0;
        let mut close = open;
        for (j, ch) in rest[open..].char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let params_text = &rest[open + 1..close];
        let params: Vec<String> = params_text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| norm(&c_type(p.split_once(':').unwrap().1)))
            .collect();
        let after = rest[close + 1..].trim_start();
        let ret = if let Some(r) = after.strip_prefix("->") {
            norm(&c_type(r.split('{').next().unwrap()))
        } else {
            "void".into()
        };
        out.insert(name, (ret, params));
    }
    out
}

/// The same for every `liveupdate_*` prototype in the header.
fn header_prototypes(h: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    for line in h.lines() {
        let l = line.trim();
        if l.starts_with('*') || l.starts_with("/*") || !l.ends_with(");") {
            continue;
        }
        let Some(at) = l.find("liveupdate_") else {
            continue;
        };
        let Some(open) = l[at..].find('(').map(|o| at + o) else {
            continue;
        };
        let name = l[at..open].to_string();
        let ret = norm(&l[..at]);
        let params_text = &l[open + 1..l.len() - 2];
        let params: Vec<String> = if params_text.trim() == "void" {
            Vec::new()
        } else {
            params_text
                .split(',')
                .map(|p| {
                    // Drop the parameter name (the last word, after the last `*` or space).
                    let p = p.trim();
                    let cut = p.rfind(['*', ' ']).unwrap();
                    norm(&p[..=cut])
                })
                .collect()
        };
        out.insert(name, (ret, params));
    }
    out
}

#[test]
fn header_prototypes_match_the_exported_functions() {
    let rust = rust_prototypes(&c_api_source());
    let header = header_prototypes(&read("../bindings/c/liveupdate.h"));
    assert!(rust.len() >= 25, "{rust:?}");
    let names = |m: &BTreeMap<String, _>| m.keys().cloned().collect::<Vec<String>>();
    assert_eq!(
        names(&rust),
        names(&header),
        "header and src/api/c_api.rs name different functions"
    );
    for (name, proto) in &rust {
        assert!(name.starts_with("liveupdate_"), "{name} is not prefixed");
        assert_eq!(Some(proto), header.get(name), "prototype of {name}");
    }
    // The eleven functions hosts already call keep their signatures.
    let stable = [
        (
            "liveupdate_create",
            "int32_t",
            "const char *, LiveUpdate **",
        ),
        ("liveupdate_free", "void", "LiveUpdate *"),
        (
            "liveupdate_launch",
            "int32_t",
            "const LiveUpdate *, char **",
        ),
        (
            "liveupdate_notify_ready",
            "int32_t",
            "const LiveUpdate *, const char *, char **",
        ),
        (
            "liveupdate_update",
            "int32_t",
            "const LiveUpdate *, char **",
        ),
        ("liveupdate_cancel", "int32_t", "const LiveUpdate *"),
        ("liveupdate_list", "int32_t", "const LiveUpdate *, char **"),
        (
            "liveupdate_reset",
            "int32_t",
            "const LiveUpdate *, int32_t, char **",
        ),
        ("liveupdate_last_error", "const char *", ""),
        ("liveupdate_string_free", "void", "char *"),
        ("liveupdate_version", "const char *", ""),
    ];
    for (name, ret, params) in stable {
        let (r, p) = &rust[name];
        assert_eq!(
            (r.as_str(), p.join(", ")),
            (ret, params.to_string()),
            "{name}"
        );
    }
}

#[test]
fn callback_struct_and_status_codes_match() {
    let rust = c_api_source();
    let header = read("../bindings/c/liveupdate.h");
    for field in [
        "void *user_data;",
        "void (*on_event)(void *user_data, const char *name, const char *data_json);",
        "void (*on_host_action)(void *user_data, const char *action_json);",
    ] {
        assert!(header.contains(field), "{field} missing from the header");
    }
    assert!(rust.contains("#[repr(C)]\npub struct LiveUpdateHostCallbacks"));
    for field in [
        "pub user_data: *mut c_void",
        "pub on_event:",
        "pub on_host_action:",
    ] {
        assert!(rust.contains(field), "{field}");
    }
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
