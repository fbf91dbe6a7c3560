// The Android plugin's logic (PluginShell) on the JVM against the real cdylib and the dev registry on
// 127.0.0.1: load → download → next → background install → notifyAppReady with the page's token; a
// rollback; events reaching listeners; calls answered in order off the caller's thread.
// Run by scripts/test-android-jvm.sh; prints "N passed, N failed".
package app.liveupdate.capacitor

import app.liveupdate.UpdaterOptions
import java.io.File
import java.nio.file.Files
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import org.json.JSONObject

var passed = 0
var failed = 0

fun check(name: String, cond: Boolean, detail: () -> String = { "" }) {
    if (cond) { passed++; println("ok   $name") } else { failed++; println("FAIL $name ${detail()}") }
}

/** Records what the shell asks of the platform. */
class FakeHost : ShellHost {
    data class Shown(val builtin: Boolean, val webRoot: String, val launchId: String, val reload: Boolean)
    val events: MutableList<Triple<String, JSONObject, Boolean>> = Collections.synchronizedList(mutableListOf())
    val shown: MutableList<Shown> = Collections.synchronizedList(mutableListOf())
    val threads: MutableSet<String> = Collections.synchronizedSet(mutableSetOf())

    override fun notifyListeners(event: String, data: JSONObject, retain: Boolean) {
        threads.add(Thread.currentThread().name)
        events.add(Triple(event, data, retain))
    }
    override fun showBundle(builtin: Boolean, webRoot: String, launchId: String, reload: Boolean) {
        shown.add(Shown(builtin, webRoot, launchId, reload))
    }
    override fun splash(show: Boolean) {}

    fun waitFor(what: String, timeoutMs: Long = 15000, pred: () -> Boolean): Boolean {
        val end = System.currentTimeMillis() + timeoutMs
        while (System.currentTimeMillis() < end) {
            if (pred()) return true
            Thread.sleep(20)
        }
        println("     (timed out waiting for $what)")
        return false
    }
    fun event(name: String) = synchronized(events) { events.lastOrNull { it.first == name } }
}

fun resolved(a: Answer): JSONObject? = (a as? Answer.Resolve)?.data

/** Run with `jna.library.path` pointing at a folder without the library: the plugin's guarded start. */
fun noLibrary() {
    val host = FakeHost()
    val shell = PluginShell(host)
    val started = shell.startGuarded {
        UpdaterOptions(dataDir = "unused", builtinDir = "unused", capacitorConfigJson = "{}", nativeVersion = "1.0", platform = "android")
    }
    check("without its native library the plugin starts nothing and does not throw", !started)
    for (method in listOf("notifyAppReady", "getLatest", "current")) {
        val r = shell.callNow(method, "{}")
        check("$method rejects with $NATIVE_LIBRARY_UNAVAILABLE and says what to do",
            r is Answer.Reject && r.code == NATIVE_LIBRARY_UNAVAILABLE && r.message.contains("libliveupdate.so") &&
                r.message.contains("scripts/build-android.sh")) { r.toString() }
    }
    check("the web view was left alone (builtin)", host.shown.isEmpty())
    shell.shutdown()
    println("$passed passed, $failed failed")
    if (failed > 0) kotlin.system.exitProcess(1)
}

fun main(args: Array<String>) {
    if (args.firstOrNull() == "--no-library") return noLibrary()
    val registry = args[0]
    val fixtures = File(args[1])
    val pem = File(fixtures, "capgo_key_v2.pub").readText()
    val config = JSONObject()
        .put("appId", "com.example.liveupdate")
        .put("plugins", JSONObject().put("CapacitorUpdater", JSONObject()
            .put("publicKey", pem).put("updateUrl", "$registry/updates").put("statsUrl", "$registry/stats")
            .put("channelUrl", "$registry/channel_self").put("autoUpdate", false).put("appReadyTimeout", 1000)))
        .toString()
    val tmp = Files.createTempDirectory("liveupdate-shell").toFile()
    val www = File(tmp, "www").apply { mkdirs(); File(this, "index.html").writeText("<html>builtin</html>") }
    fun options(name: String) = UpdaterOptions(dataDir = File(tmp, name).path, builtinDir = www.path,
        capacitorConfigJson = config, nativeVersion = "1.0", platform = "android")

    // 1. Load, calls, a whole manual update confirmed by the right page.
    val host = FakeHost()
    val shell = PluginShell(host)
    shell.start(options("data"))
    check("load points the web view at builtin before start returns",
        host.shown.size == 1 && host.shown[0].builtin && !host.shown[0].reload && host.shown[0].launchId.length >= 16) { host.shown.toString() }
    check("a call resolves with Capgo's shape",
        resolved(shell.callNow("getPluginVersion", "{}"))?.getString("version") == "8.51.23")
    val rej = shell.callNow("set", "{}")
    check("a call rejects with Capgo's message", rej is Answer.Reject && rej.message == "Set called without id") { rej.toString() }
    val latest = resolved(shell.callNow("getLatest", "{}"))
    check("getLatest", latest?.optString("version") == "1.0.0") { latest.toString() }
    val dl = JSONObject().put("url", latest!!.getString("url")).put("version", latest.getString("version"))
        .put("sessionKey", latest.getString("sessionKey")).put("checksum", latest.getString("checksum"))
    val bundle = resolved(shell.callNow("download", dl.toString()))
    check("download installs a pending bundle", bundle?.optString("status") == "pending") { bundle.toString() }
    check("download progress reached the listeners", host.event("download") != null && host.event("downloadComplete") != null)
    check("next", resolved(shell.callNow("next", JSONObject().put("id", bundle!!.getString("id")).toString()))?.optString("id") == bundle.getString("id"))
    shell.background()
    val reloaded = host.waitFor("reload") { host.shown.size >= 2 }
    val page = host.shown.last()
    check("background installs next: the web view is pointed at its folder and reloaded",
        reloaded && !page.builtin && page.reload && File(page.webRoot, "index.html").isFile && page.webRoot.endsWith(bundle.getString("id"))) { host.shown.toString() }
    check("the set event is retained until consumed", host.event("set")?.third == true)
    val stale = resolved(shell.callNow("notifyAppReady", JSONObject().put("launchId", host.shown[0].launchId).toString()))
    check("the old page's notifyAppReady changes nothing", stale?.getJSONObject("bundle")?.optString("status") == "pending") { stale.toString() }
    val ready = resolved(shell.callNow("notifyAppReady", JSONObject().put("launchId", page.launchId).toString()))
    check("the new page's notifyAppReady confirms it", ready?.getJSONObject("bundle")?.optString("status") == "success") { ready.toString() }
    check("download progress came from a library thread, not only the caller's",
        host.threads.any { it != Thread.currentThread().name }) { host.threads.toString() }

    // 2. Calls are answered in order, off the caller's thread.
    val order = Collections.synchronizedList(mutableListOf<String>())
    val callThreads = Collections.synchronizedSet(mutableSetOf<String>())
    val done = CountDownLatch(3)
    for (m in listOf("getDeviceId", "current", "getAppId")) {
        shell.call(m, "{}") { order.add(m); callThreads.add(Thread.currentThread().name); done.countDown() }
    }
    check("async calls answered in order on the calls thread",
        done.await(10, TimeUnit.SECONDS) && order == listOf("getDeviceId", "current", "getAppId") &&
            callThreads == setOf("liveupdate-calls")) { "$order $callThreads" }
    shell.shutdown()

    // 3. load → download → set → notifyAppReady: set resolves once the web view was pointed at it.
    val host3 = FakeHost()
    val shell3 = PluginShell(host3)
    shell3.start(options("set"))
    val b3 = resolved(shell3.callNow("download", dl.toString()))!!
    val setAnswer = shell3.callNow("set", JSONObject().put("id", b3.getString("id")).toString())
    val shownAtSet = host3.shown.lastOrNull()
    check("set resolves after the reload onto the bundle",
        setAnswer is Answer.Resolve && setAnswer.data == null && shownAtSet != null && shownAtSet.reload &&
            shownAtSet.webRoot.endsWith(b3.getString("id"))) { "$setAnswer ${host3.shown}" }
    val ready3 = resolved(shell3.callNow("notifyAppReady", JSONObject().put("launchId", shownAtSet!!.launchId).toString()))
    check("notifyAppReady with that page's token confirms the set bundle",
        ready3?.getJSONObject("bundle")?.optString("status") == "success") { ready3.toString() }
    shell3.shutdown()

    // 4. A page that never confirms is rolled back by the engine's watchdog.
    val host2 = FakeHost()
    val shell2 = PluginShell(host2)
    shell2.start(options("rollback"))
    val b2 = resolved(shell2.callNow("download", dl.toString()))!!
    shell2.callNow("set", JSONObject().put("id", b2.getString("id")).toString())
    val rolled = host2.waitFor("updateFailed") { host2.event("updateFailed") != null }
    check("no notifyAppReady within appReadyTimeout: updateFailed reaches the listeners",
        rolled && host2.event("updateFailed")!!.second.getJSONObject("bundle").optString("status") == "error")
    check("... and the web view goes back to the app's builtin assets",
        host2.waitFor("reload to builtin") { host2.shown.lastOrNull()?.let { it.builtin && it.reload } == true }) { host2.shown.toString() }
    val failedOnce = resolved(shell2.callNow("getFailedUpdate", "{}"))
    check("getFailedUpdate returns it once", failedOnce?.getJSONObject("bundle")?.optString("id") == b2.getString("id") &&
        (shell2.callNow("getFailedUpdate", "{}") as? Answer.Resolve)?.data == null) { failedOnce.toString() }
    shell2.shutdown()

    tmp.deleteRecursively()
    println("$passed passed, $failed failed")
    if (failed > 0) kotlin.system.exitProcess(1)
}
