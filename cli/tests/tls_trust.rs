//! Certificate trust: an HTTPS update server on 127.0.0.1 whose certificate comes from a private CA made by the test — refused by default with
//! an error naming the host and the problem (also in the `download_fail` stat), accepted when `SSL_CERT_FILE` points at the CA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use liveupdate_test_support::fault_server::FaultServer;
use liveupdate_test_support::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::{Value, json};

struct Pki {
    ca_pem: String,
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

/// A private CA and a certificate for `names` it signed.
fn private_ca(names: &[&str]) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "liveupdate test private CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        chain: vec![leaf.der().clone(), ca.der().clone()],
        key: rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
    }
}

/// A minimal HTTPS server: `/updates` answers `answer` (with `{base}` replaced by its own URL),
/// `/bundle.zip` serves `bundle`. One request per connection. Returns its base URL.
fn https_server(pki: &Pki, answer: String, bundle: Vec<u8>) -> String {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(pki.chain.clone(), pki.key.clone_key())
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let answer = answer.replace("{base}", &base);
    std::thread::spawn(move || {
        // Bounded by the test process.
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let (config, answer, bundle) = (config.clone(), answer.clone(), bundle.clone());
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(server) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(server, conn);
                let mut reader = BufReader::new(&mut tls);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return; // the client refused the certificate
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                let (ctype, out) = match path.as_str() {
                    "/updates" => ("application/json", answer.into_bytes()),
                    "/bundle.zip" => ("application/zip", bundle),
                    _ => ("application/json", b"{}".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    out.len()
                );
                let _ = tls.write_all(head.as_bytes());
                let _ = tls.write_all(&out);
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    base
}

fn device_update(
    tmp: &Path,
    update_url: &str,
    stats_url: &str,
    ssl_cert_file: Option<&Path>,
) -> (bool, Value, String) {
    let set = capgo_set("set-a-small");
    let www = tmp.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), "<html>builtin</html>").unwrap();
    let config = tmp.join("capacitor.config.json");
    fs::write(
        &config,
        json!({"appId": "com.example.liveupdate", "plugins": {"CapacitorUpdater": {
            "publicKey": set.public_pem, "responseTimeout": 5, "statsUrl": stats_url}}})
        .to_string(),
    )
    .unwrap();
    let mut c = cli_command(env!("CARGO_BIN_EXE_liveupdate"));
    c.args(["device", "--data-dir"])
        .arg(tmp.join("data"))
        .arg("--builtin")
        .arg(&www)
        .arg("--config")
        .arg(&config)
        .args([
            "--native-version",
            "1.0",
            "update",
            "--update-url",
            update_url,
        ])
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    if let Some(f) = ssl_cert_file {
        c.env("SSL_CERT_FILE", f);
    }
    let out = c.output().unwrap();
    (
        out.status.success(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn answer() -> String {
    let set = capgo_set("set-a-small");
    json!({"version": "1.0.1", "url": "{base}/bundle.zip", "session_key": set.session_key,
           "checksum": set.checksum})
    .to_string()
}

#[test]
fn a_private_ca_is_refused_by_default_and_trusted_through_ssl_cert_file() {
    let set = capgo_set("set-a-small");
    let pki = private_ca(&["127.0.0.1", "localhost"]);
    let base = https_server(&pki, answer(), fs::read(&set.encrypted_zip).unwrap());
    let stats = FaultServer::start(Vec::new());
    let tmp = tempfile::tempdir().unwrap();

    // Not trusted: a clear error naming the host and the problem, a non-zero exit.
    let (ok, v, stderr) = device_update(
        &tmp.path().join("a"),
        &format!("{base}/updates"),
        &stats.url("/stats"),
        None,
    );
    assert!(!ok, "an untrusted certificate must fail the update");
    let message = v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("127.0.0.1"), "{message} / {stderr}");
    assert!(message.contains("unknown issuer"), "{message} / {stderr}");
    // The download_fail stat says the same (the stats server is plain loopback http).
    let fail = stats
        .script
        .lock()
        .unwrap()
        .stats
        .iter()
        .find(|e| e["action"] == "download_fail")
        .cloned()
        .expect("a download_fail stat");
    let meta = fail["metadata"]["message"].as_str().unwrap_or_default();
    assert!(meta.contains("unknown issuer"), "{fail}");

    // Trusted through SSL_CERT_FILE: installed.
    let ca = tmp.path().join("private-ca.pem");
    fs::write(&ca, &pki.ca_pem).unwrap();
    let (ok, v, stderr) = device_update(
        &tmp.path().join("b"),
        &format!("{base}/updates"),
        "",
        Some(&ca),
    );
    assert!(ok, "{v} / {stderr}");
    assert_eq!(v["result"], "installed", "{v}");
}

#[test]
fn a_certificate_for_another_name_is_refused_even_from_a_trusted_ca() {
    let set = capgo_set("set-a-small");
    let pki = private_ca(&["updates.example.com"]);
    let base = https_server(&pki, answer(), fs::read(&set.encrypted_zip).unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("private-ca.pem");
    fs::write(&ca, &pki.ca_pem).unwrap();
    let (ok, v, _) = device_update(
        &tmp.path().join("a"),
        &format!("{base}/updates"),
        "",
        Some(&ca),
    );
    assert!(!ok);
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("not valid for the name 127.0.0.1"),
        "{message}"
    );
}

/// A stand-in for the platform's trust manager: trusts chains that end in `ca_der`.
struct AnchorVerifier {
    ca_der: Vec<u8>,
    calls: std::sync::atomic::AtomicUsize,
}

impl liveupdate::CertificateVerifier for AnchorVerifier {
    fn verify(&self, host: &str, chain: &[Vec<u8>]) -> Option<String> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(host, "127.0.0.1");
        if chain.contains(&self.ca_der) {
            None
        } else {
            Some("the chain does not lead to a trusted anchor".into())
        }
    }
}

/// One update by an engine in this process whose options carry `verifier` (`Hooks`).
fn in_process_update(
    tmp: &Path,
    update_url: &str,
    verifier: Arc<dyn liveupdate::CertificateVerifier>,
) -> liveupdate::UpdateOutcome {
    let set = capgo_set("set-a-small");
    let www = tmp.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), "<html>builtin</html>").unwrap();
    let config = liveupdate::Config {
        app_id: "com.example.liveupdate".into(),
        public_key: Some(liveupdate::PublicKey::from_pem(&set.public_pem).unwrap()),
        update_url: update_url.into(),
        stats_url: String::new(),
        response_timeout_s: 5,
        ..liveupdate::Config::default()
    };
    let mut options = liveupdate::EngineOptions {
        config,
        hooks: liveupdate::Hooks {
            certificate_verifier: Some(verifier),
            ..liveupdate::Hooks::default()
        },
        ..liveupdate::EngineOptions::new(tmp.join("data"), &www)
    };
    options.app.native_version = Some("1.0".into());
    liveupdate::Engine::open(options, Arc::new(liveupdate::NoHost))
        .unwrap()
        .update(None)
        .unwrap()
}

/// The app's own verifier (given with the engine's options) decides about the chain.
#[test]
fn the_apps_verifier_decides_trust_and_the_name_is_still_checked() {
    let set = capgo_set("set-a-small");
    let pki = private_ca(&["127.0.0.1"]);
    let base = https_server(&pki, answer(), fs::read(&set.encrypted_zip).unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let ca_der = pki.chain[1].as_ref().to_vec();

    // A verifier whose store holds the CA: installed, and it was asked.
    let trusting = Arc::new(AnchorVerifier {
        ca_der: ca_der.clone(),
        calls: Default::default(),
    });
    let o = in_process_update(
        &tmp.path().join("a"),
        &format!("{base}/updates"),
        trusting.clone(),
    );
    assert!(
        matches!(o, liveupdate::UpdateOutcome::Installed { .. }),
        "{o:?}"
    );
    // (Later connections may resume the verified session without a new certificate.)
    assert!(trusting.calls.load(std::sync::atomic::Ordering::SeqCst) >= 1);

    // A verifier whose store does not: refused with its reason.
    let other = private_ca(&["127.0.0.1"]);
    let refusing = Arc::new(AnchorVerifier {
        ca_der: other.chain[1].as_ref().to_vec(),
        calls: Default::default(),
    });
    let o = in_process_update(&tmp.path().join("b"), &format!("{base}/updates"), refusing);
    let liveupdate::UpdateOutcome::Failed { message, .. } = &o else {
        panic!("{o:?}")
    };
    assert!(
        message.contains("refused by the platform's trust"),
        "{message}"
    );
    assert!(
        message.contains("does not lead to a trusted anchor"),
        "{message}"
    );

    // A trusting verifier cannot let a certificate for another name through.
    let wrong = private_ca(&["updates.example.com"]);
    let base2 = https_server(&wrong, answer(), fs::read(&set.encrypted_zip).unwrap());
    let o = in_process_update(
        &tmp.path().join("c"),
        &format!("{base2}/updates"),
        Arc::new(AnchorVerifier {
            ca_der: wrong.chain[1].as_ref().to_vec(),
            calls: Default::default(),
        }),
    );
    let liveupdate::UpdateOutcome::Failed { message, .. } = &o else {
        panic!("{o:?}")
    };
    assert!(message.contains("not valid for the name"), "{message}");
}
