//! C ABI, certificate trust: the platform's verifier a C host installs (`liveupdate_set_certificate_verifier`).

use super::*;

/// The platform's certificate trust for C hosts (see `liveupdate.h`).
#[repr(C)]
pub struct LiveUpdateCertificateVerifier {
    /// Passed back to `verify`.
    pub user_data: *mut c_void,
    /// Judges a chain: `host`, `count` certificates (DER, leaf first) at `certs[i]` with
    /// `lens[i]` bytes. Returns 1 when trusted, 0 when not (it may then write a NUL-terminated
    /// reason into `reason`, at most `reason_cap` bytes). Called on network threads.
    pub verify: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *const c_char,
            *const *const u8,
            *const usize,
            usize,
            *mut c_char,
            usize,
        ) -> i32,
    >,
}

/// A C verifier, owned by the process-wide slot.
struct CVerifier {
    user_data: *mut c_void,
    verify: unsafe extern "C" fn(
        *mut c_void,
        *const c_char,
        *const *const u8,
        *const usize,
        usize,
        *mut c_char,
        usize,
    ) -> i32,
}

// SAFETY: the header requires `verify` and `user_data` to be usable from any thread (TLS
// handshakes run on network threads); the core never dereferences `user_data` itself.
unsafe impl Send for CVerifier {}
// SAFETY: as above; concurrent calls are allowed by the documented contract.
unsafe impl Sync for CVerifier {}

impl crate::hooks::CertificateVerifier for CVerifier {
    fn verify(&self, host: &str, chain: &[Vec<u8>]) -> Option<String> {
        let Ok(host) = CString::new(host) else {
            return Some("invalid host name".into());
        };
        let ptrs: Vec<*const u8> = chain.iter().map(|c| c.as_ptr()).collect();
        let lens: Vec<usize> = chain.iter().map(Vec::len).collect();
        let mut reason = vec![0u8; 512];
        // SAFETY: every pointer is valid for the call: `host` is NUL-terminated, `ptrs[i]` points
        // at `lens[i]` bytes, `reason` is writable for its length; the callee may not keep them.
        let trusted = unsafe {
            (self.verify)(
                self.user_data,
                host.as_ptr(),
                ptrs.as_ptr(),
                lens.as_ptr(),
                ptrs.len(),
                reason.as_mut_ptr().cast::<c_char>(),
                reason.len(),
            )
        };
        if trusted == 1 {
            return None;
        }
        let end = reason.iter().position(|&b| b == 0).unwrap_or(0);
        let text = String::from_utf8_lossy(&reason[..end]).into_owned();
        Some(if text.is_empty() {
            "the app's verifier did not trust the chain".into()
        } else {
            text
        })
    }
}

/// Makes HTTPS trust what `verifier` trusts, for every client built after this call
/// (process-wide); NULL, or a NULL `verify`, goes back to the operating system's store. The
/// struct is copied. Returns `LIVEUPDATE_OK`.
///
/// # Safety
/// `verifier` is NULL or points at a valid `LiveUpdateCertificateVerifier` whose `verify` and
/// `user_data` stay usable from any thread until replaced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_set_certificate_verifier(
    verifier: *const LiveUpdateCertificateVerifier,
) -> i32 {
    guard(|| {
        // SAFETY: `verifier` is NULL or valid for reads (caller guarantee).
        let v = unsafe { verifier.as_ref() };
        let installed = v.and_then(|v| {
            v.verify.map(|verify| {
                Arc::new(CVerifier {
                    user_data: v.user_data,
                    verify,
                }) as Arc<dyn crate::hooks::CertificateVerifier>
            })
        });
        crate::hooks::set_certificate_verifier(installed);
        Ok(())
    })
}
