// Swift binding smoke test (XCTest), for macOS CI: the full flow against a dev registry on loopback.
// This machine has no Swift toolchain; run on macOS with scripts/test-swift.sh.
import Foundation
import XCTest
@testable import LiveUpdate

final class LiveUpdateTests: XCTestCase {
    func testFullFlow() throws {
        let env = ProcessInfo.processInfo.environment
        let registry = try XCTUnwrap(env["LIVEUPDATE_REGISTRY_URL"])
        let fixtures = URL(fileURLWithPath: try XCTUnwrap(env["LIVEUPDATE_FIXTURES"]))
        let pem = try String(contentsOf: fixtures.appendingPathComponent("capgo_key_v2.pub"))
        XCTAssertEqual(try keyId(publicKeyPem: pem), "MIIBCgKCAQEApY7EX2bX")

        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        let www = tmp.appendingPathComponent("www")
        try FileManager.default.createDirectory(at: www, withIntermediateDirectories: true)
        try "<html>builtin</html>".write(to: www.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        let config: [String: Any] = ["appId": "com.example.liveupdate", "plugins": ["CapacitorUpdater": [
            "publicKey": pem, "updateUrl": "\(registry)/updates", "statsUrl": "\(registry)/stats"]]]
        let json = String(data: try JSONSerialization.data(withJSONObject: config), encoding: .utf8)

        let updater = try Updater(options: UpdaterOptions(
            dataDir: tmp.appendingPathComponent("data").path, builtinDir: www.path,
            capacitorConfigJson: json, nativeVersion: "1.0", platform: "ios"))
        XCTAssertEqual(try updater.launch().bundle.id, "builtin")
        guard case .installed(let bundle, _) = try updater.update() else { return XCTFail("not installed") }
        let launch = try updater.launch()
        XCTAssertEqual(launch.bundle.id, bundle.id)
        XCTAssertTrue(try updater.notifyAppReady(launchId: launch.launchId).accepted)
        XCTAssertTrue(try updater.list().contains { $0.id == bundle.id && $0.status == .success })
        XCTAssertThrowsError(try updater.next(id: "nope")) { error in
            guard case LiveUpdateError.Refused = error else { return XCTFail("\(error)") }
        }
    }
}
