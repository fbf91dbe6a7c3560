// The iOS plugin's logic with Foundation only: forwards JS calls and lifecycle to the Rust engine
// through the UniFFI JSON bridge and turns its events and host actions into listener
// notifications and web-view changes. It decides nothing. The Kotlin twin is PluginShell.kt.
import Foundation

/// How a JS call ended.
enum Answer {
    case resolve([String: Any]?)
    case reject(String, String?, [String: Any]?)
}

/// What the shell needs from the platform (IOSHost; fakes in tests).
protocol ShellHost: AnyObject {
    func notifyListeners(_ event: String, _ data: [String: Any], retain: Bool)
    /// Points the web view at `webRoot` (the app's own `public` folder for builtin) with the page's launch token.
    func showBundle(builtin: Bool, webRoot: String, launchId: String, reload: Bool)
    func splash(show: Bool)
}

final class PluginShell: EngineHost {
    private weak var host: ShellHost?
    private var engine: PluginEngine?
    // Calls run one at a time off the main thread, answered in order.
    private let calls = DispatchQueue(label: "app.liveupdate.calls")

    init(host: ShellHost) {
        self.host = host
    }

    func start(options: UpdaterOptions) throws {
        engine = try PluginEngine.start(options: options, host: self)
    }

    func call(method: String, optionsJson: String, done: @escaping (Answer) -> Void) {
        calls.async { done(self.callNow(method: method, optionsJson: optionsJson)) }
    }

    func callNow(method: String, optionsJson: String) -> Answer {
        guard let engine = engine else { return .reject("the updater did not start", "NOT_STARTED", nil) }
        switch engine.call(method: method, optionsJson: optionsJson) {
        case .resolve(let json):
            return .resolve(Self.object(json))
        case .reject(let message, let code, let dataJson):
            return .reject(message, code, dataJson.flatMap(Self.object))
        }
    }

    func foreground() { calls.async { self.engine?.foreground() } }
    func background() { calls.async { self.engine?.background() } }
    func shutdown() { calls.sync { self.engine?.shutdown() } }
    func launchId() -> String? { engine?.currentLaunchId() }

    // EngineHost: from engine threads, no engine lock held.
    func onEvent(name: String, dataJson: String) throws {
        host?.notifyListeners(name, Self.object(dataJson) ?? [:], retain: name == "set" || name == "appReady")
    }

    func onHostAction(actionJson: String) throws {
        guard let a = Self.object(actionJson), let kind = a["host"] as? String else { return }
        switch kind {
        case "load", "reload":
            let bundle = a["bundle"] as? [String: Any]
            host?.showBundle(builtin: (bundle?["id"] as? String) == "builtin",
                             webRoot: a["webRoot"] as? String ?? "",
                             launchId: a["launchId"] as? String ?? "",
                             reload: kind == "reload")
        case "splashShow": host?.splash(show: true)
        case "splashHide": host?.splash(show: false)
        default: break
        }
    }

    private static func object(_ json: String) -> [String: Any]? {
        guard let data = json.data(using: .utf8) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}
