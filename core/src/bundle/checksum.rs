//! Checksum: parse the expected checksum (V3, V2 or plain SHA-256), hash the plain zip, and issue the `VerifiedZip`.
//!
//! Forms accepted (Capgo's checksum forms):
//! - **V3**: hex of an RSA block (512 hex chars for RSA-2048) that recovers to the 32 raw SHA-256 bytes.
//! - **V2** (legacy, what the CLI makes when it cannot find the updater): base64 of an RSA block that
//!   recovers to 48 bytes whose base64 encoding is the 64-char hex digest. A base64 block that
//!   recovers to the 32 raw digest bytes (V3's content in base64) is accepted and verified as V3.
//! - **plain**: the 64-char lowercase hex SHA-256 of the zip, for unencrypted bundles only.
//!
//! An 8-hex CRC-32 is refused: it protects against nothing and 8.x devices refuse it too.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding};
use ring::digest;
use subtle::ConstantTimeEq;

use crate::bundle::crypto::{PublicKey, SessionKey};
use crate::error::{Error, Result};

/// Which checksum form a bundle came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumFormat {
    /// RSA-signed raw digest, hex encoded (Capgo updater ≥ x.30 and 8.x).
    V3,
    /// RSA-signed base64-decoded hex digest, base64 encoded (legacy CLI output).
    V2,
    /// Plain lowercase hex SHA-256 (unencrypted bundles).
    Plain,
}

impl ChecksumFormat {
    /// The lowercase name used in JSON output: `v3`, `v2` or `plain`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumFormat::V3 => "v3",
            ChecksumFormat::V2 => "v2",
            ChecksumFormat::Plain => "plain",
        }
    }
}

impl fmt::Display for ChecksumFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the plain zip's SHA-256 must be, recovered from the checksum string.
///
/// Built by [`ExpectedChecksum::parse`]; for signed forms the RSA recovery is done at parse time,
/// so a checksum made with another key is refused before any download byte is processed.
#[derive(Clone, PartialEq, Eq)]
pub struct ExpectedChecksum {
    format: ChecksumFormat,
    /// V3 and plain: the 32 digest bytes. V2: the 48 recovered bytes.
    expected: Vec<u8>,
}

impl fmt::Debug for ExpectedChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExpectedChecksum")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !is_hex(s) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

impl ExpectedChecksum {
    /// Parses a checksum string. With a public key, only the signed forms (V3, V2) are accepted;
    /// without one, only the plain 64-hex SHA-256. Surrounding whitespace is ignored.
    pub fn parse(text: &str, key: Option<&PublicKey>) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::ChecksumFormat(
                "the checksum is empty; every bundle needs one".into(),
            ));
        }
        if text.len() == 8 && is_hex(text) {
            return Err(Error::ChecksumFormat(
                "this is an 8-hex CRC-32 (legacy Capgo); it cannot detect tampering, so it is refused. \
                 Rebuild the bundle with a current Capgo CLI to get a SHA-256 checksum"
                    .into(),
            ));
        }
        let Some(key) = key else {
            if text.len() == 64 && is_hex(text) {
                let expected = decode_hex(&text.to_ascii_lowercase())
                    .ok_or_else(|| Error::ChecksumFormat("not valid hex".into()))?;
                return Ok(Self {
                    format: ChecksumFormat::Plain,
                    expected,
                });
            }
            return Err(Error::ChecksumFormat(
                "expected a 64-hex SHA-256 for an unencrypted bundle (an encrypted checksum needs the public key)"
                    .into(),
            ));
        };
        if text.len() == 64 && is_hex(text) {
            return Err(Error::ChecksumFormat(
                "a plain SHA-256 was given, but with a public key the checksum must be the encrypted one \
                 printed by `bundle encrypt`"
                    .into(),
            ));
        }
        let k = key.block_len();
        let (format, block) = if is_hex(text) {
            let block = decode_hex(text)
                .ok_or_else(|| Error::ChecksumFormat("odd number of hex digits".into()))?;
            (ChecksumFormat::V3, block)
        } else {
            let block = Base64::decode_vec(text)
                .map_err(|_| Error::ChecksumFormat("neither hex (V3) nor base64 (V2)".into()))?;
            (ChecksumFormat::V2, block)
        };
        if block.len() != k {
            return Err(Error::ChecksumFormat(format!(
                "the {} checksum holds {} bytes but the {}-bit key makes {k}-byte blocks (made with another key?)",
                format.as_str().to_uppercase(),
                block.len(),
                key.bits()
            )));
        }
        let expected = key.recover(&block).map_err(|e| {
            Error::ChecksumFormat(format!(
                "cannot decrypt the checksum with the public key: {e}"
            ))
        })?;
        // V3 recovers the 32 digest bytes; V2 the 48 bytes whose base64 is the hex digest. A
        // base64 text that recovers 32 bytes is the V3 content written in base64 (Capgo accepts
        // it): verified exactly as V3.
        let format = match (format, expected.len()) {
            (ChecksumFormat::V3, 32) => ChecksumFormat::V3,
            (ChecksumFormat::V2, 48) => ChecksumFormat::V2,
            (ChecksumFormat::V2, 32) => ChecksumFormat::V3,
            (f, n) => {
                let want = if f == ChecksumFormat::V3 {
                    "32"
                } else {
                    "48 (or 32)"
                };
                return Err(Error::ChecksumFormat(format!(
                    "the decrypted {} checksum is {n} bytes, expected {want}",
                    f.as_str().to_uppercase(),
                )));
            }
        };
        Ok(Self { format, expected })
    }

    /// The form the checksum was given in.
    pub fn format(&self) -> ChecksumFormat {
        self.format
    }

    /// The lowercase hex SHA-256 the plain zip must have (known before any byte is downloaded,
    /// so the update flow can recognise a known-bad or already installed bundle).
    pub fn sha256_hex(&self) -> String {
        match self.format {
            ChecksumFormat::V2 => Base64::encode_string(&self.expected).to_ascii_lowercase(),
            _ => to_hex(&self.expected),
        }
    }

    /// The 32 digest bytes for the V3 and plain forms (`None` for V2, whose recovered bytes are
    /// compared through their base64 text). Delta manifests use these per file.
    pub fn sha256(&self) -> Option<[u8; 32]> {
        match self.format {
            ChecksumFormat::V3 | ChecksumFormat::Plain => self.expected.as_slice().try_into().ok(),
            ChecksumFormat::V2 => None,
        }
    }

    /// Compares (in constant time) with the SHA-256 of the plain zip.
    fn matches(&self, digest: &[u8; 32]) -> bool {
        match self.format {
            ChecksumFormat::V3 | ChecksumFormat::Plain => {
                bool::from(self.expected.as_slice().ct_eq(digest.as_slice()))
            }
            ChecksumFormat::V2 => {
                // The legacy device base64-encodes the recovered bytes and compares with the hex digest.
                let recovered = Base64::encode_string(&self.expected);
                bool::from(recovered.as_bytes().ct_eq(to_hex(digest).as_bytes()))
            }
        }
    }
}

/// A `Write` adapter that hashes everything written through it with SHA-256 (`ring`).
pub(crate) struct HashingWriter<W> {
    inner: W,
    ctx: digest::Context,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            ctx: digest::Context::new(&digest::SHA256),
        }
    }

    /// Returns the inner writer and the SHA-256 of what went through.
    pub(crate) fn finish(self) -> (W, [u8; 32]) {
        let d = self.ctx.finish();
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        (self.inner, out)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.ctx.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A plain zip file on disk whose SHA-256 matched the expected checksum.
///
/// Only the checksum step (`checksum::verify`, `checksum::verify_encrypted`) makes one, so the unzip step
/// cannot be handed bytes that did not pass the checksum.
#[derive(Debug)]
pub struct VerifiedZip {
    path: PathBuf,
    sha256: [u8; 32],
    format: ChecksumFormat,
    /// For a file that holds the ciphertext: the key and the plaintext length (the zip is read
    /// through an on-the-fly CBC decryptor, so no plaintext copy is ever written).
    cipher: Option<(SessionKey, u64)>,
}

impl VerifiedZip {
    /// The verified zip file.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Lowercase hex SHA-256 of the zip.
    pub fn sha256_hex(&self) -> String {
        to_hex(&self.sha256)
    }
    /// The checksum form that verified it.
    pub fn format(&self) -> ChecksumFormat {
        self.format
    }
    /// The session key and plaintext length when the file holds the ciphertext.
    pub(crate) fn cipher(&self) -> Option<&(SessionKey, u64)> {
        self.cipher.as_ref()
    }
}

/// Checks the digest of the zip at `path` (computed while it was written) against `expected`.
/// The file must not change afterwards: it lives in a private staging folder.
pub(crate) fn verify(
    path: PathBuf,
    digest: [u8; 32],
    expected: &ExpectedChecksum,
) -> Result<VerifiedZip> {
    if !expected.matches(&digest) {
        return Err(Error::ChecksumMismatch);
    }
    Ok(VerifiedZip {
        path,
        sha256: digest,
        format: expected.format,
        cipher: None,
    })
}

/// Like [`verify`] for a file holding the AES-128-CBC ciphertext of the zip, whose plaintext
/// (`plain_len` bytes, hashed while it streamed by) has `digest`.
pub(crate) fn verify_encrypted(
    path: PathBuf,
    digest: [u8; 32],
    expected: &ExpectedChecksum,
    key: SessionKey,
    plain_len: u64,
) -> Result<VerifiedZip> {
    let mut v = verify(path, digest, expected)?;
    v.cipher = Some((key, plain_len));
    Ok(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(to_hex(&[0, 15, 255]), "000fff");
        assert_eq!(decode_hex("000fff"), Some(vec![0, 15, 255]));
        assert_eq!(decode_hex("0g"), None);
        assert_eq!(decode_hex("abc"), None);
    }

    #[test]
    fn plain_checksum_rules() {
        let sha = "ea25bad8cc2a419f7db7afb28f50a41e627934f193f675030493322123734a48";
        let c = ExpectedChecksum::parse(sha, None).unwrap();
        assert_eq!(c.format(), ChecksumFormat::Plain);
        let upper = sha.to_uppercase();
        assert_eq!(ExpectedChecksum::parse(&upper, None).unwrap(), c);
        let crc = ExpectedChecksum::parse("4f4b3f1d", None).unwrap_err();
        assert!(crc.to_string().contains("CRC-32"), "{crc}");
        assert!(ExpectedChecksum::parse("", None).is_err());
        assert!(ExpectedChecksum::parse(&sha[..62], None).is_err());
    }
}
