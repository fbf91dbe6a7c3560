package app.liveupdate.capacitor

import app.liveupdate.CertificateVerifier
import java.security.KeyStore
import java.security.cert.CertificateException
import java.security.cert.CertificateFactory
import java.security.cert.X509Certificate
import javax.net.ssl.TrustManagerFactory
import javax.net.ssl.X509TrustManager

/**
 * The phone's certificate trust, handed to the Rust core: each server chain is judged by the
 * platform's default [X509TrustManager], so the app's network security config, user- and
 * MDM-installed CAs apply as they do for OkHttp and URLConnection. On Android the host-aware check
 * of `X509TrustManagerExtensions` is used (per-domain config and pins); elsewhere (the JVM tests)
 * the plain check. The core checks the host name itself; this only judges the chain.
 * Called on the core's network threads; it never calls back into the engine.
 */
class PlatformTrust(private val tm: X509TrustManager = defaultTrustManager()) : CertificateVerifier {
    private val hostAware: ((Array<X509Certificate>, String, String) -> Unit)? = androidExtensions(tm)

    override fun verify(host: String, chainDer: List<ByteArray>): String? {
        return try {
            val cf = CertificateFactory.getInstance("X.509")
            val chain = chainDer.map { cf.generateCertificate(it.inputStream()) as X509Certificate }.toTypedArray()
            if (chain.isEmpty()) return "the server sent no certificate"
            val authType = if (chain[0].publicKey.algorithm == "EC") "ECDHE_ECDSA" else "ECDHE_RSA"
            val check = hostAware
            if (check != null) check(chain, authType, host) else tm.checkServerTrusted(chain, authType)
            null
        } catch (e: CertificateException) {
            e.message ?: e.toString()
        } catch (e: IllegalArgumentException) {
            e.message ?: e.toString()
        }
    }

    companion object {
        /** The platform's default trust manager (the system's and the app's configured anchors). */
        fun defaultTrustManager(): X509TrustManager {
            val tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm())
            tmf.init(null as KeyStore?)
            return tmf.trustManagers.filterIsInstance<X509TrustManager>().first()
        }

        /** `android.net.http.X509TrustManagerExtensions.checkServerTrusted(chain, authType, host)`,
         *  looked up at run time so this file also compiles and runs on a plain JVM. */
        private fun androidExtensions(tm: X509TrustManager): ((Array<X509Certificate>, String, String) -> Unit)? =
            try {
                val cls = Class.forName("android.net.http.X509TrustManagerExtensions")
                val ext = cls.getConstructor(X509TrustManager::class.java).newInstance(tm)
                val m = cls.getMethod("checkServerTrusted", Array<X509Certificate>::class.java,
                    String::class.java, String::class.java)
                val call: (Array<X509Certificate>, String, String) -> Unit = { chain, authType, host ->
                    try {
                        m.invoke(ext, chain, authType, host)
                    } catch (e: java.lang.reflect.InvocationTargetException) {
                        throw e.targetException
                    }
                }
                call
            } catch (e: ClassNotFoundException) {
                null
            } catch (e: ReflectiveOperationException) {
                null
            }
    }
}
