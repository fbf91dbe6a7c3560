package app.liveupdate.capacitor

import app.liveupdate.HttpHeader
import app.liveupdate.HttpRequest
import app.liveupdate.HttpResponseHead
import app.liveupdate.HttpTransport
import java.io.IOException
import java.io.InputStream
import java.net.HttpURLConnection
import java.net.URL
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong
import javax.net.ssl.HttpsURLConnection
import javax.net.ssl.SSLSocketFactory

/**
 * The Rust core's requests carried by the platform's own HTTP stack (`HttpURLConnection`, OkHttp
 * underneath on Android): HTTPS trusts what the phone trusts (the app's network security config,
 * user- and MDM-installed CAs, pins), the system proxy applies, and the app ships no TLS library.
 * The core decides everything else: it follows redirects itself under its URL policy (so they are
 * never followed here), sets `Range` / `If-Range` / `Accept-Encoding: identity`, enforces limits and
 * deadlines, and asks for the body in bounded chunks.
 *
 * [sslSocketFactory] replaces the platform's trust (tests on the JVM use a KeyStore); `null` keeps it.
 * Called on the core's network threads, several at once; never calls back into the engine.
 */
class PlatformHttp(private val sslSocketFactory: SSLSocketFactory? = null) : HttpTransport {
    private class Answer(val conn: HttpURLConnection, val body: InputStream?) {
        /** Reused for every read of this answer (one allocation per read: the bytes handed back). */
        var buf = ByteArray(0)
    }

    private val open = ConcurrentHashMap<Long, Answer>()
    private val nextId = AtomicLong(1)

    override fun send(request: HttpRequest): HttpResponseHead {
        val conn = URL(request.url).openConnection() as HttpURLConnection
        try {
            if (conn is HttpsURLConnection && sslSocketFactory != null) conn.sslSocketFactory = sslSocketFactory
            conn.instanceFollowRedirects = false
            conn.useCaches = false
            val timeout = request.timeoutMs.toLong().coerceIn(1L, Int.MAX_VALUE.toLong()).toInt()
            conn.connectTimeout = timeout
            conn.readTimeout = timeout
            conn.requestMethod = request.method
            for (h in request.headers) conn.setRequestProperty(h.name, h.value)
            val body = request.body
            if (body != null) {
                conn.doOutput = true
                conn.setFixedLengthStreamingMode(body.size)
                conn.outputStream.use { it.write(body) }
            }
            val status = conn.responseCode
            val headers = conn.headerFields.flatMap { (name, values) ->
                if (name == null) emptyList() else values.map { HttpHeader(name, it) }
            }
            val stream = if (status >= 400) conn.errorStream else conn.inputStream
            val id = nextId.getAndIncrement()
            open[id] = Answer(conn, stream)
            return HttpResponseHead(id.toULong(), status.toUShort(), headers)
        } catch (e: Exception) {
            conn.disconnect()
            throw e
        }
    }

    override fun read(id: ULong, maxBytes: UInt): ByteArray {
        val answer = open[id.toLong()] ?: throw IOException("no open answer $id")
        val stream = answer.body ?: return ByteArray(0)
        val want = maxBytes.toInt().coerceIn(1, 1 shl 20)
        if (answer.buf.size < want) answer.buf = ByteArray(want)
        val n = stream.read(answer.buf, 0, want)
        return if (n <= 0) ByteArray(0) else answer.buf.copyOf(n)
    }

    override fun close(id: ULong) {
        val answer = open.remove(id.toLong()) ?: return
        try {
            answer.body?.close()
        } catch (_: IOException) {
        }
        answer.conn.disconnect()
    }
}
