import Synchronization
import Testing
import TestSupport
@testable import Web

@Suite("Paths, rate limiter, bodies, cookies, ranges, dates")
struct RequestPartsTests {
    @Test func pathSegmentsSplitOnSlashesAndDropEmptyOnes() {
        #expect(HTTPRequest.segments(of: "/api/v1/recordings") == ["api", "v1", "recordings"])
        #expect(HTTPRequest.segments(of: "//api//v1/") == ["api", "v1"])
        #expect(HTTPRequest.segments(of: "/") == [])
        #expect(HTTPRequest.segments(of: "") == [])
        #expect(HTTPRequest.segments(of: "healthz") == ["healthz"])
        #expect(HTTPRequest.segments(of: "/recordings/caméra/1") == ["recordings", "caméra", "1"])
    }

    @Test func rateLimitsPerClientAndClassWith429AndRetryAfter() {
        let clock = Mutex<Double>(0)
        let limiter = RateLimiter(limits: [.api: .init(perSecond: 2, burst: 3), .health: .unlimited], now: { clock.withLock { $0 } })
        #expect((0..<3).map { _ in limiter.admit("10.0.0.1", .api) } == [.allowed, .allowed, .allowed])
        #expect(limiter.admit("10.0.0.1", .api) == .limited(retryAfterSeconds: 1))
        let refused = RateLimiter.tooManyRequests(retryAfterSeconds: 1)
        #expect(refused.status == 429)
        #expect(refused.header("Retry-After") == "1")
        #expect(String(decoding: refused.bodyBytes, as: UTF8.self).hasPrefix(#"{"error":{"code":"rate-limited","message":"#))
        // Another client and another class are not affected.
        #expect(limiter.admit("10.0.0.2", .api) == .allowed)
        #expect((0..<100).allSatisfy { _ in limiter.admit("10.0.0.1", .health) == .allowed })
        clock.withLock { $0 = 0.5 }
        #expect(limiter.admit("10.0.0.1", .api) == .allowed)
        #expect(limiter.admit("10.0.0.1", .api) != .allowed)
        #expect(limiter.rejections[.api] == 2)
    }

    @Test func retryAfterGrowsWithSlowRefill() {
        let limiter = RateLimiter(limits: [.login: .perMinute(6, burst: 1)], now: { 0 })
        #expect(limiter.admit("a", .login) == .allowed)
        #expect(limiter.admit("a", .login) == .limited(retryAfterSeconds: 10))
    }

    @Test func memoryStaysBoundedUnderManyAddresses() {
        let clock = Mutex<Double>(0)
        let limiter = RateLimiter(limits: [.api: .init(perSecond: 1, burst: 2)], maximumClients: 10_000, now: { clock.withLock { $0 } })
        for i in 0..<100_000 {
            let address = "10.\(i >> 16 & 255).\(i >> 8 & 255).\(i & 255)"
            _ = limiter.admit(address, .api)
            _ = limiter.admit(address, .api)
            #expect(limiter.admit(address, .api) != .allowed)
            if i % 1000 == 0 { clock.withLock { $0 += 0.001 } }
        }
        #expect(limiter.trackedClients <= 10_000)
        // A client seen just now is still limited (recent buckets are kept).
        #expect(limiter.admit("10.1.134.159", .api) != .allowed)
    }

    @Test func parsesFormBodiesWithPercentDecoding() {
        let form = FormData(parsing: "name=J%C3%B6rg+M&csrf=a%2Bb%3D&empty=&flag&bad=%zz%4")
        #expect(form["name"] == "Jörg M")
        #expect(form["csrf"] == "a+b=")
        #expect(form["empty"] == "")
        #expect(form["flag"] == "")
        #expect(form["bad"] == "%zz%4")
        let request = HTTPRequest(method: "POST", path: "/", headers: ["content-type": "application/x-www-form-urlencoded; charset=UTF-8"], body: Array("a=1&a=2".utf8))
        #expect(request.form.values("a") == ["1", "2"])
        #expect(HTTPRequest(method: "POST", path: "/", body: Array("a=1".utf8)).form["a"] == nil)
    }

    @Test func cookiesCarryTheFixedAttributes() {
        #expect(Cookie.set("camhost_session", "abc") == "camhost_session=abc; Secure; HttpOnly; SameSite=Strict; Path=/")
        #expect(Cookie.set("s", "v", maxAge: 60).hasSuffix("; Max-Age=60"))
        #expect(Cookie.expire("s") == "s=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
        var response = HTTPResponse.text("")
        response.setCookie(Cookie.set("a", "1"))
        response.setCookie(Cookie.set("b", "2"))
        #expect(response.headers.filter { $0.name == "Set-Cookie" }.count == 2)
    }

    @Test func ranges() {
        #expect(FileResponse.parseRange("bytes=0-9", size: 100) == .range(0, 9))
        #expect(FileResponse.parseRange("bytes=90-", size: 100) == .range(90, 99))
        #expect(FileResponse.parseRange("bytes=-10", size: 100) == .range(90, 99))
        #expect(FileResponse.parseRange("bytes=-1000", size: 100) == .range(0, 99))
        #expect(FileResponse.parseRange("bytes=50-5000", size: 100) == .range(50, 99))
        #expect(FileResponse.parseRange("bytes=100-", size: 100) == .unsatisfiable)
        #expect(FileResponse.parseRange("bytes=-0", size: 100) == .unsatisfiable)
        #expect(FileResponse.parseRange("bytes=0-", size: 0) == .unsatisfiable)
        #expect(FileResponse.parseRange("bytes=0-1,5-6", size: 100) == .none)
        #expect(FileResponse.parseRange("items=0-1", size: 100) == .none)
        #expect(FileResponse.parseRange("bytes=9-3", size: 100) == .none)
        #expect(FileResponse.parseRange("bytes=a-b", size: 100) == .none)
    }

    @Test func httpDates() {
        #expect(HTTPDate.format(epochSeconds: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(epochSeconds: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(epochSeconds: 1_709_164_800) == "Thu, 29 Feb 2024 00:00:00 GMT")
    }
}
