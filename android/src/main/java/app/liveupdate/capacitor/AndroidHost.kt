// Every android.* and androidx.* use of the plugin, in one file (compiled by Gradle): engine
// options from the app, the web view, the launch token, the splash screen and process lifecycle.
package app.liveupdate.capacitor

import android.content.pm.ApplicationInfo
import android.os.Build
import android.os.Handler
import android.os.Looper
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import androidx.webkit.WebViewCompat
import androidx.webkit.WebViewFeature
import app.liveupdate.BuiltinAssets
import app.liveupdate.UpdaterOptions
import com.getcapacitor.JSObject
import java.io.File
import org.json.JSONObject

class AndroidHost(private val plugin: CapacitorUpdaterPlugin) : ShellHost {
    private val main = Handler(Looper.getMainLooper())
    private val context get() = plugin.context

    /** The engine's options: the app's own folders, capacitor.config.json and identity. */
    fun engineOptions(): UpdaterOptions {
        val data = File(context.filesDir, "liveupdate").apply { mkdirs() }
        // The builtin bundle is the APK's assets/public, served by the bridge; the engine names it
        // by id ("builtin") and needs only an (empty) folder standing for it.
        val builtin = File(context.filesDir, "liveupdate-builtin").apply { mkdirs() }
        val config = runCatching {
            context.assets.open("capacitor.config.json").bufferedReader().use { it.readText() }
        }.getOrNull()
        val info = context.packageManager.getPackageInfo(context.packageName, 0)
        @Suppress("DEPRECATION")
        val code = if (Build.VERSION.SDK_INT >= 28) info.longVersionCode else info.versionCode.toLong()
        return UpdaterOptions(
            dataDir = data.path,
            builtinDir = builtin.path,
            capacitorConfigJson = config,
            nativeVersion = info.versionName,
            versionCode = code.toString(),
            platform = "android",
            osVersion = Build.VERSION.RELEASE,
            isEmulator = Build.FINGERPRINT.contains("generic") || Build.MODEL.contains("Emulator") ||
                Build.PRODUCT.contains("sdk"),
            isProd = (context.applicationInfo.flags and ApplicationInfo.FLAG_DEBUGGABLE) == 0,
            // What @capgo/capacitor-updater left when the app ran it (docs/migrating-from-capgo.md):
            // its bundle folders, partial downloads and delta cache, removed once in the background.
            leftoverPaths = listOf(
                File(context.filesDir, "versions").path,
                File(context.filesDir, "update_*.dat").path,
                File(context.filesDir, "temp_*.tmp").path,
                File(context.cacheDir, "capgo_downloads").path,
            ),
        )
    }

    /** The APK's `assets/public` for delta updates: builtin files are read (and hash-checked by
     *  the core) in place, never copied out of the APK. */
    fun builtinAssets(): BuiltinAssets = object : BuiltinAssets {
        override fun read(path: String): ByteArray? = try {
            context.assets.open("public/$path").use { it.readBytes() }
        } catch (e: java.io.IOException) {
            null
        }
    }

    /** Foreground/background of the whole process drive the engine's lifecycle rules. */
    fun observeLifecycle(shell: PluginShell) {
        main.post {
            ProcessLifecycleOwner.get().lifecycle.addObserver(object : DefaultLifecycleObserver {
                override fun onStart(owner: LifecycleOwner) = shell.foreground()
                override fun onStop(owner: LifecycleOwner) = shell.background()
            })
        }
    }

    override fun notifyListeners(event: String, data: JSONObject, retain: Boolean) {
        main.post { plugin.emit(event, JSObject(data.toString()), retain) }
    }

    override fun showBundle(builtin: Boolean, webRoot: String, launchId: String, reload: Boolean) {
        if (!reload) {
            // Plugin load: the bridge has not loaded the web view yet and reads its start folder
            // from CapWebViewSettings/serverBasePath (no value = the APK's assets/public).
            val prefs = context.getSharedPreferences("CapWebViewSettings", android.content.Context.MODE_PRIVATE)
            prefs.edit().apply { if (builtin) remove("serverBasePath") else putString("serverBasePath", webRoot) }.commit()
            injectLaunchToken(launchId)
            return
        }
        main.post {
            val bridge = plugin.bridge
            injectLaunchToken(launchId)
            // Both calls point the web view at the new root and load it.
            if (builtin) bridge.setServerAssetPath("public") else bridge.setServerBasePath(webRoot)
        }
    }

    /** `window.__liveupdate = {launchId}` before the page's own scripts, for this page only. */
    private fun injectLaunchToken(launchId: String) {
        val webView = plugin.bridge.webView
        val script = "window.__liveupdate = { launchId: " + JSONObject.quote(launchId) + " };"
        if (WebViewFeature.isFeatureSupported(WebViewFeature.DOCUMENT_START_SCRIPT)) {
            tokenScript?.remove()
            tokenScript = WebViewCompat.addDocumentStartJavaScript(webView, script, setOf("*"))
        } else {
            webView.evaluateJavascript(script, null)
        }
    }

    private var tokenScript: androidx.webkit.ScriptHandler? = null

    /** Through @capacitor/splash-screen's own JS API, when the app has it. */
    override fun splash(show: Boolean) {
        val method = if (show) "show" else "hide"
        main.post {
            plugin.bridge.webView.evaluateJavascript(
                "window.Capacitor && Capacitor.Plugins.SplashScreen && Capacitor.Plugins.SplashScreen.$method()",
                null,
            )
        }
    }
}
