//! Delta: a release announced with a manifest installed file by file — planned, reused from the device, the rest fetched in parallel, assembled and published like a zip bundle, with Capgo's manifest stats aggregated.

use std::sync::Arc;
use std::time::Instant;

use super::delta_fetch::{FetchJob, FileFailure, fetch_into_pool};
use super::{Ctx, Fetched, UpdateOutcome, failed, failure_code, refusal};
use crate::delta::{self, DeltaTrust, Source};
use crate::error::{Error, Result};
use crate::net::check::Release;
use crate::net::download::{DeltaFigures, DownloadListener, DownloadStats};
use crate::net::stats::{Action, Event};
use crate::store::{BundleStore, Pool, ReuseSources, index, known::KnownHashes};

/// Files transferred at the same time (Capgo uses 8–64 threads; a handful of connections is
/// enough to fill a phone's link without starving the app's own requests).
pub const DELTA_CONCURRENCY: usize = 6;

/// The stats action and the machine code of a delta failure (Capgo's names).
fn delta_failure(e: &Error) -> (Action, &'static str) {
    match e {
        Error::UnsafeEntry { .. } => (Action::ManifestPathFail, "manifest_path_fail"),
        Error::Manifest(_) => (Action::ManifestPathFail, "manifest_invalid"),
        Error::ChecksumMismatch | Error::ChecksumFormat(_) => {
            (Action::DownloadManifestChecksumFail, "checksum_fail")
        }
        Error::Brotli(_) => (Action::DownloadManifestBrotliFail, "brotli_fail"),
        Error::SessionKey(_) => (Action::SessionKeyRequired, "session_key_required"),
        Error::Decrypt(_) => (Action::DownloadManifestFileFail, "decrypt_fail"),
        Error::MissingIndexHtml => (Action::DownloadManifestFileFail, "unzip_fail"),
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
            (Action::InsufficientDiskSpace, "insufficient_disk_space")
        }
        other => (Action::DownloadManifestFileFail, failure_code(other)),
    }
}

/// The folders a delta release may take files from: the installed bundles (the store's own,
/// linkable), then the builtin folder (copied from, never linked).
fn sources(r: &ReuseSources) -> Vec<Source<'_>> {
    r.bundles
        .iter()
        .map(|(_, d)| Source::store(d))
        .chain(std::iter::once(Source::foreign(&r.builtin)))
        .collect()
}

/// The plan of a manifest release under this app's keys (pure apart from RSA), remembering the
/// signatures it verified.
fn plan_manifest(
    store: &BundleStore,
    allow_insecure: bool,
    entries: &[delta::ManifestEntry],
    session_key: Option<&str>,
) -> Result<delta::Plan> {
    {
        let cfg = store.config();
        let known = KnownHashes::load(store.data_dir());
        let plan = delta::plan(
            entries,
            &DeltaTrust {
                public_key: cfg.public_key.as_ref(),
                older_keys: &cfg.extra_public_keys,
                session_key,
                known: Some(&known),
            },
            &cfg.limits,
            allow_insecure,
        )?;
        // Signatures verified now stay verified: the next plan of an unchanged file (same
        // signed string) needs no RSA operation.
        if let Err(e) = known.remember(store.data_dir(), &plan.verified) {
            log::warn!("cannot keep the verified hashes: {e}");
        }
        Ok(plan)
    }
}

/// [`super::fetch_release`] for a release with a manifest: no zip checksum is needed and
/// the zip `url` is never fetched. The bundle's identity (its `checksum` field, known-bad and
/// reuse key) is the plan's digest. One failure stat names the first failing file; the
/// current and next bundles are never touched. Blocks; network and disk I/O.
pub(super) fn fetch_manifest_release(
    ctx: &Ctx<'_>,
    release: &Release,
    entries: &[delta::ManifestEntry],
    id: Option<&str>,
    deadline: Instant,
    listener: Option<Arc<dyn DownloadListener>>,
) -> Result<std::result::Result<Fetched, UpdateOutcome>> {
    let v = release.version.as_str();
    ctx.stats(vec![Event::new(Action::DownloadManifestStart, v)]);
    let fail = |failure: FileFailure| {
        let (action, code) = delta_failure(&failure.error);
        let name = match &failure.file_name {
            Some(f) => format!("{v}:{f}"),
            None => v.to_string(),
        };
        let message = match &failure.file_name {
            Some(f) => format!("{f}: {}", failure.error),
            None => failure.error.to_string(),
        };
        let mut events = vec![Event::new(action, &name).meta("error", message.as_str())];
        events.push(Event::new(Action::DownloadFail, v).meta("error", code));
        ctx.stats(events);
        failed(code, message)
    };
    let allow_insecure = ctx.registry.http().config().allow_insecure;
    let plan = match plan_manifest(
        ctx.store,
        allow_insecure,
        entries,
        // Without a public key a session key has nothing to be unwrapped with: ignored, as
        // for a zip (update/fetch.rs).
        release
            .session_key
            .as_deref()
            .filter(|_| ctx.config().public_key.is_some()),
    ) {
        Ok(p) => p,
        Err(e) => {
            let file_name = match &e {
                Error::UnsafeEntry { name, .. } => Some(name.clone()),
                _ => None,
            };
            return Ok(Err(fail(FileFailure {
                file_name,
                error: e,
            })));
        }
    };
    if let Some(refused) = refusal(ctx, v, &plan.digest)? {
        return Ok(Err(refused));
    }
    if let Some(existing) = ctx.store.find_installed(v, &plan.digest)? {
        return Ok(Ok(Fetched {
            bundle: existing,
            download: DownloadStats::default(),
            reused: true,
        }));
    }
    if let Some(l) = &listener {
        l.on_start();
    }
    let guard = ctx.store.install_guard()?;
    let reuse = ctx.store.reuse_sources()?;
    let source_refs = sources(&reuse);
    let elsewhere = index::load(ctx.store.data_dir(), &reuse.bundles);
    let pool = Pool::open(&ctx.store.pool_dir())?.with_elsewhere(elsewhere);
    let parts_dir = ctx.store.with_state(|folder, _| folder.downloads_dir())?;
    let cfg = ctx.config();
    let started = Instant::now();
    let installed = ctx.store.install_tree(&guard, v, id, &plan.digest, |dir| {
        delta::assemble(
            &plan,
            &source_refs,
            &pool,
            ctx.registry.hooks().builtin_assets.as_deref(),
            dir,
            cfg.limits.max_bytes,
            |missing, budget, done| {
                let job = FetchJob {
                    http: ctx.registry.http(),
                    parts_dir: &parts_dir,
                    pool: &pool,
                    session_key: plan.session_key.as_ref(),
                    max_body_bytes: cfg.max_download_bytes,
                    plain_budget: budget,
                    attempts: cfg.download_attempts,
                    backoff: ctx.backoff,
                    deadline,
                    cancel: ctx.registry.cancel(),
                    concurrency: DELTA_CONCURRENCY,
                    progress: listener.clone(),
                    files_done_before: done,
                    files_total: plan.files.len(),
                };
                fetch_into_pool(&job, missing)
            },
        )
    });
    drop(guard);
    let (bundle, assembly) = match installed {
        Ok(ok) => ok,
        Err(f) => return Ok(Err(fail(f))),
    };
    // Where this bundle holds each file, for the next release's moved files.
    index::write(
        ctx.store.data_dir(),
        &bundle.id,
        plan.files
            .iter()
            .map(|f| (f.sha256, f.target.parts().join("/"))),
    );
    // The fetched files now live in the bundle (hard links or copies): the pool lets go.
    for f in &plan.files {
        pool.remove(&f.sha256);
    }

    log::info!(
        "delta {v}: {} files, {} reused ({} B), {} fetched ({} B plain, {} B on the wire) in {:.0} ms",
        assembly.files,
        assembly.reused,
        assembly.reused_bytes,
        assembly.fetched,
        assembly.fetch.plain_bytes,
        assembly.fetch.download.network_bytes,
        started.elapsed().as_secs_f64() * 1e3
    );
    ctx.stats(vec![
        Event::new(Action::DownloadManifestComplete, v),
        Event::new(Action::DownloadComplete, v),
    ]);
    let mut download = assembly.fetch.download;
    download.delta = Some(DeltaFigures {
        files: assembly.files as u64,
        reused: assembly.reused as u64,
        fetched: assembly.fetched as u64,
        reused_bytes: assembly.reused_bytes,
        fetched_bytes: assembly.fetch.plain_bytes,
    });
    Ok(Ok(Fetched {
        bundle,
        download,
        reused: false,
    }))
}

/// Capgo's `getMissingBundleFiles`: which manifest entries this device has no verified local
/// copy of (same path in an installed bundle or the builtin folder, or the pool), hashed in
/// place — nothing is written. When the manifest does not plan (bad signature, unsafe path,
/// no session key) every entry counts as missing, as in Capgo. Returns
/// `{missing: [entries], total, missingCount, reusableCount}`. Blocks; disk reads.
pub(crate) fn missing_bundle_files(
    registry: &crate::net::Registry,
    entries: &[delta::ManifestEntry],
    session_key: Option<&str>,
) -> Result<serde_json::Value> {
    let store = registry.store();
    let allow_insecure = registry.http().config().allow_insecure;
    let available = match plan_manifest(store, allow_insecure, entries, session_key) {
        Ok(plan) => {
            let reuse = store.reuse_sources()?;
            let refs = sources(&reuse);
            let elsewhere = index::load(store.data_dir(), &reuse.bundles);
            let pool = Pool::open(&store.pool_dir())
                .ok()
                .map(|p| p.with_elsewhere(elsewhere));
            delta::locate(
                &plan,
                &refs,
                pool.as_ref(),
                registry.hooks().builtin_assets.as_deref(),
            )
        }
        Err(e) => {
            log::info!("getMissingBundleFiles: the manifest does not plan ({e}); all missing");
            vec![false; entries.len()]
        }
    };
    let missing: Vec<serde_json::Value> = entries
        .iter()
        .zip(available.iter())
        .filter(|(_, have)| !**have)
        .map(|(e, _)| e.to_json())
        .collect();
    let total = entries.len();
    Ok(serde_json::json!({
        "missing": missing, "total": total, "missingCount": missing.len(),
        "reusableCount": total - missing.len(),
    }))
}

/// Capgo's `getBundleDownloadSize`: `POST <updateUrl>/manifest_size` (query dropped) with the
/// info object, `version` and `manifest`; the server's answer is read as Capgo's
/// `GetBundleDownloadSizeResult` (typed, capped: `answer.rs`). Any failure gives Capgo's
/// unavailable answer (`totalSize` 0, every file `error: "response_error"`); an empty
/// manifest gives zeros without a request. Blocks; network I/O.
pub(crate) fn bundle_download_size(
    registry: &crate::net::Registry,
    version: Option<&str>,
    manifest: &[delta::ManifestEntry],
) -> Result<serde_json::Value> {
    use serde_json::json;
    if manifest.is_empty() {
        return Ok(json!({"totalSize": 0, "knownFiles": 0, "unknownFiles": 0, "files": []}));
    }
    let unavailable = || {
        let files: Vec<serde_json::Value> = manifest
            .iter()
            .map(|e| {
                let mut e = e.to_json();
                e["error"] = json!("response_error");
                e
            })
            .collect();
        json!({"totalSize": 0, "knownFiles": 0, "unknownFiles": manifest.len(), "files": files})
    };
    let base = registry.store().config().update_url.clone();
    if base.is_empty() {
        return Ok(unavailable());
    }
    let base = base.split(['?', '#']).next().unwrap_or_default();
    let url = format!("{}/manifest_size", base.trim_end_matches('/'));
    let (mut body, _) = registry.info()?;
    if let Some(o) = body.as_object_mut() {
        o.insert("version".into(), json!(version.unwrap_or_default()));
        o.insert(
            "manifest".into(),
            serde_json::Value::Array(manifest.iter().map(|e| e.to_json()).collect()),
        );
    }
    let answer = registry.http().json_until(
        crate::net::http::Method::Post,
        &url,
        Some(&body),
        registry.request_deadline(),
        Some(registry.cancel()),
        crate::net::http::BodyCap::SIZE,
    );
    Ok(match answer {
        Ok(r) if (200..300).contains(&r.status) && !r.truncated => {
            match crate::net::answer::read::<crate::net::answer::SizeAnswer>(&r.body) {
                Ok(a) => a.to_js(),
                Err(_) => unavailable(),
            }
        }
        Ok(_) | Err(_) => unavailable(),
    })
}
