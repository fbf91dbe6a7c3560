// Certificate trust through the app's verifier, on the JVM against the real cdylib: an HTTPS update server on
// 127.0.0.1 (the JDK's HttpsServer) whose certificate comes from a private CA made by scripts/test-kotlin.sh
// with keytool. The Android plugin's own verifier (PlatformTrust: the platform's X509TrustManager) over a KeyStore that holds the CA installs
// the update; one over a KeyStore without it refuses with the trust manager's reason; with no verifier the
// system store refuses (unknown issuer). Then the Android plugin's transport (PlatformHttp: HttpURLConnection)
// carries every request: over a KeyStore with the CA it installs, over one without it the platform's TLS
// refuses with its own reason, and a transfer cut mid-body resumes through it (Range). Prints "N passed, N failed".
import app.liveupdate.*
import app.liveupdate.capacitor.PlatformHttp
import app.liveupdate.capacitor.PlatformTrust
import com.sun.net.httpserver.HttpsConfigurator
import com.sun.net.httpserver.HttpsServer
import java.io.File
import java.io.FileInputStream
import java.net.InetSocketAddress
import java.nio.file.Files
import java.security.KeyStore
import java.security.cert.CertificateFactory
import java.security.cert.X509Certificate
import javax.net.ssl.KeyManagerFactory
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManagerFactory
import javax.net.ssl.X509TrustManager

var passed = 0
var failed = 0

fun check(name: String, cond: Boolean, detail: () -> String = { "" }) {
    if (cond) { passed++; println("ok   $name") } else { failed++; println("FAIL $name ${detail()}") }
}

/** Counts the calls a verifier gets. */
class Counting(private val inner: CertificateVerifier) : CertificateVerifier {
    val calls = java.util.concurrent.atomic.AtomicInteger(0)
    override fun verify(host: String, chainDer: List<ByteArray>): String? {
        calls.incrementAndGet()
        return inner.verify(host, chainDer)
    }
}

fun trustManagerFor(ks: KeyStore?): X509TrustManager {
    val tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm())
    tmf.init(ks)
    return tmf.trustManagers.filterIsInstance<X509TrustManager>().first()
}

fun load(file: File, password: String): KeyStore =
    KeyStore.getInstance("PKCS12").apply { FileInputStream(file).use { load(it, password.toCharArray()) } }

fun jsonString(s: String): String =
    "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\""

fun main(args: Array<String>) {
    val pki = File(args[0])          // server.p12, ca-trust.p12, other-trust.p12 (password "changeit")
    val fixtures = File(args[1])     // tests/fixtures/capgo/set-a-small
    val pem = File(fixtures, "capgo_key_v2.pub").readText()
    val bundle = File(fixtures, "com.example.liveupdate_1.0.0.zip_encrypted.zip").readBytes()

    val kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm())
    kmf.init(load(File(pki, "server.p12"), "changeit"), "changeit".toCharArray())
    val ssl = SSLContext.getInstance("TLS").apply { init(kmf.keyManagers, null, null) }
    val server = HttpsServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    server.httpsConfigurator = HttpsConfigurator(ssl)
    val base = "https://127.0.0.1:${server.address.port}"
    val requests = java.util.concurrent.atomic.AtomicInteger(0)
    /** An update answer offering the fixture bundle at `path`. */
    fun offer(ex: com.sun.net.httpserver.HttpExchange, path: String) {
        ex.requestBody.readBytes()
        val body = """{"version":"1.0.1","url":"$base/$path",
            "session_key":${jsonString(File(fixtures, "ivSessionKey.txt").readText().trim())},
            "checksum":${jsonString(File(fixtures, "encrypted_checksum.txt").readText().trim())}}""".toByteArray()
        ex.responseHeaders.add("Content-Type", "application/json")
        ex.sendResponseHeaders(200, body.size.toLong()); ex.responseBody.use { it.write(body) }
    }
    server.createContext("/updates") { ex ->
        requests.incrementAndGet()
        offer(ex, "bundle.zip")
    }
    server.createContext("/bundle.zip") { ex ->
        requests.incrementAndGet()
        ex.sendResponseHeaders(200, bundle.size.toLong()); ex.responseBody.use { it.write(bundle) }
    }
    // The same bundle, cut after half on the first request; later requests honour Range (206).
    val cutRanges = java.util.Collections.synchronizedList(mutableListOf<String>())
    server.createContext("/cut.zip") { ex ->
        val range = ex.requestHeaders.getFirst("Range")
        cutRanges.add(range ?: "none")
        if (cutRanges.size == 1) {
            ex.sendResponseHeaders(200, bundle.size.toLong())
            try {
                ex.responseBody.write(bundle, 0, bundle.size / 2)
                ex.responseBody.flush()
            } catch (_: java.io.IOException) {
            }
            ex.close() // short of the declared length: the client sees the body end early
        } else {
            val from = range?.removePrefix("bytes=")?.removeSuffix("-")?.toIntOrNull() ?: 0
            if (range != null) {
                ex.responseHeaders.add("Content-Range", "bytes $from-${bundle.size - 1}/${bundle.size}")
                ex.sendResponseHeaders(206, (bundle.size - from).toLong())
            } else {
                ex.sendResponseHeaders(200, bundle.size.toLong())
            }
            ex.responseBody.use { it.write(bundle, from, bundle.size - from) }
        }
    }
    server.createContext("/updates-cut") { ex -> offer(ex, "cut.zip") }
    server.executor = java.util.concurrent.Executors.newFixedThreadPool(4)
    server.start()

    val config = """{"appId":"com.example.liveupdate","plugins":{"CapacitorUpdater":{
        "publicKey":${jsonString(pem)},"updateUrl":"$base/updates","statsUrl":"","responseTimeout":5}}}"""
    val tmp = Files.createTempDirectory("liveupdate-kotlin-tls").toFile()
    val www = File(tmp, "www").apply { mkdirs(); File(this, "index.html").writeText("<html>builtin</html>") }
    fun update(name: String, updates: String = "updates"): UpdateResult =
        Updater(UpdaterOptions(dataDir = File(tmp, name).path, builtinDir = www.path,
                capacitorConfigJson = config.replace("$base/updates", "$base/$updates"),
                nativeVersion = "1.0")).use { it.update() }

    try {
        // 1. No verifier: the system store does not know the private CA.
        setCertificateVerifier(null)
        val r1 = update("system")
        check("without a verifier the private CA is refused (unknown issuer, host named)",
            r1 is UpdateResult.Failed && r1.message.contains("unknown issuer") && r1.message.contains("127.0.0.1")) { r1.toString() }

        // 2. A verifier over a KeyStore holding the CA: installed.
        val trusting = Counting(PlatformTrust(trustManagerFor(load(File(pki, "ca-trust.p12"), "changeit"))))
        setCertificateVerifier(trusting)
        val r2 = update("trusted")
        check("a KeyStore that holds the CA makes the update install", r2 is UpdateResult.Installed) { r2.toString() }
        check("the verifier was asked from a Rust network thread", trusting.calls.get() >= 1) { "${trusting.calls.get()}" }

        // 3. A verifier over a KeyStore that does not hold it: refused with the trust manager's reason.
        val refusing = Counting(PlatformTrust(trustManagerFor(load(File(pki, "other-trust.p12"), "changeit"))))
        setCertificateVerifier(refusing)
        val r3 = update("refused")
        check("a KeyStore without the CA refuses, with the platform's reason",
            r3 is UpdateResult.Failed && r3.message.contains("refused by the platform's trust") && refusing.calls.get() >= 1) { r3.toString() }

        // 4. A verifier that throws refuses the connection; the updater survives.
        setCertificateVerifier(object : CertificateVerifier {
            override fun verify(host: String, chainDer: List<ByteArray>): String? = throw IllegalStateException("boom")
        })
        val r4 = update("throwing")
        check("a throwing verifier refuses the connection", r4 is UpdateResult.Failed) { r4.toString() }

        // 5. The platform's HTTP stack carries every request; its trust (here a KeyStore with the CA) decides.
        setCertificateVerifier(null)
        fun factory(store: String) = SSLContext.getInstance("TLS").apply {
            init(null, arrayOf(trustManagerFor(load(File(pki, store), "changeit"))), null)
        }.socketFactory
        val before = requests.get()
        setHttpTransport(PlatformHttp(factory("ca-trust.p12")))
        val r5 = update("transport")
        check("through HttpURLConnection trusting the CA the update installs", r5 is UpdateResult.Installed) { r5.toString() }
        check("the check and the download went through the transport", requests.get() - before == 2) { "${requests.get() - before}" }

        // 6. A body cut short: the core resumes it through HttpURLConnection with a Range request.
        val r7 = update("transport-resume", "updates-cut")
        check("a transfer cut mid-body resumes through HttpURLConnection and installs", r7 is UpdateResult.Installed) { r7.toString() }
        check("the second request asked for the rest (Range: bytes=${bundle.size / 2}-)",
            cutRanges.size == 2 && cutRanges[0] == "none" && cutRanges[1] == "bytes=${bundle.size / 2}-") { cutRanges.toString() }

        // 7. The platform's TLS refuses a chain it does not trust, with its own reason.
        setHttpTransport(PlatformHttp(factory("other-trust.p12")))
        val r6 = update("transport-refused")
        check("through HttpURLConnection without the CA the platform refuses, with its reason",
            r6 is UpdateResult.Failed && r6.message.contains("127.0.0.1") && r6.message.contains("certification path")) { r6.toString() }
    } finally {
        setHttpTransport(null)
        setCertificateVerifier(null)
        server.stop(0)
        tmp.deleteRecursively()
    }
    println("$passed passed, $failed failed")
    if (failed > 0) System.exit(1)
    System.exit(0)
}
