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
