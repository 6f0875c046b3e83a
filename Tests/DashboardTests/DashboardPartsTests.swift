import Testing
@testable import Dashboard
import JSONText
import Web

@Suite("Metrics route labels")
struct RouteTemplateTests {
    @Test func idsAreReplacedAndUnknownPathsGrouped() {
        #expect(Dashboard.routeTemplate("/") == "/")
        #expect(Dashboard.routeTemplate("/healthz") == "/healthz")
        #expect(Dashboard.routeTemplate("/api/v1/recordings") == "/api/v1/recordings")
        #expect(Dashboard.routeTemplate("/api/v1/recordings/42/media") == "/api/v1/recordings/:id/media")
        #expect(Dashboard.routeTemplate("/api/v1/cameras/cam-7/commands") == "/api/v1/cameras/:camera/commands")
        #expect(Dashboard.routeTemplate("/assets/app.js") == "/assets/:file")
        #expect(Dashboard.routeTemplate("/wp-admin/setup.php") == "other")
        #expect(Dashboard.routeTemplate("/api/v1/recordings/") == "/api/v1/recordings")
    }

    /// The routes asked for most are their own labels.
    @Test func commonRoutesAreTheirOwnTemplates() {
        for path in ["/healthz", "/metrics", "/api/v1/recordings", "/api/v1/cameras", "/api/v1/health",
                     "/recordings", "/cameras", "/overview", "/health", "/login", "/logout"] {
            #expect(Dashboard.routeTemplate(path) == path)
        }
    }
}

@Suite("Route table")
struct RouteTableTests {
    /// A path for each route, its parameter filled in.
    static func example(_ route: Route) -> String {
        route.template.replacing("{camera}", with: "cam-7").replacing("{id}", with: "42").replacing("{file}", with: "app.js")
    }

    @Test func eachRouteMatchesItsOwnPathsAndLabelsThemWithItsTemplate() {
        for route in Routes.table.routes where route.method != .any {
            let match = Routes.table.match(route.method, Self.example(route))
            #expect(match.route?.template == route.template && match.route?.method == route.method, "\(route.template)")
            #expect(Dashboard.routeTemplate(Self.example(route)) == route.label)
            #expect(Dashboard.routeTemplate(Self.example(route) + "/") == route.label, "a trailing slash changes nothing")
        }
        #expect(Routes.table.match(.get, "/api/v1/recordings/42/media").parameter == "42")
        #expect(Routes.table.match(.post, "/cameras/cam%207/command").parameter == "cam%207")
        #expect(Routes.table.match(.get, "/api/v1/recordings/cleanup").route?.template == "/api/v1/recordings/{id}",
                "GET has no cleanup endpoint: the id route answers (404, not a number)")
        #expect(Routes.table.match(.post, "/api/v1/recordings/cleanup").route?.template == "/api/v1/recordings/cleanup")
        #expect(Routes.table.match(.delete, "/api/v1/recordings").route == nil)
        #expect(Routes.table.match(.get, "/api/v1/recordings/1/2/3/4/5/6/7/8/9").route == nil)
        #expect(Routes.table.match(.delete, "/api/v1/cameras").route?.method == .any, "the 405 entry")
    }

    @Test func everyRouteStatesItsRulesConsistently() {
        var seen = Set<String>()
        for route in Routes.table.routes {
            #expect(seen.insert(route.method.name + " " + route.template).inserted, "\(route.template) listed twice")
            if route.isAPI { #expect(route.template.hasPrefix("/api/v1/") && route.rateClass == .api, "\(route.template)") }
            switch route.access {
            case .everyone:
                guard case .open = route.handler else { Issue.record("\(route.template): open routes have open handlers"); continue }
            case .signedIn(let permission):
                if case .open = route.handler { Issue.record("\(route.template): signed-in routes have API or page handlers") }
                #expect(permission == .read || route.refusal != nil, "\(route.template): a route that can refuse says why")
            }
        }
    }
}

@Suite("Security headers on every answer")
struct SecurityPolicyTests {
    @Test func policyHeadersAreAddedOnceAndAHandlersOwnValueWins() {
        var response = HTTPResponse(status: 200, headers: [("Content-Type", "text/html"), ("x-frame-options", "SAMEORIGIN")])
        SecurityPolicy.apply(to: &response, path: "/")
        #expect(response.headers.count == 2 + SecurityPolicy.headers.count - 1)
        #expect(response.header("X-Frame-Options") == "SAMEORIGIN")
        #expect(response.headers.filter { HTTPResponse.sameHeaderName($0.name, "X-Frame-Options") }.count == 1)
        for header in SecurityPolicy.headers where header.name != "X-Frame-Options" {
            #expect(response.header(header.name) == header.value)
        }
        SecurityPolicy.apply(to: &response, path: "/")
        #expect(response.headers.count == 2 + SecurityPolicy.headers.count - 1, "applying twice adds nothing")
    }
}

@Suite("Form fields for the pages")
struct FormFieldsTests {
    @Test func repeatedNamesAreJoinedAndOnlyFormBodiesCount() {
        let form = HTTPRequest(method: "POST", path: "/recordings/delete", headers: ["content-type": "application/x-www-form-urlencoded"],
                               body: Array("id=3&id=7&csrf=a%2Bb&note=two+words&bad=%zz".utf8))
        #expect(Form.parse(form) == ["id": "3,7", "csrf": "a+b", "note": "two words", "bad": "%zz"])
        let json = HTTPRequest(method: "POST", path: "/x", headers: ["content-type": "application/json"], body: Array("id=3".utf8))
        #expect(Form.parse(json).isEmpty)
    }
}

@Suite("Recordings list cache")
struct ResponseCacheTests {
    @Test func keyedByFilterAndDatabaseVersion() {
        let cache = ResponseCache(capacity: 4)
        var plain = RecordingsService.Filter()
        let body = SharedBytes(Array("[]".utf8))
        cache.store(plain, version: 7, body: body)
        #expect(cache.lookup(RecordingsService.Filter(), version: 7) === body)
        #expect(cache.lookup(plain, version: 8) == nil, "another database version")
        plain.camera = "cam-1"
        #expect(cache.lookup(plain, version: 7) == nil, "another filter")
        var page = RecordingsService.Filter()
        page.offset = 100
        #expect(cache.lookup(page, version: 7) == nil)
    }
}

@Suite("Request bodies")
struct RequestBodyTests {
    func cleanup(_ json: String) -> Result<API.CleanupBody, APIError> {
        Result { () throws(APIError) in try API.CleanupBody(BodyFields(json: Array(json.utf8))) }
    }

    func message(_ result: Result<API.CleanupBody, APIError>) -> String? {
        if case .failure(let error) = result { return error.status == 400 ? error.message : "status \(error.status)" }
        return nil
    }

    @Test func fieldsAreReadAndEachMistakeNamed() throws {
        let body = try cleanup(#"{"older_than_days": 30, "dry_run": false, "camera": "cam-1", "extra": [1]}"#).get()
        #expect(body.olderThanDays == 30 && body.dryRun == false && body.camera == "cam-1")
        #expect(try cleanup(#"{"older_than_days": 0, "camera": null}"#).get().camera == nil)
        #expect(message(cleanup(#"{"dry_run": true}"#)) == #"the body lacks the field "older_than_days""#)
        #expect(message(cleanup(#"{"older_than_days": "30"}"#)) == #"field "older_than_days" has the wrong type"#)
        #expect(message(cleanup(#"{"older_than_days": 2.5}"#)) == #"field "older_than_days" has the wrong type"#)
        #expect(message(cleanup(#"{"older_than_days": null}"#)) == #"field "older_than_days" has the wrong type"#)
        #expect(message(cleanup(#"{"older_than_days": 3, "dry_run": "no"}"#)) == #"field "dry_run" has the wrong type"#)
        #expect(message(cleanup(#"{"older_than_days": 3"#)) == "the body is not valid JSON")
        #expect(message(cleanup("[30]")) == "the body is not a JSON object")
        let ids = Result { () throws(APIError) in try API.DeleteBody(BodyFields(json: Array(#"{"ids": [1, "2"]}"#.utf8))) }
        #expect(throws: APIError.self) { try ids.get() }
    }

    @Test func formsPostTheSameFields() throws {
        let fields = BodyFields(form: ["id": "3,7,x", "older_than_days": "12", "dry_run": "true", "camera": "cam-1", "csrf": "t"])
        #expect(try API.DeleteBody(fields).ids == [3, 7])
        let body = try API.CleanupBody(fields)
        #expect(body.olderThanDays == 12 && body.dryRun == true && body.camera == "cam-1")
        #expect(fields.object["csrf"] == nil)
    }
}
