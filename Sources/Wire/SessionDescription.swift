/// An SDP session description (RFC 8866): the session-level lines, then one section per `m=` line.
///
/// Every input line becomes one `SDPLine`, in order, unknown types and attributes included, so
/// `text` renders what was parsed (with CRLF line ends, RFC 8866 section 5) and line numbers can be
/// given back to people (`lineNumber(media:line:)`). Parse with `init(parsing:)`.
public struct SessionDescription: Hashable, Sendable {
    /// The session-level lines, from `v=` up to the first `m=`.
    public var lines: [SDPLine]
    /// The media descriptions, each starting at its `m=` line.
    public var media: [MediaDescription]

    public init(lines: [SDPLine], media: [MediaDescription] = []) {
        self.lines = lines
        self.media = media
    }

    /// The session-level connection (`c=`), which applies to media without their own (RFC 8866 section 5.7).
    public var connection: SDPConnection? {
        for line in lines { if case .connection(let c) = line { return c } }
        return nil
    }

    /// The session-level attributes, in order.
    public var attributes: [SDPAttribute] { lines.compactMap(\.attribute) }

    /// The description as SDP text: each line ended by CRLF.
    public var text: String {
        var out = ""
        for line in lines { line.render(into: &out) }
        for section in media {
            section.media.render(into: &out)
            for line in section.lines { line.render(into: &out) }
        }
        return out
    }

    /// The 1-based line number, in `text` and in the parsed input, of a session-level line
    /// (`media` nil), of media section `media`'s `m=` line (`line` nil), or of a line inside it.
    public func lineNumber(media index: Int? = nil, line: Int? = nil) -> Int {
        guard let index else { return (line ?? 0) + 1 }
        var number = lines.count
        for section in media[..<index] { number += 1 + section.lines.count }
        return number + 1 + (line.map { $0 + 1 } ?? 0)
    }
}

/// One `m=` section: the media line and the lines that follow it up to the next `m=`.
public struct MediaDescription: Hashable, Sendable {
    public var media: SDPMedia
    public var lines: [SDPLine]

    public init(media: SDPMedia, lines: [SDPLine] = []) {
        self.media = media
        self.lines = lines
    }

    /// The media-level connection (`c=`); nil when the section has none and the session's applies.
    public var connection: SDPConnection? {
        for line in lines { if case .connection(let c) = line { return c } }
        return nil
    }

    /// The attributes of this section, in order.
    public var attributes: [SDPAttribute] { lines.compactMap(\.attribute) }

    /// `a=rtcp` (RFC 3605): the port (and optionally the address) where RTCP for this media goes.
    public var rtcp: (port: UInt16, connection: SDPConnection?)? {
        for line in lines { if case .attribute(.rtcp(let port, let connection)) = line { return (port, connection) } }
        return nil
    }

    /// `a=rtcp-mux` (RFC 5761 section 5.1.1): RTP and RTCP share the media port.
    public var isRTCPMultiplexed: Bool { lines.contains(.attribute(.rtcpMux)) }

    /// The `a=rtcp-fb` lines (RFC 4585 section 4.2).
    public var rtcpFeedback: [SDPFeedback] {
        lines.compactMap { if case .attribute(.rtcpFeedback(let f)) = $0 { f } else { nil } }
    }

    /// The `a=rtpmap` lines (RFC 8866 section 6.6).
    public var rtpMaps: [SDPRTPMap] {
        lines.compactMap { if case .attribute(.rtpMap(let m)) = $0 { m } else { nil } }
    }

    /// The `a=fmtp` parameters of `format`, if any.
    public func formatParameters(for format: String) -> String? {
        for line in lines { if case .attribute(.formatParameters(format, let p)) = line { return p } }
        return nil
    }

    /// The COMEDIA role (`a=direction`), if any.
    public var connectionDirection: SDPConnectionDirection? {
        for line in lines { if case .attribute(.direction(let d)) = line { return d } }
        return nil
    }

    /// The media direction attribute; nil when absent (RFC 8866 section 6.7: then `sendrecv`,
    /// unless the session level says otherwise).
    public var direction: SDPMediaDirection? {
        for line in lines { if case .attribute(.mediaDirection(let d)) = line { return d } }
        return nil
    }

    /// The index in `lines` of the first line for which `matches` holds.
    public func firstIndex(where matches: (SDPLine) -> Bool) -> Int? { lines.firstIndex(where: matches) }
}

/// The `m=` line: `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 8866 section 5.14).
public struct SDPMedia: Hashable, Sendable {
    /// `video`, `audio`, `application`, ...
    public var type: String
    public var port: UInt16
    /// The number of ports after a `/`, when given.
    public var portCount: UInt16?
    /// `RTP/AVP`, `RTP/AVPF`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`, ...
    public var transport: String
    /// For RTP profiles the payload types, as written.
    public var formats: [String]

    public init(type: String, port: UInt16, portCount: UInt16? = nil, transport: String, formats: [String]) {
        self.type = type
        self.port = port
        self.portCount = portCount
        self.transport = transport
        self.formats = formats
    }

    /// An RTP transport with the AVPF feedback profile (RFC 4585 section 4.1): `RTP/AVPF`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`.
    public var usesFeedbackProfile: Bool { transport.hasSuffix("AVPF") }

    /// Any RTP transport (`.../RTP/AVP`, `RTP/AVPF`, `RTP/SAVP`, ...).
    public var isRTP: Bool { transport.hasPrefix("RTP/") || transport.contains("/RTP/") }

    func render(into out: inout String) {
        out += "m=\(type) \(port)"
        if let portCount { out += "/\(portCount)" }
        out += " \(transport)"
        for format in formats { out += " \(format)" }
        out += "\r\n"
    }
}

/// One line of an SDP description other than `m=`.
public enum SDPLine: Hashable, Sendable {
    /// `v=0`.
    case version(Int)
    /// `o=`.
    case origin(SDPOrigin)
    /// `s=`.
    case sessionName(String)
    /// `c=`, at session or media level.
    case connection(SDPConnection)
    /// `b=<type>:<value>` (RFC 8866 section 5.8), e.g. `b=AS:4000` (kilobits per second).
    case bandwidth(type: String, value: UInt64)
    /// `t=<start> <stop>` (RFC 8866 section 5.9), NTP seconds; `t=0 0` is unbounded.
    case timing(start: UInt64, stop: UInt64)
    /// `a=`.
    case attribute(SDPAttribute)
    /// Any other type (`i=`, `u=`, `e=`, `p=`, `r=`, `z=`, `k=`, unknown letters), kept as written.
    case other(type: Character, value: String)

    public var attribute: SDPAttribute? { if case .attribute(let a) = self { a } else { nil } }

    /// The type letter.
    public var type: Character {
        switch self {
        case .version: "v"
        case .origin: "o"
        case .sessionName: "s"
        case .connection: "c"
        case .bandwidth: "b"
        case .timing: "t"
        case .attribute: "a"
        case .other(let type, _): type
        }
    }

    /// The line without its CRLF.
    public var text: String {
        var out = ""
        render(into: &out)
        out.removeLast()  // "\r\n" is one Character
        return out
    }

    func render(into out: inout String) {
        switch self {
        case .version(let v): out += "v=\(v)"
        case .origin(let o): out += "o=\(o.username) \(o.sessionID) \(o.sessionVersion) \(o.networkType) \(o.addressType) \(o.address)"
        case .sessionName(let s): out += "s=\(s)"
        case .connection(let c): out += "c=\(c)"
        case .bandwidth(let type, let value): out += "b=\(type):\(value)"
        case .timing(let start, let stop): out += "t=\(start) \(stop)"
        case .attribute(let a): out += "a="; a.render(into: &out)
        case .other(let type, let value): out += "\(type)=\(value)"
        }
        out += "\r\n"
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 section 5.2).
public struct SDPOrigin: Hashable, Sendable {
    public var username: String
    /// Decimal digits (RFC 8866 recommends an NTP timestamp), kept as written.
    public var sessionID: String
    public var sessionVersion: String
    public var networkType: String
    public var addressType: String
    public var address: String

    public init(username: String = "-", sessionID: String, sessionVersion: String, address: IPAddress) {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        networkType = "IN"
        addressType = address.isIPv4 ? "IP4" : "IP6"
        self.address = address.description
    }

    init(username: String, sessionID: String, sessionVersion: String, networkType: String, addressType: String, address: String) {
        self.username = username
        self.sessionID = sessionID
        self.sessionVersion = sessionVersion
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 section 5.7); also the optional
/// address part of `a=rtcp` (RFC 3605 section 2.1).
public struct SDPConnection: Hashable, Sendable, CustomStringConvertible {
    /// `IN`.
    public var networkType: String
    /// `IP4` or `IP6`.
    public var addressType: String
    /// The address as written: an IP literal, possibly with `/<ttl>[/<count>]` for multicast, or a domain name.
    public var address: String

    public init(_ address: IPAddress) {
        networkType = "IN"
        addressType = address.isIPv4 ? "IP4" : "IP6"
        self.address = address.description
    }

    init(networkType: String, addressType: String, address: String) {
        self.networkType = networkType
        self.addressType = addressType
        self.address = address
    }

    /// The IP address, without any `/ttl` or count; nil for a domain name.
    public var ipAddress: IPAddress? {
        let literal = address.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return IPAddress(literal)
    }

    public var description: String { "\(networkType) \(addressType) \(address)" }
}

/// An `a=` line. The kinds camhost reads are typed; every other attribute is kept as written.
public enum SDPAttribute: Hashable, Sendable {
    /// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605 section 2.1).
    case rtcp(port: UInt16, connection: SDPConnection?)
    /// `a=rtcp-mux` (RFC 5761 section 5.1.1).
    case rtcpMux
    /// `a=rtcp-fb:<fmt|*> <type> [<parameters>]` (RFC 4585 section 4.2).
    case rtcpFeedback(SDPFeedback)
    /// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]` (RFC 8866 section 6.6).
    case rtpMap(SDPRTPMap)
    /// `a=fmtp:<format> <parameters>` (RFC 8866 section 6.15), parameters as written.
    case formatParameters(format: String, parameters: String)
    /// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576 section 4.1).
    case ssrc(id: UInt32, attribute: String, value: String?)
    /// `a=direction:active|passive|both`: the COMEDIA role (draft-ietf-mmusic-sdp-comedia, which
    /// RFC 4145 turned into `a=setup`; Kurento reads this older form).
    case direction(SDPConnectionDirection)
    /// `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive` (RFC 8866 section 6.7).
    case mediaDirection(SDPMediaDirection)
    /// Any other attribute: `a=<name>` (value nil) or `a=<name>:<value>`.
    case other(name: String, value: String?)

    func render(into out: inout String) {
        switch self {
        case .rtcp(let port, let connection):
            out += "rtcp:\(port)"
            if let connection { out += " \(connection)" }
        case .rtcpMux: out += "rtcp-mux"
        case .rtcpFeedback(let f):
            out += "rtcp-fb:\(f.format) \(f.type)"
            if let p = f.parameter { out += " \(p)" }
        case .rtpMap(let m):
            out += "rtpmap:\(m.payloadType) \(m.encoding)/\(m.clockRate)"
            if let c = m.channels { out += "/\(c)" }
        case .formatParameters(let format, let parameters):
            out += "fmtp:\(format)"
            if !parameters.isEmpty { out += " \(parameters)" }
        case .ssrc(let id, let attribute, let value):
            out += "ssrc:\(id) \(attribute)"
            if let value { out += ":\(value)" }
        case .direction(let d): out += "direction:\(d.rawValue)"
        case .mediaDirection(let d): out += d.rawValue
        case .other(let name, let value):
            out += name
            if let value { out += ":\(value)" }
        }
    }
}

/// One `a=rtcp-fb` line: `format` is a payload type or `*`; `type` e.g. `nack`, `ccm`, `goog-remb`;
/// `parameter` e.g. `pli` (after `nack`) or `fir` (after `ccm`).
public struct SDPFeedback: Hashable, Sendable {
    public var format: String
    public var type: String
    public var parameter: String?

    public init(format: String, type: String, parameter: String? = nil) {
        self.format = format
        self.type = type
        self.parameter = parameter
    }
}

/// One `a=rtpmap` line.
public struct SDPRTPMap: Hashable, Sendable {
    public var payloadType: UInt8
    /// `H264`, `H265`, `VP8`, `opus`, ... as written.
    public var encoding: String
    public var clockRate: UInt32
    /// Audio channels (the encoding parameters), when given.
    public var channels: UInt16?

    public init(payloadType: UInt8, encoding: String, clockRate: UInt32, channels: UInt16? = nil) {
        self.payloadType = payloadType
        self.encoding = encoding
        self.clockRate = clockRate
        self.channels = channels
    }
}

/// The COMEDIA role of a media stream's transport address.
public enum SDPConnectionDirection: String, Hashable, Sendable {
    /// This side sends first; the peer learns its address from the packets (the offer camhost makes for a camera).
    case active
    /// This side waits and sends to wherever packets come from (Kurento's answer).
    case passive
    case both
}

/// Whether a media stream is sent, received, both or neither (from the describing side's view).
public enum SDPMediaDirection: String, Hashable, Sendable {
    case sendrecv, sendonly, recvonly, inactive
}
