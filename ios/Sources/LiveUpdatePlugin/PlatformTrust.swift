import Foundation
import Security

/// The phone's certificate trust, handed to the Rust core: each server chain is evaluated with
/// `SecTrust` under the SSL policy for the host, so the system roots, user- and MDM-installed
/// (and fully trusted) CAs apply as they do for URLSession. Called on the core's network threads;
/// it never calls back into the engine. The core checks the host name as well.
final class PlatformTrust: CertificateVerifier, @unchecked Sendable {
    func verify(host: String, chainDer: [Data]) throws -> String? {
        let certs = chainDer.compactMap { SecCertificateCreateWithData(nil, $0 as CFData) }
        guard !certs.isEmpty, certs.count == chainDer.count else {
            return "the server's certificates could not be read"
        }
        var trust: SecTrust?
        let policy = SecPolicyCreateSSL(true, host as CFString)
        guard SecTrustCreateWithCertificates(certs as CFArray, policy, &trust) == errSecSuccess,
              let trust = trust else {
            return "the certificate chain could not be evaluated"
        }
        var error: CFError?
        if SecTrustEvaluateWithError(trust, &error) {
            return nil
        }
        if let error = error {
            return CFErrorCopyDescription(error) as String
        }
        return "the certificate chain is not trusted"
    }
}
