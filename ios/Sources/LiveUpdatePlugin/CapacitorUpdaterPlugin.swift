// The Capacitor plugin class for iOS: a CAPPluginMethod per Capgo method, each forwarding the call's
// options to the Rust engine and resolving or rejecting with its answer. No update rule lives here.
// Compiled in the macOS workflow (no Swift toolchain on the Linux machines).
import Capacitor
import Foundation

@objc(CapacitorUpdaterPlugin)
public class CapacitorUpdaterPlugin: CAPPlugin, CAPBridgedPlugin {
    public let identifier = "CapacitorUpdaterPlugin"
    public let jsName = "CapacitorUpdater"
    public let pluginMethods: [CAPPluginMethod] = [
        CAPPluginMethod(name: "notifyAppReady", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setUpdateUrl", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setStatsUrl", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setChannelUrl", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "download", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "next", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "set", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "startPreviewSession", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "listPreviews", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setPreview", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "resetPreview", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "deletePreview", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "checkPreviewUpdate", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "updatePreview", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "delete", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setBundleError", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "list", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "reset", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "current", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "reload", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setMultiDelay", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "cancelDelay", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "triggerUpdateCheck", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getLatest", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getMissingBundleFiles", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getBundleDownloadSize", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setChannel", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "unsetChannel", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getChannel", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "listChannels", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setCustomId", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getBuiltinVersion", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getDeviceId", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getPluginVersion", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "isAutoUpdateEnabled", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "isAutoUpdateAvailable", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getNextBundle", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getFailedUpdate", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setShakeMenu", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "isShakeMenuEnabled", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setShakeChannelSelector", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "isShakeChannelSelectorEnabled", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getAppId", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "setAppId", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "getAppUpdateInfo", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "openAppStore", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "performImmediateUpdate", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "startFlexibleUpdate", returnType: CAPPluginReturnPromise),
        CAPPluginMethod(name: "completeFlexibleUpdate", returnType: CAPPluginReturnPromise),
    ]

    private var shell: PluginShell?
    private var host: IOSHost?

    /// Plugin load, before the web view loads: the engine decides the launch bundle now, then the
    /// app counts as in the foreground (what Capgo's iOS plugin does right after load).
    override public func load() {
        // Every request goes through URLSession: HTTPS trusts what the phone trusts (system, user
        // and MDM CAs, ATS); the phone build has no HTTP client of its own.
        setHttpTransport(transport: PlatformHttp())
        let host = IOSHost(plugin: self)
        let shell = PluginShell(host: host)
        do {
            try shell.start(options: host.engineOptions())
        } catch {
            CAPLog.print("liveupdate: the updater did not start: \(error)")
            return
        }
        self.host = host
        self.shell = shell
        host.observeLifecycle(shell)
        shell.foreground()
    }

    /// notifyListeners for the host.
    func emit(_ event: String, _ data: [String: Any], retain: Bool) {
        notifyListeners(event, data: data, retainUntilConsumed: retain)
    }

    private func forward(_ call: CAPPluginCall) {
        guard let shell = shell else {
            call.reject("the updater did not start", "NOT_STARTED")
            return
        }
        let options = (try? JSONSerialization.data(withJSONObject: call.options ?? [:]))
            .flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        shell.call(method: call.methodName, optionsJson: options) { answer in
            switch answer {
            case .resolve(let data):
                if let data = data { call.resolve(data) } else { call.resolve() }
            case .reject(let message, let code, let data):
                call.reject(message, code, nil, data)
            }
        }
    }

    deinit {
        shell?.shutdown()
    }

    @objc func notifyAppReady(_ call: CAPPluginCall) { forward(call) }
    @objc func setUpdateUrl(_ call: CAPPluginCall) { forward(call) }
    @objc func setStatsUrl(_ call: CAPPluginCall) { forward(call) }
    @objc func setChannelUrl(_ call: CAPPluginCall) { forward(call) }
    @objc func download(_ call: CAPPluginCall) { forward(call) }
    @objc func next(_ call: CAPPluginCall) { forward(call) }
    @objc func set(_ call: CAPPluginCall) { forward(call) }
    @objc func startPreviewSession(_ call: CAPPluginCall) { forward(call) }
    @objc func listPreviews(_ call: CAPPluginCall) { forward(call) }
    @objc func setPreview(_ call: CAPPluginCall) { forward(call) }
    @objc func resetPreview(_ call: CAPPluginCall) { forward(call) }
    @objc func deletePreview(_ call: CAPPluginCall) { forward(call) }
    @objc func checkPreviewUpdate(_ call: CAPPluginCall) { forward(call) }
    @objc func updatePreview(_ call: CAPPluginCall) { forward(call) }
    @objc func delete(_ call: CAPPluginCall) { forward(call) }
    @objc func setBundleError(_ call: CAPPluginCall) { forward(call) }
    @objc func list(_ call: CAPPluginCall) { forward(call) }
    @objc func reset(_ call: CAPPluginCall) { forward(call) }
    @objc func current(_ call: CAPPluginCall) { forward(call) }
    @objc func reload(_ call: CAPPluginCall) { forward(call) }
    @objc func setMultiDelay(_ call: CAPPluginCall) { forward(call) }
    @objc func cancelDelay(_ call: CAPPluginCall) { forward(call) }
    @objc func triggerUpdateCheck(_ call: CAPPluginCall) { forward(call) }
    @objc func getLatest(_ call: CAPPluginCall) { forward(call) }
    @objc func getMissingBundleFiles(_ call: CAPPluginCall) { forward(call) }
    @objc func getBundleDownloadSize(_ call: CAPPluginCall) { forward(call) }
    @objc func setChannel(_ call: CAPPluginCall) { forward(call) }
    @objc func unsetChannel(_ call: CAPPluginCall) { forward(call) }
    @objc func getChannel(_ call: CAPPluginCall) { forward(call) }
    @objc func listChannels(_ call: CAPPluginCall) { forward(call) }
    @objc func setCustomId(_ call: CAPPluginCall) { forward(call) }
    @objc func getBuiltinVersion(_ call: CAPPluginCall) { forward(call) }
    @objc func getDeviceId(_ call: CAPPluginCall) { forward(call) }
    @objc func getPluginVersion(_ call: CAPPluginCall) { forward(call) }
    @objc func isAutoUpdateEnabled(_ call: CAPPluginCall) { forward(call) }
    @objc func isAutoUpdateAvailable(_ call: CAPPluginCall) { forward(call) }
    @objc func getNextBundle(_ call: CAPPluginCall) { forward(call) }
    @objc func getFailedUpdate(_ call: CAPPluginCall) { forward(call) }
    @objc func setShakeMenu(_ call: CAPPluginCall) { forward(call) }
    @objc func isShakeMenuEnabled(_ call: CAPPluginCall) { forward(call) }
    @objc func setShakeChannelSelector(_ call: CAPPluginCall) { forward(call) }
    @objc func isShakeChannelSelectorEnabled(_ call: CAPPluginCall) { forward(call) }
    @objc func getAppId(_ call: CAPPluginCall) { forward(call) }
    @objc func setAppId(_ call: CAPPluginCall) { forward(call) }
    @objc func getAppUpdateInfo(_ call: CAPPluginCall) { forward(call) }
    @objc func openAppStore(_ call: CAPPluginCall) { forward(call) }
    @objc func performImmediateUpdate(_ call: CAPPluginCall) { forward(call) }
    @objc func startFlexibleUpdate(_ call: CAPPluginCall) { forward(call) }
    @objc func completeFlexibleUpdate(_ call: CAPPluginCall) { forward(call) }
}
