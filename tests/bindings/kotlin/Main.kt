// Kotlin on the JVM against the real cdylib: the full update flow over loopback, errors as exceptions,
// callbacks from a Rust thread, cancellation. Run by scripts/test-kotlin.sh; prints "N passed, N failed".
import app.liveupdate.*
import java.io.File
import java.nio.file.Files

var passed = 0
var failed = 0

fun check(name: String, cond: Boolean, detail: () -> String = { "" }) {
    if (cond) { passed++; println("ok   $name") } else { failed++; println("FAIL $name ${detail()}") }
}

fun main(args: Array<String>) {
    val registry = args[0]          // http://127.0.0.1:PORT
    val fixtures = File(args[1])    // tests/fixtures/capgo/set-a-small
    val pem = File(fixtures, "capgo_key_v2.pub").readText()
    val config = """{"appId":"com.example.liveupdate","plugins":{"CapacitorUpdater":{
        "publicKey":${jsonString(pem)},"updateUrl":"$registry/updates","statsUrl":"$registry/stats",
        "channelUrl":"$registry/channel_self"}}}"""
    val tmp = Files.createTempDirectory("liveupdate-kotlin").toFile()
    val www = File(tmp, "www").apply { mkdirs(); File(this, "index.html").writeText("<html>builtin</html>") }

    val id = keyId(pem)
    check("keyId is the first 20 characters of the PEM body", id == "MIIBCgKCAQEApY7EX2bX") { id }

    // 1. Cancellation from the progress callback (which runs on a Rust-spawned thread).
    Updater(UpdaterOptions(dataDir = File(tmp, "cancelled").path, builtinDir = www.path,
            capacitorConfigJson = config, nativeVersion = "1.0")).use { u ->
        u.launch()
        u.setProgressListener(object : ProgressListener {
            override fun onProgress(received: ULong, total: ULong, percent: UByte) { u.cancel() }
        })
        val r = u.update()
        check("cancel from another thread ends the update as cancelled",
            r is UpdateResult.Failed && r.code == "cancelled") { r.toString() }
        check("a cancelled update leaves builtin current", u.status().current.id == "builtin")
    }

    // 1b. A progress listener that calls back into the updater (set another listener, read the
    // status) must not deadlock it: no lock is held while the listener runs. Bounded by a join.
    Updater(UpdaterOptions(dataDir = File(tmp, "reentrant").path, builtinDir = www.path,
            capacitorConfigJson = config, nativeVersion = "1.0")).use { u ->
        u.launch()
        val reentered = java.util.concurrent.atomic.AtomicInteger(0)
        u.setProgressListener(object : ProgressListener {
            override fun onProgress(received: ULong, total: ULong, percent: UByte) {
                u.setProgressListener(this)
                u.status()
                reentered.incrementAndGet()
            }
        })
        var result: UpdateResult? = null
        val t = Thread { result = u.update() }
        t.isDaemon = true   // a deadlocked thread must not keep the JVM alive
        t.start(); t.join(30000)
        check("a listener re-entering the updater does not deadlock it",
            !t.isAlive && result is UpdateResult.Installed && reentered.get() > 0) { "alive=${t.isAlive} $result" }
    }

    // 2. The full flow: launch → update with progress → launch → ready.
    Updater(UpdaterOptions(dataDir = File(tmp, "data").path, builtinDir = www.path,
            capacitorConfigJson = config, nativeVersion = "1.0", platform = "android")).use { u ->
        val first = u.launch()
        check("first launch serves builtin", first.bundle.id == "builtin" && first.webRoot == www.canonicalPath) { first.toString() }
        val percents = java.util.Collections.synchronizedList(mutableListOf<Int>())
        val threads = java.util.Collections.synchronizedSet(mutableSetOf<String>())
        val caller = Thread.currentThread().name
        u.setProgressListener(object : ProgressListener {
            override fun onProgress(received: ULong, total: ULong, percent: UByte) {
                percents.add(percent.toInt()); threads.add(Thread.currentThread().name)
            }
        })
        val r = u.update()
        check("update installs the bundle", r is UpdateResult.Installed) { r.toString() }
        val installed = (r as? UpdateResult.Installed)?.bundle
        check("installed bundle is pending with the zip's sha256",
            installed?.status == BundleStatus.PENDING &&
            installed.checksum == File(fixtures, "checksum_sha256.txt").readText().trim()) { installed.toString() }
        check("progress reached 100 %", percents.isNotEmpty() && percents.last() == 100) { percents.toString() }
        check("progress came from a Rust thread", threads.any { it != caller }) { "$threads vs $caller" }
        val second = u.launch()
        check("next launch serves the new bundle", second.bundle.id == installed?.id && File(second.webRoot, "index.html").isFile) { second.toString() }
        val ready = u.notifyAppReady(second.launchId)
        check("notifyAppReady confirms it", ready.accepted && ready.bundle.status == BundleStatus.SUCCESS) { ready.toString() }
        check("list shows it", u.list().any { it.id == installed?.id && it.status == BundleStatus.SUCCESS })
        val stale = u.notifyAppReady("not-a-launch")
        check("a foreign launch id is ignored", !stale.accepted)
        val again = u.update()
        check("a second update is up to date", again is UpdateResult.UpToDate) { again.toString() }
        check("stats are delivered", u.flushStats(2000u).toInt() >= 0)

        // 3. Errors surface as typed Kotlin exceptions with a useful message.
        try {
            u.next("nope")
            check("next on an unknown bundle throws", false)
        } catch (e: LiveUpdateException.Refused) {
            check("next on an unknown bundle throws Refused", e.message!!.contains("unknown bundle")) { e.message!! }
        }
        try {
            u.delete(installed!!.id)
            check("deleting the current bundle throws", false)
        } catch (e: LiveUpdateException.Refused) {
            check("deleting the current bundle throws Refused", e.message!!.contains("current")) { e.message!! }
        }
    }
    // 4. The plugin engine behind the JSON bridge: events and host actions arrive on Rust threads,
    // and a host may call back into the engine from a callback.
    val lines = java.util.concurrent.LinkedBlockingQueue<String>()
    val seenLines = java.util.Collections.synchronizedList(mutableListOf<String>())
    val hostThreads = java.util.Collections.synchronizedSet(mutableSetOf<String>())
    val reentrant = java.util.Collections.synchronizedList(mutableListOf<String?>())
    var engineRef: PluginEngine? = null
    val host = object : EngineHost {
        override fun onEvent(name: String, dataJson: String) {
            hostThreads.add(Thread.currentThread().name); lines.add("event $name $dataJson")
        }
        override fun onHostAction(actionJson: String) {
            // Re-entering the engine from its own callback must not deadlock.
            engineRef?.let { reentrant.add(it.currentLaunchId()) }
            lines.add("action $actionJson")
        }
    }
    fun waitFor(needle: String): String? {
        seenLines.firstOrNull { it.contains(needle) }?.let { return it }
        val end = System.currentTimeMillis() + 15000
        while (System.currentTimeMillis() < end) {
            val l = lines.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS) ?: continue
            seenLines.add(l)
            if (l.contains(needle)) return l
        }
        return null
    }
    val bridgeConfig = config.replace("\"channelUrl\"", "\"autoUpdate\":\"atBackground\",\"appReadyTimeout\":1000,\"channelUrl\"")
    val caller = Thread.currentThread().name
    PluginEngine.start(UpdaterOptions(dataDir = File(tmp, "bridge").path, builtinDir = www.path,
            capacitorConfigJson = bridgeConfig, nativeVersion = "1.0"), host).use { e ->
        engineRef = e
        val load = waitFor("\"host\":\"load\"")
        check("the load action arrives during start", load != null && seenLines.size == 1) { seenLines.toString() }
        val v = e.call("getPluginVersion", "{}")
        check("call resolves with JSON", v is CallAnswer.Resolve && v.json == "{\"version\":\"8.51.23\"}") { v.toString() }
        val r = e.call("set", "{}")
        check("call rejects with Capgo's message", r is CallAnswer.Reject && r.message == "Set called without id") { r.toString() }
        val u = e.call("setChannel", "{}")
        check("a reject carries code and data", u is CallAnswer.Reject && u.code == "SETCHANNEL_INVALID_PARAMS" &&
            u.dataJson!!.contains("missing_parameter")) { u.toString() }
        e.foreground()
        val ready = waitFor("will install next background")
        check("the auto-update cycle downloads and queues the bundle", ready != null) { seenLines.toString() }
        check("events came from a Rust thread", hostThreads.any { it != caller }) { hostThreads.toString() }
        e.background()
        val reload = waitFor("\"host\":\"reload\"")
        check("background installs it: a reload action", reload != null && reload.contains("\"version\":\"1.0.0\"")) { seenLines.toString() }
        check("the host re-entered the engine from a callback", reentrant.isNotEmpty() && reentrant.all { it != null }) { reentrant.toString() }
        // The page never calls notifyAppReady: the watchdog rolls back.
        val failed = waitFor("event updateFailed")
        check("no notifyAppReady within appReadyTimeout: updateFailed", failed != null && failed.contains("\"status\":\"error\"")) { seenLines.toString() }
        val f = e.call("getFailedUpdate", "{}")
        check("getFailedUpdate returns it once", f is CallAnswer.Resolve && f.json.contains("\"status\":\"error\"") &&
            (e.call("getFailedUpdate", "{}") as? CallAnswer.Resolve)?.json == "null") { f.toString() }
        val cur = e.call("current", "{}")
        check("back on builtin", cur is CallAnswer.Resolve && cur.json.contains("\"id\":\"builtin\"")) { cur.toString() }
        e.shutdown()
    }

    try {
        Updater(UpdaterOptions(dataDir = File(tmp, "x").path, builtinDir = File(tmp, "missing").path))
        check("a missing builtin folder throws", false)
    } catch (e: LiveUpdateException.Storage) {
        check("a missing builtin folder throws Storage", e.message!!.contains("builtin")) { e.message!! }
    }
    try {
        keyId("not a key")
        check("a bad key throws", false)
    } catch (e: LiveUpdateException.Config) {
        check("a bad key throws Config", e.message!!.contains("bad public key")) { e.message!! }
    }
    tmp.deleteRecursively()
    println("$passed passed, $failed failed")
    if (failed > 0) kotlin.system.exitProcess(1)
}

fun jsonString(s: String): String =
    "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\""
