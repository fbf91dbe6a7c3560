// The Android plugin's logic in plain Kotlin (no android.* imports, runs on the JVM in tests):
// forwards JS calls and app lifecycle to the Rust engine through the UniFFI JSON bridge, and turns
// the engine's events and host actions into listener notifications and web-view changes. It decides
// nothing: every update rule lives in the engine.
package app.liveupdate.capacitor

import app.liveupdate.CallAnswer
import app.liveupdate.EngineHost
import app.liveupdate.PluginEngine
import app.liveupdate.UpdaterOptions
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import org.json.JSONObject

/** How a JS call ended, in the shape PluginCall needs. */
sealed class Answer {
    /** Resolve with this object, or with nothing when null (void methods, null results). */
    data class Resolve(val data: JSONObject?) : Answer()

    /** Reject with Capgo's message, code and data. */
    data class Reject(val message: String, val code: String?, val data: JSONObject?) : Answer()
}

/** Events Capgo keeps until a listener consumes them (`retainUntilConsumed`). */
val RETAINED_EVENTS = setOf("set", "appReady")

/** The reject code of every call when the engine's native library cannot be loaded. */
const val NATIVE_LIBRARY_UNAVAILABLE = "NATIVE_LIBRARY_UNAVAILABLE"

/** How long onDestroy waits for the shutdown (cancel, final stats flush) before letting the process go. */
const val SHUTDOWN_WAIT_MS = 3000L

class PluginShell(private val host: ShellHost) : EngineHost {
    private var engine: PluginEngine? = null

    // Calls run one at a time off the caller's (UI) thread and are answered in order; downloads
    // and checks never block the web view.
    private val calls: ExecutorService = Executors.newSingleThreadExecutor { r ->
        Thread(r, "liveupdate-calls").apply { isDaemon = true }
    }

    /** Why the engine is not running (set by [startGuarded] when it could not start). */
    private var failure: Answer.Reject? = null

    /** Starts the engine: the `load` host action points the web view at the launch bundle before this returns. */
    fun start(options: UpdaterOptions) {
        engine = PluginEngine.start(options, this)
    }

    /**
     * [start] for the plugin's `load`: `setup` (installing the platform hooks, reading the options)
     * and the start itself never take the app down. A native library that cannot load (an app
     * built without `libliveupdate.so` for this CPU) or an engine that refuses to start leaves the
     * web view on its builtin bundle, and every call is then rejected with a clear code and message
     * instead. Returns whether the engine runs.
     */
    fun startGuarded(setup: () -> UpdaterOptions): Boolean {
        try {
            start(setup())
        } catch (e: LinkageError) {
            failure = Answer.Reject(
                "liveupdate: the native library libliveupdate.so could not be loaded (${e.message}); " +
                    "the app was built without it for this CPU — build the package's native libraries " +
                    "(scripts/build-android.sh) or install the released npm tarball",
                NATIVE_LIBRARY_UNAVAILABLE,
                null,
            )
        } catch (e: Exception) {
            failure = Answer.Reject("liveupdate: the updater did not start: ${e.message}", "NOT_STARTED", null)
        }
        return engine != null
    }

    /** Forwards a JS call (`call.methodName`, `call.data`) and answers through `done`, on the calls thread. */
    fun call(method: String, optionsJson: String, done: (Answer) -> Unit) {
        calls.execute { done(callNow(method, optionsJson)) }
    }

    /** The same call on the current thread (tests, and hosts with their own threads). */
    fun callNow(method: String, optionsJson: String): Answer {
        val e = engine ?: return failure ?: Answer.Reject("the updater did not start", "NOT_STARTED", null)
        return when (val a = e.call(method, optionsJson)) {
            is CallAnswer.Resolve -> Answer.Resolve(objectOrNull(a.json))
            is CallAnswer.Reject -> Answer.Reject(a.message, a.code, a.dataJson?.let { objectOrNull(it) })
        }
    }

    /** The app came to the foreground (from ProcessLifecycleOwner ON_START). */
    fun foreground() {
        calls.execute { engine?.foreground() }
    }

    /** The app went to the background (ON_STOP): a pending bundle is installed. */
    fun background() {
        calls.execute { engine?.background() }
    }

    /**
     * Process end: stops accepting calls, cancels downloads, flushes stats (≤ ~2 s) — on a thread of
     * its own, since the caller is the main thread (onDestroy), where Android forbids network I/O
     * and a long block risks an ANR. Waited for at most [SHUTDOWN_WAIT_MS]; stats not sent by then
     * stay queued on disk for the next start.
     */
    fun shutdown() {
        val t = Thread({
            calls.shutdown()
            calls.awaitTermination(5, TimeUnit.SECONDS)
            engine?.shutdown()
        }, "liveupdate-shutdown")
        t.start()
        t.join(SHUTDOWN_WAIT_MS)
    }

    /** The launch token of the page shown now. */
    fun launchId(): String? = engine?.currentLaunchId()

    // ── EngineHost: called by the engine from its threads, with no engine lock held ──

    override fun onEvent(name: String, dataJson: String) {
        host.notifyListeners(name, objectOrNull(dataJson) ?: JSONObject(), name in RETAINED_EVENTS)
    }

    override fun onHostAction(actionJson: String) {
        val a = JSONObject(actionJson)
        when (val kind = a.optString("host")) {
            "load", "reload" -> {
                val bundle = a.getJSONObject("bundle")
                host.showBundle(
                    builtin = bundle.optString("id") == "builtin",
                    webRoot = a.getString("webRoot"),
                    launchId = a.getString("launchId"),
                    reload = kind == "reload",
                )
            }
            "splashShow" -> host.splash(true)
            "splashHide" -> host.splash(false)
            else -> {}
        }
    }

    private fun objectOrNull(json: String): JSONObject? {
        val t = json.trim()
        return if (t.startsWith("{")) JSONObject(t) else null
    }
}
