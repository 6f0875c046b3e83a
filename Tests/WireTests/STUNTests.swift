import Testing
@testable import Wire

@Suite("STUN")
struct STUNTests {
    let transaction: [UInt8] = [0xB7, 0xE7, 0xA7, 0x01, 0xBC, 0x34, 0xD6, 0x86, 0xFA, 0x87, 0xDF, 0xAE]

    @Test func bindingRequestIsTheBareTwentyBytes() {
        let bytes = STUNMessage.bindingRequest(transactionID: transaction).encoded()
        #expect(bytes == [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42] + transaction)
    }

    /// RFC 5769 section 2.2: sample IPv4 response (the FINGERPRINT and MESSAGE-INTEGRITY attributes
    /// are skipped by the reader; XOR-MAPPED-ADDRESS 192.0.2.1:32853, SOFTWARE "test vector" padded with a space).
    @Test func readsTheRFC5769IPv4Response() throws {
        let hex = "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000080001a147e112a643"
            + "000800144ec6ed2b9ede9fa0ec4e6a7ec7b10ddf4a1dcf8a80280004c07d4c96"
        let bytes = stride(from: 0, to: hex.count, by: 2).map { i -> UInt8 in
            let start = hex.index(hex.startIndex, offsetBy: i)
            return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
        }
        let message = try STUNMessage(decoding: bytes)
        #expect(message.type == STUNMessage.bindingSuccess)
        #expect(message.transactionID == transaction)
        #expect(message.mappedAddress == .init(address: IPAddress(192, 0, 2, 1), port: 32853))
        #expect(message.software == "test vector")
    }

    @Test(arguments: ["192.0.2.1", "2001:db8:1234:5678:11:2233:4455:6677"])
    func responsesRoundTrip(address: String) throws {
        var response = STUNMessage(type: STUNMessage.bindingSuccess, transactionID: transaction)
        response.mappedAddress = .init(address: try #require(IPAddress(address)), port: 32853)
        response.software = "camhost"
        let decoded = try STUNMessage(decoding: response.encoded())
        #expect(decoded == response)
    }

    @Test func errorResponsesCarryTheirCode() throws {
        var response = STUNMessage(type: STUNMessage.bindingError, transactionID: transaction)
        response.errorCode = .init(code: 420, reason: "Unknown Attribute")
        let decoded = try STUNMessage(decoding: response.encoded())
        #expect(decoded.errorCode == .init(code: 420, reason: "Unknown Attribute"))
        #expect(decoded.mappedAddress == nil)
    }

    @Test func malformedMessagesAreRefusedWithTheReason() {
        let request = STUNMessage.bindingRequest(transactionID: transaction).encoded()
        #expect(throws: STUNError.truncated(needed: 20, available: 19)) { try STUNMessage(decoding: Array(request.prefix(19))) }
        var noCookie = request
        noCookie[4] = 0
        #expect(throws: STUNError.notSTUN("no magic cookie 0x2112A442")) { try STUNMessage(decoding: noCookie) }
        var rtp = request
        rtp[0] = 0x80  // an RTP version-2 header
        #expect(throws: STUNError.self) { try STUNMessage(decoding: rtp) }
        // An attribute whose length runs past the message.
        let overrun = [0x01, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42] + transaction + [0x00, 0x20, 0x00, 0x40, 0, 1, 0, 0]
        #expect(throws: STUNError.badAttribute(type: 0x20, "its length 64 runs past the message")) { try STUNMessage(decoding: overrun) }
        // A length that promises more than arrived.
        #expect(throws: STUNError.truncated(needed: 28, available: 20)) {
            try STUNMessage(decoding: [0x01, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42] + transaction)
        }
    }
}
