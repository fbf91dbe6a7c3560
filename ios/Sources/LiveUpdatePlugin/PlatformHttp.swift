import Foundation

/// Why the platform's HTTP stack failed a request (its message reaches the update error).
struct PlatformHttpFailure: Error, CustomStringConvertible {
    let description: String
}

/// The Rust core's requests carried by `URLSession`: HTTPS trusts what the phone trusts (system,
/// user- and MDM-installed CAs, App Transport Security), the system proxy applies, and the app
/// ships no TLS library. The core decides everything else: redirects are handed back to it (it
/// follows them under its URL policy), it sets `Range` / `If-Range` / `Accept-Encoding: identity`,
/// enforces limits and deadlines, and pulls each body in bounded chunks. Data arriving faster than
/// the core reads suspends the task above 1 MiB buffered, so memory stays bounded.
///
/// Called on the core's network threads, several at once; never calls back into the engine.
final class PlatformHttp: NSObject, HttpTransport, URLSessionDataDelegate, @unchecked Sendable {
    private final class Answer {
        let task: URLSessionDataTask
        let timeout: TimeInterval
        var status: Int?
        var headers: [HttpHeader] = []
        var buffered = Data()
        var finished = false
        var failure: Error?
        var suspended = false
        init(task: URLSessionDataTask, timeout: TimeInterval) {
            self.task = task
            self.timeout = timeout
        }
    }

    private static let highWater = 1 << 20
    private let cond = NSCondition()
    private var byTask: [Int: Answer] = [:]
    private var byId: [UInt64: Answer] = [:]
    private var nextId: UInt64 = 1
    private var session: URLSession!

    override init() {
        super.init()
        let config = URLSessionConfiguration.ephemeral
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.urlCache = nil
        config.httpShouldSetCookies = false
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: config, delegate: self, delegateQueue: queue)
    }

    func send(request: HttpRequest) throws -> HttpResponseHead {
        guard let url = URL(string: request.url) else {
            throw PlatformHttpFailure(description: "invalid URL")
        }
        let timeout = max(0.001, TimeInterval(request.timeoutMs) / 1000)
        var req = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        req.httpMethod = request.method
        for h in request.headers {
            req.setValue(h.value, forHTTPHeaderField: h.name)
        }
        req.httpBody = request.body
        let task = session.dataTask(with: req)
        let answer = Answer(task: task, timeout: timeout)
        cond.lock()
        byTask[task.taskIdentifier] = answer
        cond.unlock()
        task.resume()
        // Until the status and headers are in, or the task ends (bounded: the connect and idle
        // timeouts end the task; the wait is a backstop).
        let limit = Date().addingTimeInterval(timeout * 2 + 5)
        cond.lock()
        defer { cond.unlock() }
        while answer.status == nil && !answer.finished {
            if !cond.wait(until: limit) { break }
        }
        guard let status = answer.status else {
            byTask[task.taskIdentifier] = nil
            task.cancel()
            throw answer.failure ?? PlatformHttpFailure(description: "no answer within the time limit")
        }
        let id = nextId
        nextId += 1
        byId[id] = answer
        return HttpResponseHead(id: id, status: UInt16(clamping: status), headers: answer.headers)
    }

    func read(id: UInt64, maxBytes: UInt32) throws -> Data {
        cond.lock()
        defer { cond.unlock() }
        guard let answer = byId[id] else {
            throw PlatformHttpFailure(description: "no open answer \(id)")
        }
        let limit = Date().addingTimeInterval(answer.timeout + 5)
        while answer.buffered.isEmpty && !answer.finished {
            if !cond.wait(until: limit) {
                throw PlatformHttpFailure(description: "no data within the time limit")
            }
        }
        if answer.buffered.isEmpty {
            if let failure = answer.failure { throw failure }
            return Data()
        }
        let n = min(Int(maxBytes), answer.buffered.count)
        let chunk = answer.buffered.prefix(n)
        answer.buffered.removeFirst(n)
        if answer.suspended && answer.buffered.count < PlatformHttp.highWater {
            answer.suspended = false
            answer.task.resume()
        }
        return Data(chunk)
    }

    func close(id: UInt64) {
        cond.lock()
        let answer = byId.removeValue(forKey: id)
        if let answer = answer {
            byTask[answer.task.taskIdentifier] = nil
        }
        cond.unlock()
        answer?.task.cancel()
    }

    // MARK: URLSessionDataDelegate (on the session's serial queue)

    func urlSession(_ session: URLSession, task: URLSessionTask,
                    willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
                    completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil) // the 3xx goes back to the core, which follows it under its URL policy
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        cond.lock()
        if let answer = byTask[dataTask.taskIdentifier], let http = response as? HTTPURLResponse {
            answer.status = http.statusCode
            answer.headers = http.allHeaderFields.compactMap { key, value in
                guard let name = key as? String else { return nil }
                return HttpHeader(name: name, value: "\(value)")
            }
            cond.broadcast()
        }
        cond.unlock()
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        cond.lock()
        if let answer = byTask[dataTask.taskIdentifier] {
            answer.buffered.append(data)
            if answer.buffered.count >= PlatformHttp.highWater && !answer.suspended {
                answer.suspended = true
                dataTask.suspend()
            }
            cond.broadcast()
        }
        cond.unlock()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        cond.lock()
        if let answer = byTask[task.taskIdentifier] {
            answer.finished = true
            if let error = error {
                answer.failure = PlatformHttpFailure(description: error.localizedDescription)
            }
            cond.broadcast()
        }
        cond.unlock()
    }
}
