// Every UIKit/WebKit/Capacitor-bridge use of the iOS plugin: engine options from the app, the web
// view, the launch token (a document-start WKUserScript per page load), splash, app lifecycle.
import Capacitor
import Foundation
import UIKit
import WebKit

final class IOSHost: ShellHost {
    private weak var plugin: CapacitorUpdaterPlugin?
    private var observers: [NSObjectProtocol] = []

    init(plugin: CapacitorUpdaterPlugin) {
        self.plugin = plugin
    }

    func engineOptions() -> UpdaterOptions {
        let fm = FileManager.default
        let library = fm.urls(for: .libraryDirectory, in: .userDomainMask)[0]
        let data = library.appendingPathComponent("NoCloud/liveupdate", isDirectory: true)
        try? fm.createDirectory(at: data, withIntermediateDirectories: true)
        var excluded = URLResourceValues()
        excluded.isExcludedFromBackup = true
        var dataURL = data
        try? dataURL.setResourceValues(excluded)
        let builtin = Bundle.main.resourceURL?.appendingPathComponent("public").path ?? ""
        let config = Bundle.main.url(forResource: "capacitor.config", withExtension: "json")
            .flatMap { try? String(contentsOf: $0, encoding: .utf8) }
        let info = Bundle.main.infoDictionary ?? [:]
        #if targetEnvironment(simulator)
        let emulator = true
        #else
        let emulator = false
        #endif
        #if DEBUG
        let prod = false
        #else
        let prod = true
        #endif
        return UpdaterOptions(
            dataDir: data.path,
            builtinDir: builtin,
            capacitorConfigJson: config,
            nativeVersion: info["CFBundleShortVersionString"] as? String,
            versionCode: info["CFBundleVersion"] as? String ?? "",
            platform: "ios",
            osVersion: UIDevice.current.systemVersion,
            deviceId: nil,
            customId: "",
            isEmulator: emulator,
            isProd: prod,
            updateUrl: nil,
            statsUrl: nil,
            channelUrl: nil,
            allowInsecure: false,
            // What @capgo/capacitor-updater left when the app ran it (docs/migrating-from-capgo.md):
            // its bundle folders, partial downloads and delta cache, removed once in the background.
            leftoverPaths: IOSHost.capgoLeftovers()
        )
    }

    /// Capgo's on-disk places: Library/NoCloud/ionic_built_snapshots, Caches/capgo_downloads,
    /// Documents/package_*.tmp and Documents/update_*.dat.
    static func capgoLeftovers() -> [String] {
        let fm = FileManager.default
        var paths: [String] = []
        if let library = fm.urls(for: .libraryDirectory, in: .userDomainMask).first {
            paths.append(library.appendingPathComponent("NoCloud/ionic_built_snapshots").path)
        }
        if let caches = fm.urls(for: .cachesDirectory, in: .userDomainMask).first {
            paths.append(caches.appendingPathComponent("capgo_downloads").path)
        }
        if let documents = fm.urls(for: .documentDirectory, in: .userDomainMask).first {
            paths.append(documents.appendingPathComponent("package_*.tmp").path)
            paths.append(documents.appendingPathComponent("update_*.dat").path)
        }
        return paths
    }

    func observeLifecycle(_ shell: PluginShell) {
        let nc = NotificationCenter.default
        observers.append(nc.addObserver(forName: UIApplication.willEnterForegroundNotification, object: nil, queue: nil) { _ in
            shell.foreground()
        })
        observers.append(nc.addObserver(forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: nil) { _ in
            shell.background()
        })
        observers.append(nc.addObserver(forName: UIApplication.willTerminateNotification, object: nil, queue: nil) { _ in
            shell.shutdown()
        })
    }

    func notifyListeners(_ event: String, _ data: [String: Any], retain: Bool) {
        DispatchQueue.main.async { self.plugin?.emit(event, data, retain: retain) }
    }

    func showBundle(builtin: Bool, webRoot: String, launchId: String, reload: Bool) {
        DispatchQueue.main.async {
            guard let bridge = self.plugin?.bridge, let webView = bridge.webView else { return }
            // Capacitor's own bridge script is a user script too: never remove scripts. Each page load
            // adds one; they run in order at document start, so the newest token is the one the page sees.
            let controller = webView.configuration.userContentController
            let token = (try? JSONSerialization.data(withJSONObject: ["launchId": launchId]))
                .flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
            controller.addUserScript(WKUserScript(source: "window.__liveupdate = \(token);",
                                                  injectionTime: .atDocumentStart, forMainFrameOnly: true))
            // Capacitor ≥ 6 reads its own store, not UserDefaults: set the base path on the bridge itself.
            if let vc = bridge.viewController as? CAPBridgeViewController {
                vc.setServerBasePath(path: webRoot)
            }
            if reload { webView.reload() }
        }
    }

    func splash(show: Bool) {
        DispatchQueue.main.async {
            let method = show ? "show" : "hide"
            self.plugin?.bridge?.webView?.evaluateJavaScript(
                "window.Capacitor && Capacitor.Plugins.SplashScreen && Capacitor.Plugins.SplashScreen.\(method)()")
        }
    }
}
