import Testing
@testable import Dashboard

@Suite("Principal permissions")
struct PrincipalTests {
    @Test func rolesAndScopes() {
        let admin = Principal(name: "a", role: .admin, kind: .session, csrfToken: "x")
        let viewer = Principal(name: "v", role: .viewer, kind: .session, csrfToken: "x")
        #expect(Permission.allCases.allSatisfy(admin.may))
        #expect(viewer.may(.read) && !viewer.may(.command) && !viewer.may(.delete) && !viewer.may(.admin))
        let read = Principal(name: "token:r", role: .viewer, kind: .token, scope: .read)
        let commands = Principal(name: "token:c", role: .viewer, kind: .token, scope: .commands)
        let all = Principal(name: "token:a", role: .admin, kind: .token, scope: .admin)
        #expect(read.may(.read) && !read.may(.command) && !read.may(.delete))
        #expect(commands.may(.read) && commands.may(.command) && !commands.may(.delete) && !commands.may(.admin))
        #expect(Permission.allCases.allSatisfy(all.may))
    }
}
