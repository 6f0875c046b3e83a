import Testing
@testable import Wire

@Suite("IPAddress")
struct IPAddressTests {
    @Test(arguments: [
        ("192.0.2.1", "192.0.2.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("::", "::"),
        ("::1", "::1"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // RFC 5952 section 4.2.3: first of equal runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // section 4.2.2: one zero group stays
        ("fe80:0:0:0:1::", "fe80::1:0:0:0"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
    ])
    func roundTrip(text: String, canonical: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address.description == canonical)
        #expect(IPAddress(canonical) == address)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d",
        ":", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", ":1::", "1::2:",
        "fe80::1%eth0", "::ffff:1.2.3", "g::1", "1:2:3:4:5:6:7:8::",
    ])
    func rejects(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func classification() throws {
        #expect(IPAddress(127, 0, 0, 1).isLoopback)
        #expect(IPAddress(127, 1, 2, 3).isLoopback)
        #expect(!IPAddress(128, 0, 0, 1).isLoopback)
        #expect(IPAddress.ipv6Loopback.isLoopback)
        #expect(try #require(IPAddress("::ffff:127.0.0.1")).isLoopback)
        #expect(IPAddress.ipv4Unspecified.isUnspecified)
        #expect(IPAddress.ipv6Unspecified.isUnspecified)
        #expect(!IPAddress.ipv6Unspecified.isLoopback)
        #expect(!IPAddress(10, 0, 0, 1).isUnspecified)
        #expect(IPAddress(10, 0, 0, 1).isIPv4 && IPAddress.ipv6Loopback.isIPv6)
        #expect(IPAddress("0.0.0.0") != IPAddress("::"))
        #expect(Set([IPAddress(1, 2, 3, 4), IPAddress(ipv4: 0x0102_0304)]).count == 1)
    }
}
