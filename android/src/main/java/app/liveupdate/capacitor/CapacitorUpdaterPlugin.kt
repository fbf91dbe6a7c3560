// The Capacitor plugin class: one @PluginMethod per Capgo method, each forwarding the call's data to
// the Rust engine and resolving or rejecting with its answer. No update rule lives here, and no
// android.* API is used here (AndroidHost holds those), so this file is type-checked on any JVM
// against Capacitor's real Android sources.
package app.liveupdate.capacitor

import com.getcapacitor.JSObject
import com.getcapacitor.Plugin
import com.getcapacitor.PluginCall
import com.getcapacitor.PluginMethod
import com.getcapacitor.annotation.CapacitorPlugin

@CapacitorPlugin(name = "CapacitorUpdater")
class CapacitorUpdaterPlugin : Plugin() {
    private var shell: PluginShell? = null

    /** Plugin load, before the web view loads: the engine decides the launch bundle now. */
    override fun load() {
        val host = AndroidHost(this)
        val s = PluginShell(host)
        shell = s
        // A library that cannot load (or an engine that cannot start) leaves the app on its
        // builtin bundle and makes every call reject with a clear code: never a crash at start.
        val started = s.startGuarded {
            // Every request goes through the platform's HTTP stack: HTTPS trusts what the phone
            // trusts (network security config, user and MDM CAs); the phone build has no HTTP client.
            app.liveupdate.setHttpTransport(PlatformHttp())
            // Delta updates reuse the APK's own web files, read in place.
            app.liveupdate.setBuiltinAssets(host.builtinAssets())
            host.engineOptions()
        }
        if (started) host.observeLifecycle(s)
    }

    /** notifyListeners for the host (it is protected in Plugin). */
    internal fun emit(event: String, data: JSObject, retain: Boolean) = notifyListeners(event, data, retain)

    private fun forward(call: PluginCall) {
        val s = shell ?: return call.reject("the updater did not start", "NOT_STARTED")
        s.call(call.methodName, call.data.toString()) { answer ->
            when (answer) {
                is Answer.Resolve -> answer.data?.let { call.resolve(JSObject(it.toString())) } ?: call.resolve()
                is Answer.Reject -> call.reject(answer.message, answer.code, answer.data?.let { JSObject(it.toString()) })
            }
        }
    }

    override fun handleOnDestroy() {
        shell?.shutdown()
    }

    @PluginMethod
    fun notifyAppReady(call: PluginCall) = forward(call)

    @PluginMethod
    fun setUpdateUrl(call: PluginCall) = forward(call)

    @PluginMethod
    fun setStatsUrl(call: PluginCall) = forward(call)

    @PluginMethod
    fun setChannelUrl(call: PluginCall) = forward(call)

    @PluginMethod
    fun download(call: PluginCall) = forward(call)

    @PluginMethod
    fun next(call: PluginCall) = forward(call)

    @PluginMethod
    fun `set`(call: PluginCall) = forward(call)

    @PluginMethod
    fun startPreviewSession(call: PluginCall) = forward(call)

    @PluginMethod
    fun listPreviews(call: PluginCall) = forward(call)

    @PluginMethod
    fun setPreview(call: PluginCall) = forward(call)

    @PluginMethod
    fun resetPreview(call: PluginCall) = forward(call)

    @PluginMethod
    fun deletePreview(call: PluginCall) = forward(call)

    @PluginMethod
    fun checkPreviewUpdate(call: PluginCall) = forward(call)

    @PluginMethod
    fun updatePreview(call: PluginCall) = forward(call)

    @PluginMethod
    fun `delete`(call: PluginCall) = forward(call)

    @PluginMethod
    fun setBundleError(call: PluginCall) = forward(call)

    @PluginMethod
    fun list(call: PluginCall) = forward(call)

    @PluginMethod
    fun reset(call: PluginCall) = forward(call)

    @PluginMethod
    fun current(call: PluginCall) = forward(call)

    @PluginMethod
    fun reload(call: PluginCall) = forward(call)

    @PluginMethod
    fun setMultiDelay(call: PluginCall) = forward(call)

    @PluginMethod
    fun cancelDelay(call: PluginCall) = forward(call)

    @PluginMethod
    fun triggerUpdateCheck(call: PluginCall) = forward(call)

    @PluginMethod
    fun getLatest(call: PluginCall) = forward(call)

    @PluginMethod
    fun getMissingBundleFiles(call: PluginCall) = forward(call)

    @PluginMethod
    fun getBundleDownloadSize(call: PluginCall) = forward(call)

    @PluginMethod
    fun setChannel(call: PluginCall) = forward(call)

    @PluginMethod
    fun unsetChannel(call: PluginCall) = forward(call)

    @PluginMethod
    fun getChannel(call: PluginCall) = forward(call)

    @PluginMethod
    fun listChannels(call: PluginCall) = forward(call)

    @PluginMethod
    fun setCustomId(call: PluginCall) = forward(call)

    @PluginMethod
    fun getBuiltinVersion(call: PluginCall) = forward(call)

    @PluginMethod
    fun getDeviceId(call: PluginCall) = forward(call)

    @PluginMethod
    fun getPluginVersion(call: PluginCall) = forward(call)

    @PluginMethod
    fun isAutoUpdateEnabled(call: PluginCall) = forward(call)

    @PluginMethod
    fun isAutoUpdateAvailable(call: PluginCall) = forward(call)

    @PluginMethod
    fun getNextBundle(call: PluginCall) = forward(call)

    @PluginMethod
    fun getFailedUpdate(call: PluginCall) = forward(call)

    @PluginMethod
    fun setShakeMenu(call: PluginCall) = forward(call)

    @PluginMethod
    fun isShakeMenuEnabled(call: PluginCall) = forward(call)

    @PluginMethod
    fun setShakeChannelSelector(call: PluginCall) = forward(call)

    @PluginMethod
    fun isShakeChannelSelectorEnabled(call: PluginCall) = forward(call)

    @PluginMethod
    fun getAppId(call: PluginCall) = forward(call)

    @PluginMethod
    fun setAppId(call: PluginCall) = forward(call)

    @PluginMethod
    fun getAppUpdateInfo(call: PluginCall) = forward(call)

    @PluginMethod
    fun openAppStore(call: PluginCall) = forward(call)

    @PluginMethod
    fun performImmediateUpdate(call: PluginCall) = forward(call)

    @PluginMethod
    fun startFlexibleUpdate(call: PluginCall) = forward(call)

    @PluginMethod
    fun completeFlexibleUpdate(call: PluginCall) = forward(call)
}
