//! Build script: packs the shared library's relative relocations (the largest part of its dynamic relocation table), a smaller file that loads faster.
//!
//! Linux (glibc ≥ 2.36, binutils ≥ 2.38): `-z pack-relative-relocs` (DT_RELR), −217 KB on the
//! x86_64 library. Android: `--pack-dyn-relocs=android`, which every Android since 6.0 (API 23)
//! loads; the build script targets API 24. Apple linkers already chain fixups. Set
//! `LIVEUPDATE_NO_RELR=1` to link without it (an older toolchain or glibc).

fn main() {
    println!("cargo:rerun-if-env-changed=LIVEUPDATE_NO_RELR");
    if std::env::var_os("LIVEUPDATE_NO_RELR").is_some() {
        return;
    }
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    match (os.as_str(), env.as_str()) {
        ("linux", "gnu") => println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs"),
        ("android", _) => println!("cargo:rustc-cdylib-link-arg=-Wl,--pack-dyn-relocs=android"),
        _ => {}
    }
}
