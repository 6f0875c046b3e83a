// SDP text to `SessionDescription` (RFC 8866 section 5 and 9). Lines end in CRLF or LF (section 5
// asks parsers to accept both); every line is checked against its type's grammar, and the first
// one that breaks it is reported with its number and text.

extension SessionDescription {
    /// Parses an SDP description. Throws on the first malformed line, naming it.
    public init(parsing text: String) throws(SDPError) {
        try self.init(lines: Self.splitLines(text)[...], firstLine: 1)
    }

    /// Parses a text holding one or more descriptions one after another, each starting at its
    /// `v=` line (empty lines between them are skipped): a log or a file of offers. Each comes
    /// with the number of its `v=` line in the text; errors name lines of the whole text.
    public static func parseAll(_ text: String) throws(SDPError) -> [(description: SessionDescription, firstLine: Int)] {
        var result: [(description: SessionDescription, firstLine: Int)] = []
        try parseEach(text) { result.append(($0, $1)) }
        return result
    }

    /// `parseAll` one description at a time, so a large log never holds them all: `body` gets each
    /// description and the number of its `v=` line. Stops at the first malformed line.
    public static func parseEach(_ text: String, _ body: (SessionDescription, Int) -> Void) throws(SDPError) {
        let lines = splitLines(text)
        guard !lines.isEmpty else { throw SDPError(line: 1, text: "", problem: .empty) }
        var start = lines.firstIndex { !$0.isEmpty } ?? 0
        while start < lines.count {
            var end = start + 1
            while end < lines.count && !lines[end].utf8.starts(with: [UInt8(ascii: "v"), UInt8(ascii: "=")]) { end += 1 }
            var last = end
            while last > start + 1 && lines[last - 1].isEmpty { last -= 1 }
            body(try SessionDescription(lines: lines[start..<last], firstLine: start + 1), start + 1)
            start = end
        }
    }

    /// Parses `lines`, the first of which is line `firstLine` of the text.
    init(lines: ArraySlice<Substring>, firstLine: Int) throws(SDPError) {
        let lines = Array(lines)
        guard !lines.isEmpty else { throw SDPError(line: firstLine, text: "", problem: .empty) }
        var session: [SDPLine] = []
        var media: [MediaDescription] = []
        var seen: Set<Character> = []

        func checkSessionComplete(at number: Int, _ text: Substring) throws(SDPError) {
            for required: Character in ["o", "s"] where !seen.contains(required) {
                throw SDPError(line: number, text: text, problem: .missing(required))
            }
        }

        for (index, raw) in lines.enumerated() {
            let number = firstLine + index
            func fail(_ problem: SDPProblem) -> SDPError { SDPError(line: number, text: raw, problem: problem) }
            guard !raw.isEmpty else { throw fail(.emptyLine) }
            let utf8 = raw.utf8
            guard utf8.count >= 2, let letter = utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(letter),
                  utf8[utf8.index(after: utf8.startIndex)] == UInt8(ascii: "=")
            else { throw fail(.notTypeValue) }
            guard !utf8.contains(where: { $0 == 0 || $0 == 13 }) else { throw fail(.controlCharacter) }
            let type = Character(Unicode.Scalar(letter))
            let value = raw.dropFirst(2)
            if index == 0 {
                guard type == "v" else { throw fail(.versionFirst) }
            }
            if type == "m" {
                if media.isEmpty { try checkSessionComplete(at: number, raw) }
                guard let m = Self.media(value) else {
                    throw fail(.badValue(expected: "m=<media> <port>[/<count>] <proto> <fmt> ... (e.g. m=video 5004 RTP/AVPF 96)"))
                }
                media.append(MediaDescription(media: m))
                continue
            }
            if media.isEmpty {
                if "vos".contains(type) {
                    guard seen.insert(type).inserted else { throw fail(.repeated(type)) }
                }
            } else if "vostrz".contains(type) {
                throw fail(.sessionLevelOnly(type))
            }
            let line = try Self.line(type: type, value: value, fail: fail)
            if media.isEmpty { session.append(line) } else { media[media.count - 1].lines.append(line) }
        }
        if media.isEmpty { try checkSessionComplete(at: firstLine + lines.count - 1, lines[lines.count - 1]) }
        self.init(lines: session, media: media)
    }

    /// The lines without their LF or CRLF; trailing empty lines dropped.
    static func splitLines(_ text: String) -> [Substring] {
        let utf8 = text.utf8
        var lines: [Substring] = []
        var start = utf8.startIndex
        var i = start
        func cut(_ end: String.Index) -> Substring {
            var end = end
            if end > start, utf8[utf8.index(before: end)] == 13 { end = utf8.index(before: end) }
            // LF and CR are grapheme boundaries on both sides (UAX #29 GB4, GB5), so these indices are too.
            return text[start..<end]
        }
        while i != utf8.endIndex {
            if utf8[i] == 10 {
                lines.append(cut(i))
                start = utf8.index(after: i)
            }
            i = utf8.index(after: i)
        }
        if start != utf8.endIndex { lines.append(cut(utf8.endIndex)) }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    static func line(type: Character, value: Substring, fail: (SDPProblem) -> SDPError) throws(SDPError) -> SDPLine {
        switch type {
        case "v":
            guard value == "0" else { throw fail(.unsupportedVersion) }
            return .version(0)
        case "o":
            let f = fields(value)
            guard f.count == 6, isDigits(f[1]), isDigits(f[2]) else {
                throw fail(.badValue(expected: "o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address> (e.g. o=- 0 0 IN IP4 192.0.2.1)"))
            }
            return .origin(SDPOrigin(username: String(f[0]), sessionID: String(f[1]), sessionVersion: String(f[2]),
                                     networkType: String(f[3]), addressType: String(f[4]), address: String(f[5])))
        case "s":
            return .sessionName(String(value))
        case "c":
            let f = fields(value)
            guard f.count == 3, let c = connection(f[0], f[1], f[2]) else {
                throw fail(.badValue(expected: "c=<nettype> <addrtype> <address>, e.g. c=IN IP4 192.0.2.20 or c=IN IP6 2001:db8::20"))
            }
            return .connection(c)
        case "b":
            guard let colon = firstIndex(of: UInt8(ascii: ":"), in: value), isToken(value[..<colon]),
                  let bandwidth: UInt64 = decimal(value[value.index(after: colon)...])
            else { throw fail(.badValue(expected: "b=<bwtype>:<bandwidth>, e.g. b=AS:4000")) }
            return .bandwidth(type: String(value[..<colon]), value: bandwidth)
        case "t":
            let f = fields(value)
            guard f.count == 2, let start: UInt64 = decimal(f[0]), let stop: UInt64 = decimal(f[1]) else {
                throw fail(.badValue(expected: "t=<start-time> <stop-time>, e.g. t=0 0"))
            }
            return .timing(start: start, stop: stop)
        case "a":
            return .attribute(try attribute(value, fail: fail))
        default:
            return .other(type: type, value: String(value))
        }
    }

    static func attribute(_ text: Substring, fail: (SDPProblem) -> SDPError) throws(SDPError) -> SDPAttribute {
        let colon = firstIndex(of: UInt8(ascii: ":"), in: text)
        let name = text[..<(colon ?? text.endIndex)]
        let value = colon.map { text[text.index(after: $0)...] }
        guard isToken(name) else { throw fail(.badValue(expected: "a=<attribute> or a=<attribute>:<value>")) }
        switch name {
        case "rtcp":
            let f = fields(value ?? "")
            guard f.count == 1 || f.count == 4, let port: UInt16 = decimal(f[0]) else {
                throw fail(.badValue(expected: "a=rtcp:<port> [IN IP4 <address>] (RFC 3605), e.g. a=rtcp:5005"))
            }
            if f.count == 1 { return .rtcp(port: port, connection: nil) }
            guard let c = connection(f[1], f[2], f[3]) else {
                throw fail(.badValue(expected: "a=rtcp:<port> IN IP4 <address> with a valid address (RFC 3605)"))
            }
            return .rtcp(port: port, connection: c)
        case "rtcp-mux":
            guard value == nil else { throw fail(.badValue(expected: "a=rtcp-mux without a value")) }
            return .rtcpMux
        case "rtcp-fb":
            let f = fields(value ?? "")
            guard f.count >= 2, f[0] == "*" || isPayloadType(f[0]), isToken(f[1]) else {
                throw fail(.badValue(expected: "a=rtcp-fb:<payload type|*> <type> [<parameter>] (RFC 4585), e.g. a=rtcp-fb:96 nack pli"))
            }
            let parameter = f.count > 2 ? f[2...].joined(separator: " ") : nil
            return .rtcpFeedback(SDPFeedback(format: String(f[0]), type: String(f[1]), parameter: parameter))
        case "rtpmap":
            let f = fields(value ?? "")
            let parts = f.count == 2 ? f[1].split(separator: "/", omittingEmptySubsequences: false) : []
            guard f.count == 2, isPayloadType(f[0]), let payloadType: UInt8 = decimal(f[0]), (2...3).contains(parts.count),
                  isToken(parts[0]), let clock: UInt32 = decimal(parts[1]), clock > 0
            else { throw fail(.badValue(expected: "a=rtpmap:<payload type> <encoding>/<clock rate>[/<channels>], e.g. a=rtpmap:96 H264/90000")) }
            var channels: UInt16? = nil
            if parts.count == 3 {
                guard let c: UInt16 = decimal(parts[2]) else {
                    throw fail(.badValue(expected: "a=rtpmap:<payload type> <encoding>/<clock rate>/<channels> with a number of channels"))
                }
                channels = c
            }
            return .rtpMap(SDPRTPMap(payloadType: payloadType, encoding: String(parts[0]), clockRate: clock, channels: channels))
        case "fmtp":
            let v = value ?? ""
            let space = firstIndex(of: UInt8(ascii: " "), in: v)
            let format = v[..<(space ?? v.endIndex)]
            guard isToken(format) else { throw fail(.badValue(expected: "a=fmtp:<format> <parameters>, e.g. a=fmtp:96 packetization-mode=1")) }
            return .formatParameters(format: String(format), parameters: space.map { String(v[v.index(after: $0)...]) } ?? "")
        case "ssrc":
            let v = value ?? ""
            let space = firstIndex(of: UInt8(ascii: " "), in: v)
            let rest = space.map { v[v.index(after: $0)...].drop { $0 == " " } } ?? ""
            let attributeColon = firstIndex(of: UInt8(ascii: ":"), in: rest)
            let attribute = rest[..<(attributeColon ?? rest.endIndex)]
            guard let space, let id: UInt32 = decimal(v[..<space]), isToken(attribute) else {
                throw fail(.badValue(expected: "a=ssrc:<ssrc> <attribute>[:<value>] (RFC 5576), e.g. a=ssrc:1234 cname:camera"))
            }
            return .ssrc(id: id, attribute: String(attribute), value: attributeColon.map { String(rest[rest.index(after: $0)...]) })
        case "direction":
            guard let v = value, let direction = SDPConnectionDirection(rawValue: String(v)) else {
                throw fail(.badValue(expected: "a=direction:active, passive or both"))
            }
            return .direction(direction)
        case "sendrecv", "sendonly", "recvonly", "inactive":
            guard value == nil else { throw fail(.badValue(expected: "a=\(name) without a value")) }
            return .mediaDirection(SDPMediaDirection(rawValue: String(name))!)
        default:
            return .other(name: String(name), value: value.map(String.init))
        }
    }

    static func media(_ value: Substring) -> SDPMedia? {
        let f = fields(value)
        // RFC 8866 section 9: proto = token *("/" token).
        guard f.count >= 4, isToken(f[0]), f[2].split(separator: "/", omittingEmptySubsequences: false).allSatisfy(isToken) else { return nil }
        let port = f[1].split(separator: "/", omittingEmptySubsequences: false)
        guard port.count <= 2, let number: UInt16 = decimal(port[0]) else { return nil }
        var count: UInt16? = nil
        if port.count == 2 {
            guard let c: UInt16 = decimal(port[1]) else { return nil }
            count = c
        }
        let formats = f[3...]
        guard formats.allSatisfy(isToken) else { return nil }
        return SDPMedia(type: String(f[0]), port: number, portCount: count, transport: String(f[2]), formats: formats.map(String.init))
    }

    /// `<nettype> <addrtype> <address>`: for IP4 and IP6 the address is a literal of that family
    /// (with an optional `/ttl[/count]`) or a domain name; other types are kept as written.
    static func connection(_ networkType: Substring, _ addressType: Substring, _ address: Substring) -> SDPConnection? {
        guard isToken(networkType), isToken(addressType), !address.isEmpty else { return nil }
        if addressType == "IP4" || addressType == "IP6" {
            let parts = address.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 3, parts.dropFirst().allSatisfy({ (decimal($0) as UInt32?) != nil }) else { return nil }
            let literal = parts[0]
            if addressType == "IP4" {
                if literal.allSatisfy({ $0 == "." || $0.isASCII && $0.isNumber }) {
                    guard IPAddress(literal)?.isIPv4 == true else { return nil }
                } else if !isDomainName(literal) {
                    return nil
                }
            } else {
                if literal.contains(":") {
                    guard IPAddress(literal)?.isIPv6 == true else { return nil }
                } else if !isDomainName(literal) || literal.allSatisfy({ $0 == "." || $0.isASCII && $0.isNumber }) {
                    return nil
                }
            }
        }
        return SDPConnection(networkType: String(networkType), addressType: String(addressType), address: String(address))
    }

    /// The space-separated fields; split on UTF-8 bytes (a space is always a grapheme boundary),
    /// which spares the Character machinery on the hot path.
    static func fields(_ text: Substring) -> [Substring] {
        text.utf8.split(separator: UInt8(ascii: " ")).map { Substring($0) }
    }

    /// The index of the first `byte` (ASCII) in `text`.
    static func firstIndex(of byte: UInt8, in text: Substring) -> Substring.Index? {
        text.utf8.firstIndex(of: byte)
    }

    /// RFC 8866 section 9 `token`: visible ASCII except the separators it lists.
    static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { c in
            c > 0x20 && c < 0x7F && c != UInt8(ascii: "\"") && c != UInt8(ascii: "(") && c != UInt8(ascii: ")")
                && c != UInt8(ascii: ",") && c != UInt8(ascii: "/") && c != UInt8(ascii: ":") && c != UInt8(ascii: ";")
                && c != UInt8(ascii: "<") && c != UInt8(ascii: "=") && c != UInt8(ascii: ">") && c != UInt8(ascii: "?")
                && c != UInt8(ascii: "@") && c != UInt8(ascii: "[") && c != UInt8(ascii: "]") && c != UInt8(ascii: "\\")
                && c != UInt8(ascii: "{") && c != UInt8(ascii: "}")
        }
    }

    static func isDomainName(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { c in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
                || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
        }
    }

    static func isDigits(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    static func isPayloadType(_ text: Substring) -> Bool {
        guard let value: UInt8 = decimal(text) else { return false }
        return value <= 127
    }

    /// Decimal digits only (no sign, no spaces), within `T`'s range.
    static func decimal<T: FixedWidthInteger>(_ text: Substring) -> T? {
        guard !text.isEmpty, text.utf8.count <= 20 else { return nil }
        var value: T = 0
        for c in text.utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(T(c - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = sum
        }
        return value
    }
}
