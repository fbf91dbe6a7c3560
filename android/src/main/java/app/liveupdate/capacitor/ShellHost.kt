// What the Android shell needs from the platform: the web view, listeners, splash, the main thread.
// Implemented by AndroidHost (the only file with android.* imports) and by fakes in JVM tests.
package app.liveupdate.capacitor

import org.json.JSONObject

/** The platform side of the shell. Every call may come from an engine thread. */
interface ShellHost {
    /** Delivers a JS event to the plugin's listeners (`retain`: kept until a listener consumes it). */
    fun notifyListeners(event: String, data: JSONObject, retain: Boolean)

    /**
     * Points the web view at a bundle and (when `reload`) reloads it. `builtin`: the app's own
     * assets (`setServerAssetPath("public")`), else the folder `webRoot`. `launchId` must be
     * injected into the page as `window.__liveupdate = {launchId}` before its scripts run.
     */
    fun showBundle(builtin: Boolean, webRoot: String, launchId: String, reload: Boolean)

    /** Shows or hides the splash screen (autoSplashscreen). */
    fun splash(show: Boolean)
}
