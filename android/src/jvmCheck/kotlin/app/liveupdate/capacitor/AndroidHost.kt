// Type-check stand-in for AndroidHost (which needs android.jar): the same public members, so the
// plugin class can be compiled against Capacitor's real sources on a plain JVM. Never shipped;
// scripts/test-android-jvm.sh checks that the real AndroidHost declares the same members.
package app.liveupdate.capacitor

import app.liveupdate.BuiltinAssets
import app.liveupdate.UpdaterOptions
import org.json.JSONObject

class AndroidHost(@Suppress("UNUSED_PARAMETER") plugin: CapacitorUpdaterPlugin) : ShellHost {
    fun engineOptions(): UpdaterOptions = throw UnsupportedOperationException("type-check stand-in")
    fun builtinAssets(): BuiltinAssets = throw UnsupportedOperationException("type-check stand-in")
    fun observeLifecycle(shell: PluginShell): Unit = throw UnsupportedOperationException(shell.toString())
    override fun notifyListeners(event: String, data: JSONObject, retain: Boolean) {}
    override fun showBundle(builtin: Boolean, webRoot: String, launchId: String, reload: Boolean) {}
    override fun splash(show: Boolean) {}
}
