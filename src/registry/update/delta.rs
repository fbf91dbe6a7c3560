//! Delta: a release announced with a manifest installed file by file — planned, reused from the device, the rest fetched in parallel, assembled and published like a zip bundle, with Capgo's manifest stats aggregated.

use std::sync::Arc;
use std::time::Instant;

use super::{Fetched, UpdateOutcome, Updater, failed, failure_code};
use crate::check::Release;
use crate::delta::{self, DeltaTrust, FetchJob, FileFailure, Pool};
use crate::download::{DeltaFigures, DownloadListener, DownloadStats};
use crate::error::{Error, Result};
use crate::stats::{Action, Event};

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

impl Updater {
    /// The plan of a manifest release under this app's keys (pure apart from RSA).
    pub(crate) fn plan_manifest(
        &self,
        entries: &[delta::ManifestEntry],
        session_key: Option<&str>,
    ) -> Result<delta::Plan> {
        let cfg = self.config();
        let known = delta::KnownHashes::load(self.device.data_dir());
        let plan = delta::plan(
            entries,
            &DeltaTrust {
                public_key: cfg.public_key.as_ref(),
                older_keys: &cfg.extra_public_keys,
                session_key,
                known: Some(&known),
            },
            &cfg.limits,
            self.http.config().allow_insecure,
        )?;
        // Signatures verified now stay verified: the next plan of an unchanged file (same
        // signed string) needs no RSA operation.
        if let Err(e) = known.remember(self.device.data_dir(), &plan.verified) {
            log::warn!("cannot keep the verified hashes: {e}");
        }
        Ok(plan)
    }

    /// [`Updater::fetch_release`] for a release with a manifest: no zip checksum is needed and
    /// the zip `url` is never fetched. The bundle's identity (its `checksum` field, known-bad and
    /// reuse key) is the plan's digest. One failure stat names the first failing file; the
    /// current and next bundles are never touched. Blocks; network and disk I/O.
    pub(super) fn fetch_manifest_release(
        &self,
        release: &Release,
        entries: &[delta::ManifestEntry],
        id: Option<&str>,
        deadline: Instant,
        listener: Option<Arc<dyn DownloadListener>>,
    ) -> Result<std::result::Result<Fetched, UpdateOutcome>> {
        let v = release.version.as_str();
        self.record(&[Event::new(Action::DownloadManifestStart, v)]);
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
            self.record(&events);
            failed(code, message)
        };
        let plan = match self.plan_manifest(entries, release.session_key.as_deref()) {
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
        if let Some(refused) = self.refusal(v, &plan.digest)? {
            return Ok(Err(refused));
        }
        if let Some(existing) = self.device.find_installed(v, &plan.digest)? {
            return Ok(Ok(Fetched {
                bundle: existing,
                download: DownloadStats::default(),
                reused: true,
            }));
        }
        let guard = self.device.install_guard()?;
        let sources = self.device.reuse_sources()?;
        let source_refs = sources.dirs();
        let elsewhere = delta::index::load(self.device.data_dir(), &sources.bundles);
        let pool = Pool::open(&self.device.pool_dir())?.with_elsewhere(elsewhere);
        let parts_dir = self.device.with_store(|store, _| store.downloads_dir())?;
        let cfg = self.config();
        let started = Instant::now();
        let installed = self
            .device
            .install_tree(&guard, v, id, &plan.digest, |dir| {
                delta::assemble(
                    &plan,
                    &source_refs,
                    &pool,
                    dir,
                    cfg.limits.max_bytes,
                    |missing, budget, done| {
                        let job = FetchJob {
                            http: &self.http,
                            parts_dir: &parts_dir,
                            pool: &pool,
                            session_key: plan.session_key.as_ref(),
                            max_body_bytes: cfg.max_download_bytes,
                            plain_budget: budget,
                            attempts: cfg.download_attempts,
                            backoff: self.backoff,
                            deadline,
                            cancel: &self.cancel,
                            concurrency: DELTA_CONCURRENCY,
                            progress: listener.clone(),
                            files_done_before: done,
                            files_total: plan.files.len(),
                        };
                        delta::fetch_into_pool(&job, missing)
                    },
                )
            });
        drop(guard);
        let (bundle, assembly) = match installed {
            Ok(ok) => ok,
            Err(f) => return Ok(Err(fail(f))),
        };
        // Where this bundle holds each file, for the next release's moved files.
        delta::index::write(self.device.data_dir(), &bundle.id, &plan);
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
        self.record(&[
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
}

impl Updater {
    /// Capgo's `getMissingBundleFiles`: which manifest entries this device has no verified local
    /// copy of (same path in an installed bundle or the builtin folder, or the pool), hashed in
    /// place — nothing is written. When the manifest does not plan (bad signature, unsafe path,
    /// no session key) every entry counts as missing, as in Capgo. Returns
    /// `{missing: [entries], total, missingCount, reusableCount}`. Blocks; disk reads.
    pub fn missing_bundle_files(
        &self,
        entries: &[delta::ManifestEntry],
        session_key: Option<&str>,
    ) -> Result<serde_json::Value> {
        let available = match self.plan_manifest(entries, session_key) {
            Ok(plan) => {
                let sources = self.device.reuse_sources()?;
                let refs = sources.dirs();
                let elsewhere = delta::index::load(self.device.data_dir(), &sources.bundles);
                let pool = Pool::open(&self.device.pool_dir())
                    .ok()
                    .map(|p| p.with_elsewhere(elsewhere));
                delta::locate(&plan, &refs, pool.as_ref())
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
    pub fn bundle_download_size(
        &self,
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
        let base = self.config().update_url.clone();
        if base.is_empty() {
            return Ok(unavailable());
        }
        let base = base.split(['?', '#']).next().unwrap_or_default();
        let url = format!("{}/manifest_size", base.trim_end_matches('/'));
        let (mut body, _) = self.info()?;
        if let Some(o) = body.as_object_mut() {
            o.insert("version".into(), json!(version.unwrap_or_default()));
            o.insert(
                "manifest".into(),
                serde_json::Value::Array(manifest.iter().map(|e| e.to_json()).collect()),
            );
        }
        let answer = self.http.json_until(
            crate::http::Method::Post,
            &url,
            Some(&body),
            self.request_deadline(),
            Some(&self.cancel),
            crate::http::BodyCap::SIZE,
        );
        Ok(match answer {
            Ok(r) if (200..300).contains(&r.status) && !r.truncated => {
                match crate::registry::answer::read::<crate::registry::answer::SizeAnswer>(&r.body)
                {
                    Ok(a) => a.to_js(),
                    Err(_) => unavailable(),
                }
            }
            Ok(_) | Err(_) => unavailable(),
        })
    }
}
