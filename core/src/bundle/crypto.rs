//! Crypto: the app's public key, the RSA unwrap of the session key, and streamed AES-128-CBC decryption.
//!
//! The trust story in one paragraph: the developer signs (RSA private operation, PKCS#1 v1.5 type-1
//! padding, no DigestInfo) a random 16-byte AES key and the SHA-256 of the plain zip. The app holds only
//! the public key. We recover both with the RSA *public* operation and a strict type-1 unpad, decrypt
//! the zip with AES-128-CBC/PKCS#7 and hash the plaintext in the same pass. The ciphertext has no MAC:
//! integrity comes only from the signed checksum, which is why nothing is unzipped before it matches.

use std::fmt;
use std::io::{Read, Write};

use aes::Aes128;
use base64ct::{Base64, Encoding};
use cbc::cipher::{Array, BlockModeDecrypt, KeyIvInit};
use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};

use crate::error::{Error, Result};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_KEY_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits.
pub const MAX_KEY_BITS: usize = 4096;
/// AES block size in bytes.
const BLOCK: usize = 16;
/// Minimum number of `FF` bytes in a PKCS#1 v1.5 type-1 padding string.
const MIN_FF_PADDING: usize = 8;

/// The developer's RSA public key, as built into the app.
///
/// Parsed from PEM: PKCS#1 (`-----BEGIN RSA PUBLIC KEY-----`, what `capgo key create` writes) or SPKI
/// (`-----BEGIN PUBLIC KEY-----`), 2048 to 4096 bits. Parsing does no I/O.
#[derive(Clone)]
pub struct PublicKey {
    key: RsaPublicKey,
    key_id: String,
    /// The key as PKCS#1 `RSAPublicKey` DER (what `ring` verifies signatures with).
    pkcs1_der: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits())
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl PublicKey {
    /// Parses a PEM public key (PKCS#1 or SPKI, 2048–4096 bits). Any other text, a private
    /// key, or a key of another size is a `Config` error saying which. Pure.
    pub fn from_pem(pem: &str) -> crate::error::PublicResult<Self> {
        Ok(Self::parse_pem(pem)?)
    }

    /// [`PublicKey::from_pem`] with the crate's own error.
    pub(crate) fn parse_pem(pem: &str) -> Result<Self> {
        let canonical = canonical_pem(pem)?;
        let pem = canonical.as_str();
        let key = if pem.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
            RsaPublicKey::from_pkcs1_pem(pem).map_err(|e| {
                Error::PublicKey(format!("cannot parse the PKCS#1 RSA public key: {e}"))
            })?
        } else if pem.starts_with("-----BEGIN PUBLIC KEY-----") {
            RsaPublicKey::from_public_key_pem(pem).map_err(|e| {
                Error::PublicKey(format!(
                    "cannot parse the SPKI public key (is it RSA?): {e}"
                ))
            })?
        } else if pem.contains("PRIVATE KEY-----") {
            return Err(Error::PublicKey(
                "this is a private key; the app must only hold the public key (.capgo_key_v2.pub)"
                    .into(),
            ));
        } else {
            return Err(Error::PublicKey(
                "expected a PEM block starting with -----BEGIN RSA PUBLIC KEY----- or -----BEGIN PUBLIC KEY-----"
                    .into(),
            ));
        };
        let bits = key.n().bits();
        if !(MIN_KEY_BITS..=MAX_KEY_BITS).contains(&bits) {
            return Err(Error::PublicKey(format!(
                "RSA key of {bits} bits; only {MIN_KEY_BITS} to {MAX_KEY_BITS} bits are accepted"
            )));
        }
        let der = key
            .to_pkcs1_der()
            .map_err(|e| Error::PublicKey(format!("cannot encode the key: {e}")))?;
        let body = Base64::encode_string(der.as_bytes());
        let key_id = body.chars().take(20).collect();
        Ok(Self {
            key,
            key_id,
            pkcs1_der: der.as_bytes().to_vec(),
        })
    }

    /// Whether `signature` is this key's RSASSA-PKCS1-v1_5 SHA-256 signature over exactly
    /// `message` (a static channel file's `.sig`; `openssl dgst -sha256 -sign` makes one). Pure.
    pub(crate) fn verifies_pkcs1_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &self.pkcs1_der,
        )
        .verify(message, signature)
        .is_ok()
    }

    /// The Capgo `key_id`: the first 20 characters of the base64 body of the key in PKCS#1 form.
    ///
    /// For a PKCS#1 PEM (what the Capgo CLI makes) this is exactly the first 20 characters of the
    /// PEM body; an SPKI PEM of the same key gives the same id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Size of the modulus in bits.
    pub fn bits(&self) -> usize {
        self.key.n().bits()
    }

    /// Size of the modulus in bytes: the length of every RSA block made with this key.
    pub fn block_len(&self) -> usize {
        self.key.size()
    }

    /// SHA-256 over the modulus and exponent: names this key exactly (cache keys). Pure.
    pub(crate) fn fingerprint(&self) -> [u8; 32] {
        use rsa::traits::PublicKeyParts;
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&self.key.n().to_bytes_be());
        ctx.update(b"/");
        ctx.update(&self.key.e().to_bytes_be());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    /// RSA public operation on `block` followed by strict PKCS#1 v1.5 type-1 unpadding
    /// (`00 01`, at least 8 `FF`, `00`, payload). Returns the payload. Pure computation.
    pub(crate) fn recover(&self, block: &[u8]) -> std::result::Result<Vec<u8>, &'static str> {
        let k = self.block_len();
        if block.len() != k {
            return Err("the RSA block does not have the key's length");
        }
        let c = BigUint::from_bytes_be(block);
        if &c >= self.key.n() {
            return Err("the RSA block is not smaller than the modulus");
        }
        let m =
            rsa::hazmat::rsa_encrypt(&self.key, &c).map_err(|_| "RSA public operation failed")?;
        let m = m.to_bytes_be();
        if m.len() > k {
            return Err("RSA public operation gave an oversized result");
        }
        // to_bytes_be drops leading zeros: left-pad to the modulus length.
        let mut em = vec![0u8; k - m.len()];
        em.extend_from_slice(&m);
        unpad_type1(&em).map(<[u8]>::to_vec)
    }
}

/// Strict PKCS#1 v1.5 type-1 unpadding: `00 01 FF{8,} 00 payload`.
fn unpad_type1(em: &[u8]) -> std::result::Result<&[u8], &'static str> {
    if em.len() < 2 + MIN_FF_PADDING + 1 || em[0] != 0x00 || em[1] != 0x01 {
        return Err("wrong signature padding (not made with this key?)");
    }
    let rest = &em[2..];
    let ff = rest.iter().take_while(|&&b| b == 0xFF).count();
    if ff < MIN_FF_PADDING {
        return Err("wrong signature padding (not made with this key?)");
    }
    match rest.get(ff) {
        Some(0x00) => Ok(&rest[ff + 1..]),
        _ => Err("wrong signature padding (not made with this key?)"),
    }
}

/// A parsed `ivSessionKey` (`base64(iv):base64(rsaBlock)`), not yet unwrapped.
///
/// Parsing is strict: exactly two non-empty parts, standard base64 with padding, a 16-byte IV.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedSessionKey {
    iv: [u8; BLOCK],
    wrapped: Vec<u8>,
}

impl fmt::Debug for WrappedSessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedSessionKey")
            .field("wrapped_len", &self.wrapped.len())
            .finish_non_exhaustive()
    }
}

impl WrappedSessionKey {
    /// Parses the `ivSessionKey` string the server sends. Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let mut parts = text.split(':');
        let (Some(iv), Some(wrapped), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::SessionKey(
                "expected exactly two parts, base64(iv):base64(key)".into(),
            ));
        };
        if iv.is_empty() || wrapped.is_empty() {
            return Err(Error::SessionKey("a part is empty".into()));
        }
        let iv = Base64::decode_vec(iv)
            .map_err(|_| Error::SessionKey("the IV part is not valid base64".into()))?;
        let iv: [u8; BLOCK] = iv.try_into().map_err(|v: Vec<u8>| {
            Error::SessionKey(format!("the IV is {} bytes, expected 16", v.len()))
        })?;
        let wrapped = Base64::decode_vec(wrapped)
            .map_err(|_| Error::SessionKey("the key part is not valid base64".into()))?;
        Ok(Self { iv, wrapped })
    }

    /// Unwraps the AES key with the public key (RSA public operation + strict type-1 unpad).
    /// Fails unless exactly 16 key bytes come out. Pure computation, no I/O.
    pub fn unwrap(&self, key: &PublicKey) -> Result<SessionKey> {
        if self.wrapped.len() != key.block_len() {
            return Err(Error::SessionKey(format!(
                "the wrapped key is {} bytes but the public key is {} bits (made with another key?)",
                self.wrapped.len(),
                key.bits()
            )));
        }
        let payload = key
            .recover(&self.wrapped)
            .map_err(|e| Error::SessionKey(format!("cannot unwrap: {e}")))?;
        let aes_key: [u8; BLOCK] = payload.try_into().map_err(|v: Vec<u8>| {
            Error::SessionKey(format!("unwrapped key is {} bytes, expected 16", v.len()))
        })?;
        Ok(SessionKey {
            iv: self.iv,
            key: aes_key,
        })
    }
}

/// An unwrapped AES-128 session key with its IV: what decrypts one bundle.
#[derive(Clone)]
pub struct SessionKey {
    iv: [u8; BLOCK],
    key: [u8; BLOCK],
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// Builds a session key from raw bytes (tests).
    #[cfg(test)]
    pub fn from_parts(iv: [u8; 16], key: [u8; 16]) -> Self {
        Self { iv, key }
    }
}

/// A seekable reader of the plaintext of an AES-128-CBC file, decrypting on the fly.
///
/// CBC decryption of block `i` needs only ciphertext blocks `i-1` and `i`, so any range can be
/// read without decrypting what precedes it. Clones share the open file and read independently
/// (positional reads), so extraction threads can each hold one. Only used on files whose
/// plaintext already passed the checksum.
#[derive(Clone)]
pub(crate) struct CbcFile {
    file: std::sync::Arc<std::fs::File>,
    key: [u8; BLOCK],
    iv: [u8; BLOCK],
    plain_len: u64,
    pos: u64,
    /// Decrypted window `[buf_start, buf_start + buf.len())` of the plaintext.
    buf: Vec<u8>,
    buf_start: u64,
}

impl CbcFile {
    /// How much to decrypt for a window starting at block-aligned `start`: more while reading on
    /// from the previous window, little after a jump.
    fn window_for(&self, start: u64) -> usize {
        let sequential = !self.buf.is_empty()
            && start == self.buf_start + (self.buf.len() as u64 / BLOCK as u64) * BLOCK as u64;
        if sequential {
            (self.buf.len() * 2).clamp(CBC_MIN_WINDOW, CBC_WINDOW)
        } else {
            CBC_MIN_WINDOW
        }
    }
}

/// Most ciphertext decrypted per window (a multiple of the block size). Windows start at
/// [`CBC_MIN_WINDOW`] after a jump (extraction visits small entries out of order: decrypting
/// 64 KiB for each 300-byte file cost 3× the whole bundle) and double while reads stay sequential.
const CBC_WINDOW: usize = 256 * 1024;
/// The window after a jump.
const CBC_MIN_WINDOW: usize = 4 * 1024;

impl CbcFile {
    pub(crate) fn open(path: &std::path::Path, key: &SessionKey, plain_len: u64) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(Error::io("opening", path))?;
        Ok(Self {
            file: std::sync::Arc::new(file),
            key: key.key,
            iv: key.iv,
            plain_len,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
        })
    }

    /// Decrypts the window that starts at the block holding `pos`.
    fn fill(&mut self, pos: u64) -> std::io::Result<()> {
        let block = pos / BLOCK as u64;
        let start = block * BLOCK as u64;
        let mut prev = self.iv;
        if block > 0 {
            let mut got = 0;
            while got < BLOCK {
                let n = crate::bundle::fs_atomic::read_at(
                    &self.file,
                    &mut prev[got..],
                    start - BLOCK as u64 + got as u64,
                )?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                got += n;
            }
        }
        // The window is a usize already: the remaining length only ever makes it smaller.
        let window = self.window_for(start);
        let want = usize::try_from(self.plain_len - start).map_or(window, |left| left.min(window));
        let whole = want.div_ceil(BLOCK) * BLOCK;
        self.buf.resize(whole, 0);
        let mut got = 0;
        while got < whole {
            let n = crate::bundle::fs_atomic::read_at(
                &self.file,
                &mut self.buf[got..],
                start + got as u64,
            )?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            got += n;
        }
        let mut dec = cbc::Decryptor::<Aes128>::new(&self.key.into(), &prev.into());
        let (blocks, _) = Array::slice_as_chunks_mut(&mut self.buf[..whole]);
        dec.decrypt_blocks(blocks);
        self.buf.truncate(want);
        self.buf_start = start;
        Ok(())
    }
}

impl Read for CbcFile {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.plain_len || out.is_empty() {
            return Ok(0);
        }
        let end = self.buf_start + self.buf.len() as u64;
        if self.pos < self.buf_start || self.pos >= end {
            self.fill(self.pos)?;
        }
        // pos lies inside the buffer (filled just above): the offset fits a usize.
        let from = usize::try_from(self.pos - self.buf_start)
            .map_err(|_| std::io::Error::other("read position outside the buffer"))?;
        let n = out.len().min(self.buf.len().saturating_sub(from));
        out[..n].copy_from_slice(&self.buf[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for CbcFile {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let new = match to {
            std::io::SeekFrom::Start(p) => Some(p),
            std::io::SeekFrom::End(d) => self.plain_len.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = new.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek out of range")
        })?;
        Ok(self.pos)
    }
}

/// Size of the read buffer used when streaming a bundle.
pub(crate) const STREAM_CHUNK: usize = 256 * 1024;

/// Streams `input` through AES-128-CBC decryption (when `key` is given) into `sink`, checking the
/// PKCS#7 padding of the last block. Memory use is bounded by [`STREAM_CHUNK`] whatever the input
/// size. Returns the number of plaintext bytes written. Blocks on `input` and `sink` I/O.
pub(crate) fn decrypt_stream(
    mut input: impl Read,
    key: Option<&SessionKey>,
    sink: &mut impl Write,
    on_read_error: impl Fn(std::io::Error) -> Error,
    on_write_error: impl Fn(std::io::Error) -> Error,
) -> Result<u64> {
    let mut buf = vec![0u8; STREAM_CHUNK];
    let mut total = 0u64;
    let Some(key) = key else {
        loop {
            let n = read_some(&mut input, &mut buf).map_err(&on_read_error)?;
            if n == 0 {
                return Ok(total);
            }
            sink.write_all(&buf[..n]).map_err(&on_write_error)?;
            total += n as u64;
        }
    };
    let mut dec = cbc::Decryptor::<Aes128>::new(&key.key.into(), &key.iv.into());
    // `filled` bytes of `buf` hold ciphertext not yet decrypted. We always keep the last full
    // block back until end of input, because only the final block carries the padding.
    let mut filled = 0usize;
    let mut seen = 0u64;
    loop {
        let n = read_some(&mut input, &mut buf[filled..]).map_err(&on_read_error)?;
        seen += n as u64;
        filled += n;
        let at_end = n == 0;
        if at_end || filled == buf.len() {
            if at_end {
                if seen == 0 {
                    return Err(Error::Decrypt("the encrypted bundle is empty".into()));
                }
                if !filled.is_multiple_of(BLOCK) {
                    return Err(Error::Decrypt(
                        "length is not a multiple of 16 bytes (truncated download?)".into(),
                    ));
                }
            }
            // Decrypt every whole block except the last one (kept for the next round or for unpadding).
            let whole = filled / BLOCK * BLOCK;
            let keep = if at_end { 0 } else { BLOCK.min(whole) };
            let upto = whole - keep;
            let (blocks, _) = Array::slice_as_chunks_mut(&mut buf[..upto]);
            dec.decrypt_blocks(blocks);
            if at_end {
                let Some(last_start) = upto.checked_sub(BLOCK) else {
                    return Err(Error::Decrypt("the encrypted bundle is empty".into()));
                };
                let unpadded = pkcs7_len(&buf[last_start..upto]).ok_or_else(|| {
                    Error::Decrypt("bad padding (wrong key or corrupt data)".into())
                })?;
                let end = last_start + unpadded;
                sink.write_all(&buf[..end]).map_err(&on_write_error)?;
                total += end as u64;
                return Ok(total);
            }
            sink.write_all(&buf[..upto]).map_err(&on_write_error)?;
            total += upto as u64;
            buf.copy_within(upto..filled, 0);
            filled -= upto;
        }
    }
}

/// Length of the data in a final block with strict PKCS#7 padding, or `None` if the padding is bad.
fn pkcs7_len(block: &[u8]) -> Option<usize> {
    let n = usize::from(*block.last()?);
    if n == 0 || n > block.len() {
        return None;
    }
    let start = block.len() - n;
    block[start..]
        .iter()
        .all(|&b| usize::from(b) == n)
        .then_some(start)
}

/// Reads into `buf`, retrying on `Interrupted`; returns 0 only at end of input.
fn read_some(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// A PEM block rewritten in its canonical form: whitespace anywhere inside the base64 body
/// (spaces, tabs, CR/LF, a key pasted on one line) is dropped and the body re-wrapped at 64
/// characters, as Capgo tolerates it; any other character in the body is refused. Text that is
/// not one `-----BEGIN …-----` … `-----END …-----` block is returned trimmed, for the caller's
/// own error. Pure.
fn canonical_pem(pem: &str) -> Result<String> {
    let text = pem.trim();
    let Some(rest) = text.strip_prefix("-----BEGIN ") else {
        return Ok(text.to_string());
    };
    let Some(label_end) = rest.find("-----") else {
        return Ok(text.to_string());
    };
    let label = &rest[..label_end];
    let footer = format!("-----END {label}-----");
    let body_and_footer = &rest[label_end + 5..];
    let Some(body) = body_and_footer.strip_suffix(footer.as_str()) else {
        return Ok(text.to_string());
    };
    let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(bad) = body
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
    {
        return Err(Error::PublicKey(format!(
            "the key's base64 body holds {bad:?}, which is neither base64 nor whitespace"
        )));
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&footer);
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn type1_unpadding_is_strict() {
        let mut em = vec![0x00, 0x01];
        em.extend([0xFF; 8]);
        em.push(0x00);
        em.extend([7u8; 16]);
        assert_eq!(unpad_type1(&em).unwrap(), &[7u8; 16]);
        // Seven FF bytes are not enough.
        let mut short = vec![0x00, 0x01];
        short.extend([0xFF; 7]);
        short.push(0x00);
        short.extend([7u8; 16]);
        assert!(unpad_type1(&short).is_err());
        // Type 2 (encryption padding) is refused.
        let mut t2 = em.clone();
        t2[1] = 0x02;
        assert!(unpad_type1(&t2).is_err());
        // Missing zero separator.
        let all_ff = [&[0u8, 1][..], &[0xFF; 30][..]].concat();
        assert!(unpad_type1(&all_ff).is_err());
    }

    #[test]
    fn pkcs7_rules() {
        let mut b = [0u8; 16];
        b[15] = 1;
        assert_eq!(pkcs7_len(&b), Some(15));
        assert_eq!(pkcs7_len(&[16u8; 16]), Some(0));
        assert_eq!(pkcs7_len(&[0u8; 16]), None);
        assert_eq!(pkcs7_len(&[17u8; 16]), None);
        let mut bad = [3u8; 16];
        bad[14] = 2;
        assert_eq!(pkcs7_len(&bad), None);
    }

    #[test]
    fn cbc_file_reads_any_range_of_the_plaintext() {
        use cbc::cipher::{BlockModeEncrypt, block_padding::Pkcs7};
        use std::io::{Seek, SeekFrom};
        let plain: Vec<u8> = (0..200_003u32).map(|i| (i * 7 % 251) as u8).collect();
        let (key, iv) = ([3u8; 16], [9u8; 16]);
        let cipher = cbc::Encryptor::<Aes128>::new(&key.into(), &iv.into())
            .encrypt_padded_vec::<Pkcs7>(&plain);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        std::fs::write(&path, &cipher).unwrap();
        let sk = SessionKey::from_parts(iv, key);
        let mut r = CbcFile::open(&path, &sk, plain.len() as u64).unwrap();
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, plain);
        for (at, len) in [
            (0usize, 5usize),
            (15, 2),
            (16, 16),
            (65_530, 100),
            (199_990, 100),
            (131_072, 70_000),
        ] {
            let mut r2 = r.clone();
            r2.seek(SeekFrom::Start(at as u64)).unwrap();
            let mut got = vec![0u8; len];
            let n = std::io::Read::read(&mut r2.by_ref().take(len as u64), &mut got).unwrap();
            let want = &plain[at..(at + len).min(plain.len())];
            let mut acc = got[..n].to_vec();
            while acc.len() < want.len() {
                let mut more = vec![0u8; want.len() - acc.len()];
                let m = r2.read(&mut more).unwrap();
                assert!(m > 0);
                acc.extend_from_slice(&more[..m]);
            }
            assert_eq!(acc, want, "at {at}");
        }
    }

    #[test]
    fn session_key_parse_rejects_malformed() {
        for bad in [
            "",
            ":",
            "AAECAwQFBgcICQoLDA0ODw==",
            "AAECAwQFBgcICQoLDA0ODw==:",
            ":AAAA",
            "AAECAwQFBgcICQoLDA0ODw==:AAAA:AAAA",
            "AAECAwQFBgcICQoLDA0O:AAAA",
            "AAECAwQFBgcICQoLDA0ODw==:not base64!",
            "AAECAwQFBgcICQoLDA0ODw:AAAA",
        ] {
            assert!(
                WrappedSessionKey::parse(bad).is_err(),
                "{bad:?} was accepted"
            );
        }
        assert!(WrappedSessionKey::parse("AAECAwQFBgcICQoLDA0ODw==:AAAA").is_ok());
    }
}
