//! C ABI, HTTP transport: the app's own HTTP stack a C host installs (`liveupdate_set_http_transport`), for builds without the built-in client.

use super::*;

/// Most header bytes a C transport may hand back for one answer.
const HEAD_CAP: usize = 64 * 1024;

/// Signature of `LiveUpdateHttpTransport::send`.
type SendFn = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    *const u8,
    usize,
    *mut u64,
    *mut u16,
    *mut c_char,
    usize,
) -> i32;
/// Signature of `LiveUpdateHttpTransport::read`.
type ReadFn = unsafe extern "C" fn(*mut c_void, u64, *mut u8, usize) -> i64;
/// Signature of `LiveUpdateHttpTransport::close`.
type CloseFn = unsafe extern "C" fn(*mut c_void, u64);

/// The app's HTTP stack for C hosts (see `liveupdate.h`).
#[repr(C)]
pub struct LiveUpdateHttpTransport {
    /// Passed back to every callback.
    pub user_data: *mut c_void,
    /// Sends a request (`request_json`: method, url, headers as `[name, value]` pairs,
    /// timeout_ms; `body`/`body_len`: the JSON body or NULL/0). Returns 1 and writes the answer's
    /// id, its status and its headers (a NUL-terminated JSON array of `[name, value]` pairs, at
    /// most `head_cap` bytes) into `head`; or 0 with a NUL-terminated reason in `head`.
    pub send: Option<SendFn>,
    /// Reads up to `cap` body bytes of answer `id` into `buf`: the count (0 at the end), or -1
    /// with a NUL-terminated reason in `buf`.
    pub read: Option<ReadFn>,
    /// The core is done with answer `id`.
    pub close: Option<CloseFn>,
}

/// A C transport, owned by the process-wide slot.
struct CTransport {
    user_data: *mut c_void,
    send: SendFn,
    read: ReadFn,
    close: CloseFn,
}

// SAFETY: the header requires the callbacks and `user_data` to be usable from any thread, several
// calls at once (requests run on network threads); the core never dereferences `user_data`.
unsafe impl Send for CTransport {}
// SAFETY: as above.
unsafe impl Sync for CTransport {}

/// The NUL-terminated text at the start of `buf` (lossy UTF-8), or `fallback` when empty.
fn text_in(buf: &[u8], fallback: &str) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    if text.is_empty() {
        fallback.to_string()
    } else {
        text
    }
}

impl crate::hooks::HttpTransport for CTransport {
    fn send(
        &self,
        request: crate::hooks::TransportRequest,
    ) -> std::result::Result<crate::hooks::TransportHead, String> {
        let json = json!({
            "method": request.method,
            "url": request.url,
            "headers": request.headers,
            "timeout_ms": u64::try_from(request.timeout.as_millis()).unwrap_or(u64::MAX),
        })
        .to_string();
        let json = CString::new(json).map_err(|_| "invalid request".to_string())?;
        let body = request.body.unwrap_or_default();
        let (mut id, mut status) = (0u64, 0u16);
        let mut head = vec![0u8; HEAD_CAP];
        // SAFETY: every pointer is valid for the call: `json` is NUL-terminated, `body` has
        // `body.len()` bytes (a dangling but aligned pointer when empty, never read then), `id`,
        // `status` and `head` (HEAD_CAP bytes) are writable; the callee may not keep them.
        let ok = unsafe {
            (self.send)(
                self.user_data,
                json.as_ptr(),
                body.as_ptr(),
                body.len(),
                &mut id,
                &mut status,
                head.as_mut_ptr().cast::<c_char>(),
                head.len(),
            )
        };
        if ok != 1 {
            return Err(text_in(&head, "the app's HTTP transport failed"));
        }
        let end = head.iter().position(|&b| b == 0).unwrap_or(head.len());
        let headers: Vec<(String, String)> =
            serde_json::from_slice(&head[..end]).map_err(|_| {
                // The answer is not used: release it.
                // SAFETY: `id` came from this transport's own `send`.
                unsafe { (self.close)(self.user_data, id) };
                "the app's HTTP transport returned unreadable headers".to_string()
            })?;
        Ok(crate::hooks::TransportHead {
            id,
            status,
            headers,
        })
    }

    fn read(&self, id: u64, max: u32) -> std::result::Result<Vec<u8>, String> {
        let mut buf =
            vec![0u8; usize::try_from(max).map_err(|_| "read size too large".to_string())?];
        // SAFETY: `buf` is writable for its length; the callee may not keep it.
        let n = unsafe { (self.read)(self.user_data, id, buf.as_mut_ptr(), buf.len()) };
        match usize::try_from(n) {
            Ok(n) if n <= buf.len() => {
                buf.truncate(n);
                Ok(buf)
            }
            Ok(_) => Err("the app's HTTP transport returned more bytes than asked".into()),
            Err(_) => Err(text_in(&buf, "the app's HTTP transport failed to read")),
        }
    }

    fn close(&self, id: u64) {
        // SAFETY: `id` came from this transport's own `send`.
        unsafe { (self.close)(self.user_data, id) };
    }
}

/// Makes every client created after this call send its requests through `transport`
/// (process-wide; the struct is copied); NULL, or any NULL callback, goes back to the built-in
/// client where the build has one. Returns `LIVEUPDATE_OK`.
///
/// # Safety
/// `transport` is NULL or points at a valid `LiveUpdateHttpTransport` whose callbacks and
/// `user_data` stay usable from any thread, several calls at once, until replaced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn liveupdate_set_http_transport(
    transport: *const LiveUpdateHttpTransport,
) -> i32 {
    guard(|| {
        // SAFETY: `transport` is NULL or valid for reads (caller guarantee).
        let t = unsafe { transport.as_ref() };
        let installed = t.and_then(|t| match (t.send, t.read, t.close) {
            (Some(send), Some(read), Some(close)) => Some(Arc::new(CTransport {
                user_data: t.user_data,
                send,
                read,
                close,
            })
                as Arc<dyn crate::hooks::HttpTransport>),
            _ => None,
        });
        crate::hooks::set_http_transport(installed);
        Ok(())
    })
}
