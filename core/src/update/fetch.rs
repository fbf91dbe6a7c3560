//! Fetch: a zip release downloaded, decrypted and hashed as it arrives, verified against its signed checksum, and installed as a new `pending` bundle — or found installed already.

use std::sync::Arc;
use std::time::Instant;

use super::{Ctx, Fetched, UpdateOutcome, failed, failure_action, failure_code, refusal, sanitize};
use crate::bundle::unpack::{self, BundleTrust};
use crate::error::{Error, Result};
use crate::net::check::Release;
use crate::net::download::{self, DownloadJob, DownloadListener, DownloadStats};
use crate::net::stats::{Action, Event};

/// Downloads, verifies and installs `release` as a new `pending` bundle (or finds an installed
/// copy of the same version and checksum), without activating it. `id` names the new bundle
/// (a random one when `None`). Download stats (`download_zip_start`, `download_complete`,
/// failures) are queued here. `Ok(Err(outcome))` is a refused or failed update whose
/// `UpdateOutcome::Failed` says why; the current bundle is untouched. Blocks; network I/O.
pub(crate) fn fetch_release(
    ctx: &Ctx<'_>,
    release: &Release,
    id: Option<&str>,
    deadline: Instant,
    listener: Option<Arc<dyn DownloadListener>>,
) -> Result<std::result::Result<Fetched, UpdateOutcome>> {
    let v = release.version.as_str();
    // A configured public key that does not parse refuses every update (never "no key").
    if let Some(problem) = &ctx.config().key_problem {
        ctx.stats(vec![
            Event::new(Action::DownloadFail, v).meta("error", "bad_public_key"),
        ]);
        return Ok(Err(failed(
            "bad_public_key",
            format!(
                "the app's public key is unusable ({problem}): fix publicKey in capacitor.config.json"
            ),
        )));
    }
    // An unusable label ("builtin ", blank, 300 characters) is refused before any transfer.
    if let Err(e) = crate::store::bundles::parse_version(v) {
        ctx.stats(vec![
            Event::new(Action::DownloadFail, v).meta("error", "invalid_version"),
        ]);
        return Ok(Err(failed("invalid_version", e.to_string())));
    }
    // A manifest makes it a delta release: the zip (and its checksum) is not used at all.
    match release.manifest.entries() {
        Ok(Some(entries)) => {
            return super::delta::fetch_manifest_release(
                ctx, release, entries, id, deadline, listener,
            );
        }
        Ok(None) => {}
        Err(why) => {
            let e = Error::Manifest(why);
            ctx.stats(vec![
                Event::new(Action::ManifestPathFail, v).meta("error", e.to_string()),
                Event::new(Action::DownloadFail, v).meta("error", "manifest_invalid"),
            ]);
            return Ok(Err(failed("manifest_invalid", e.to_string())));
        }
    }
    // Capgo 8's rules, naming who left what out (the server's answer or the app's download()):
    // a zip needs a checksum; an app with a public key needs the session key too.
    if release.checksum.trim().is_empty() {
        ctx.stats(vec![
            Event::new(Action::ChecksumRequired, v),
            Event::new(Action::DownloadFail, v).meta("error", "checksum_required"),
        ]);
        return Ok(Err(failed(
            "checksum_required",
            format!(
                "Checksum required: {}",
                release.origin.missing("checksum", "checksum")
            ),
        )));
    }
    let public_key = ctx.config().public_key.as_ref();
    if public_key.is_some() && release.session_key.is_none() {
        ctx.stats(vec![
            Event::new(Action::SessionKeyRequired, v),
            Event::new(Action::DownloadFail, v).meta("error", "session_key_required"),
        ]);
        return Ok(Err(failed(
            "session_key_required",
            format!(
                "Session key required when public key is present: {}",
                release.origin.missing("session_key", "sessionKey")
            ),
        )));
    }
    // Without a public key there is nothing to unwrap a session key with: like Capgo, it is
    // ignored and the file must be the plain zip whose SHA-256 the checksum is.
    let session_key = match (public_key, release.session_key.as_deref()) {
        (None, Some(_)) => {
            log::warn!(
                "version {v}: a session key came without a public key in the app; it is ignored \
                 and the bundle must be an unencrypted zip matching its plain SHA-256"
            );
            None
        }
        (_, s) => s,
    };
    let trust = BundleTrust {
        public_key,
        session_key,
        checksum: &release.checksum,
    };
    let parsed = match trust.parse_with_keys(&ctx.config().extra_public_keys) {
        Ok(p) => p,
        Err(e) => {
            ctx.stats(vec![
                Event::new(failure_action(&e), v),
                Event::new(Action::DownloadFail, v).meta("error", failure_code(&e)),
            ]);
            return Ok(Err(failed(failure_code(&e), e.to_string())));
        }
    };
    let sha = parsed.expected_sha256_hex();
    if let Some(refused) = refusal(ctx, v, &sha)? {
        return Ok(Err(refused));
    }
    if let Some(existing) = ctx.store.find_installed(v, &sha)? {
        return Ok(Ok(Fetched {
            bundle: existing,
            download: DownloadStats::default(),
            reused: true,
        }));
    }
    ctx.stats(vec![Event::new(Action::DownloadZipStart, v)]);
    if let Some(l) = &listener {
        l.on_start();
    }
    let dir = ctx.store.with_state(|folder, _| folder.downloads_dir())?;
    let key = format!("{}-{}", sanitize(v), &sha[..16.min(sha.len())]);
    let job = DownloadJob {
        http: ctx.registry.http(),
        url: &release.url,
        dir: &dir,
        key: &key,
        max_bytes: ctx.config().max_download_bytes,
        attempts: ctx.config().download_attempts,
        backoff: ctx.backoff,
        deadline,
        cancel: ctx.registry.cancel(),
        listener,
    };
    // Held for the download and the install, so no sweep removes the partial file meanwhile.
    let guard = ctx.store.install_guard()?;
    let fetch_started = Instant::now();
    // The network thread keeps the ciphertext on disk; this thread decrypts it as it arrives
    // and another hashes it (the two passes overlap), writing no plaintext. Only a verified
    // file is then read as a zip, through an on-the-fly decryptor.
    let result = download::fetch_with(&job, |reader, _| unpack::hash_stream(reader, &parsed))
        .and_then(|((digest, plain_len), stats)| {
            let part = download::part_path(&dir, &key);
            let verified = unpack::verify_file(part, digest, plain_len, &parsed)
                .inspect_err(|_| download::discard(&dir, &key))?;
            let installed = ctx.store.install_verified(&guard, &verified, v, id);
            download::discard(&dir, &key);
            Ok((installed?, stats))
        });
    drop(guard);
    let (bundle, stats) = match result {
        Ok(ok) => ok,
        Err(e) => {
            let action = failure_action(&e);
            let mut events = vec![Event::new(action, v).meta("error", e.to_string())];
            if action != Action::DownloadFail {
                events.push(Event::new(Action::DownloadFail, v));
            }
            ctx.stats(events);
            return Ok(Err(failed(failure_code(&e), e.to_string())));
        }
    };
    log::debug!(
        "update: download+install {:.1} ms",
        fetch_started.elapsed().as_secs_f64() * 1e3
    );
    ctx.stats(vec![Event::new(Action::DownloadComplete, v)]);
    Ok(Ok(Fetched {
        bundle,
        download: stats,
        reused: false,
    }))
}
