import Wire

/// Session lifetimes, lock-out policy and the never-locked addresses: the `[auth]` section.
public struct AuthSettings: Sendable {
    /// A session unused for this long is over.
    public var sessionIdleSeconds: Int64
    /// A session is over this long after log-in, used or not.
    public var sessionAbsoluteSeconds: Int64
    /// Failures (per address and per user name) before a temporary lock-out.
    public var lockoutThreshold: Int
    /// The first lock-out's length; each further failure doubles it, up to `lockoutMaximumSeconds`.
    public var lockoutBaseSeconds: Int64
    /// Lock-outs never last longer than this: they are never permanent.
    public var lockoutMaximumSeconds: Int64
    /// Addresses (`192.168.1.10`, `::1`) and IPv4 networks (`10.0.0.0/8`) never locked out.
    public var allowList: [String]

    public init(sessionIdleSeconds: Int64 = 30 * 60, sessionAbsoluteSeconds: Int64 = 12 * 3600,
                lockoutThreshold: Int = 5, lockoutBaseSeconds: Int64 = 60, lockoutMaximumSeconds: Int64 = 3600,
                allowList: [String] = []) {
        self.sessionIdleSeconds = sessionIdleSeconds
        self.sessionAbsoluteSeconds = sessionAbsoluteSeconds
        self.lockoutThreshold = max(lockoutThreshold, 1)
        self.lockoutBaseSeconds = max(lockoutBaseSeconds, 1)
        self.lockoutMaximumSeconds = max(lockoutMaximumSeconds, lockoutBaseSeconds)
        self.allowList = allowList
    }

    /// Whether `address` is on the allow-list.
    public func isAllowListed(_ address: String) -> Bool {
        guard let client = IPAddress(address) else { return false }
        for entry in allowList {
            let parts = entry.split(separator: "/", maxSplits: 1)
            guard let network = IPAddress(parts[0]) else { continue }
            if parts.count == 1 {
                if network == client { return true }
                continue
            }
            guard let bits = Int(parts[1]), let net = network.ipv4Value, let value = client.ipv4Value, (0...32).contains(bits) else { continue }
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
            if net & mask == value & mask { return true }
        }
        return false
    }
}
