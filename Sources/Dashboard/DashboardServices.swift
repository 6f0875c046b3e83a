import Capture
import Control
import Media
import Storage
import Web

/// The outcome of a log-in attempt.
public enum LoginOutcome: Sendable {
    /// Success: the `Set-Cookie` header values that establish the session.
    case success(setCookie: [String])
    case invalid
    /// Locked out (too many failures) for this many seconds.
    case lockedOut(retryAfterSeconds: Int)
}

/// Why the first-run set-up was refused, in words for the person at the form.
public struct SetupRefusal: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// What the dashboard asks of accounts and sessions; the auth part implements it.
public protocol DashboardAuth: Sendable {
    /// The session (cookie) or bearer token behind a request, or nil.
    func authenticate(_ request: HTTPRequest) -> Principal?
    /// Whether a state-changing request made with a session carries the right CSRF token
    /// (form field `csrf` or header `X-CSRF-Token`).
    func verifyCSRF(_ request: HTTPRequest, form: [String: String], principal: Principal) -> Bool
    func login(name: String, password: String, request: HTTPRequest) -> LoginOutcome
    /// `Set-Cookie` values that end the session.
    func logout(_ request: HTTPRequest) -> [String]
    /// True until the first admin exists.
    var needsSetup: Bool { get }
    /// Creates the first admin with the one-time set-up token and logs them in: the session's
    /// `Set-Cookie` values, or a message for people.
    func setup(token: String, name: String, password: String, request: HTTPRequest) -> Result<[String], SetupRefusal>
}

/// The cameras as the dashboard sees them: Control's registry and an audited `send`.
public protocol DashboardCameras: Sendable {
    func snapshot() -> [CameraStatus]
    /// Sends a command and waits for its ack; writes the audit row.
    func send(_ command: CameraCommand, to camera: CameraID, actor: String) async throws -> CommandResult
    /// The modes `set-mode` accepts for this camera (its firmware profile).
    func modes(of camera: CameraID) -> [String]
    /// `connected`, `connecting`, `disconnected`.
    var connectionState: String { get }
}

/// One camera's RTCP watch state (RTCPWatch in the appliance).
public struct RTCPWatchEntry: Sendable {
    public var camera: String
    /// `waiting`, `healthy`, `trap`.
    public var state: String
    public var since: Int64?
    public var feedbackToCamera: Int
    public var misroutedFeedback: Int
    public var misroutedTo: String?
    /// kurento: why the alarm was raised when no misrouted packet was seen (no feedback reached the
    /// camera within its RTCP time-out after start-stream), for the overview's alert.
    public var evidence: String?

    public init(camera: String, state: String, since: Int64?, feedbackToCamera: Int, misroutedFeedback: Int, misroutedTo: String?,
                evidence: String? = nil) {
        self.camera = camera
        self.state = state
        self.since = since
        self.feedbackToCamera = feedbackToCamera
        self.misroutedFeedback = misroutedFeedback
        self.misroutedTo = misroutedTo
        self.evidence = evidence
    }
}

/// Everything the dashboard reads or drives, handed over by the appliance at start.
public struct DashboardEnvironment: Sendable {
    public var store: Store
    public var recordingsRoot: String
    public var auth: any DashboardAuth
    public var cameras: (any DashboardCameras)?
    public var rtcpWatch: @Sendable () -> [RTCPWatchEntry]
    /// The latest health checks (`/healthz`, `/api/v1/health`, the health page).
    public var health: @Sendable () -> HealthReport
    /// Runs a capture (blocking, seconds long); Capture's TrapDiagnosis in the appliance.
    public var diagnose: @Sendable (TrapDiagnosis.Request) throws -> RTCPDiagnosis
    public var retentionPolicy: RetentionPolicy
    /// The TLS certificate's notAfter, seconds since the epoch.
    public var certificateExpiry: Int64
    public var metricsAccess: MetricsAccess
    /// Token buckets per client and route class; nil: no limits.
    public var rateLimiter: RateLimiter?
    /// Longest capture the diagnostics page may ask for.
    public var maximumCaptureSeconds: Int = 30
    /// The stream manager of `serve` (issue 12); nil: no streams (`/api/v1/streams` is empty).
    public var streams: StreamManager?
    /// live: the cameras' live fan-outs (issue 13); nil: no live view (`/api/v1/cameras/{camera}/live` answers 409).
    public var live: LiveRegistry?

    public init(store: Store, recordingsRoot: String, auth: any DashboardAuth, cameras: (any DashboardCameras)?,
                rtcpWatch: @escaping @Sendable () -> [RTCPWatchEntry] = { [] },
                health: @escaping @Sendable () -> HealthReport,
                diagnose: @escaping @Sendable (TrapDiagnosis.Request) throws -> RTCPDiagnosis = { try TrapDiagnosis.run($0) },
                retentionPolicy: RetentionPolicy, certificateExpiry: Int64, metricsAccess: MetricsAccess) {
        self.store = store
        self.recordingsRoot = recordingsRoot
        self.auth = auth
        self.cameras = cameras
        self.rtcpWatch = rtcpWatch
        self.health = health
        self.diagnose = diagnose
        self.retentionPolicy = retentionPolicy
        self.certificateExpiry = certificateExpiry
        self.metricsAccess = metricsAccess
    }
}
