import Web

/// The dashboard's view of the real accounts and sessions (`Authenticator` in Auth/).
public struct AuthenticatorAuth: DashboardAuth {
    public let authenticator: Authenticator

    public init(_ authenticator: Authenticator) { self.authenticator = authenticator }

    public func authenticate(_ request: HTTPRequest) -> Principal? {
        authenticator.authenticate(request)
    }

    public func verifyCSRF(_ request: HTTPRequest, form: [String: String], principal: Principal) -> Bool {
        // The form field `csrf` is read from the body by the authenticator itself.
        authenticator.verifyCSRF(request, principal)
    }

    public func login(name: String, password: String, request: HTTPRequest) -> LoginOutcome {
        switch authenticator.login(name: name, password: password, client: request.clientAddress) {
        case .success(_, let cookie): return .success(setCookie: [cookie])
        case .failed: return .invalid
        case .lockedOut(let seconds): return .lockedOut(retryAfterSeconds: seconds)
        }
    }

    public func logout(_ request: HTTPRequest) -> [String] { [authenticator.logout(request)] }

    public var needsSetup: Bool { authenticator.needsSetup }

    public func setup(token: String, name: String, password: String, request: HTTPRequest) -> Result<[String], SetupRefusal> {
        do {
            let (_, cookie) = try authenticator.completeSetup(token: token, name: name, password: password, client: request.clientAddress)
            return .success([cookie])
        } catch {
            return .failure(SetupRefusal("\(error)"))
        }
    }
}
