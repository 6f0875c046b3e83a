import JSONText
import Storage
import Web

/// The audit log (admins) and who is asking.
extension API {
    func audit(_ request: HTTPRequest) throws -> HTTPResponse {
        let entries = try AuditLog(store: environment.store).recent(limit: limit(request, default: 100, maximum: 1000))
        return jsonObject { w in
            w.key("entries")
            w.array { w in
                for entry in entries {
                    w.object { w in
                        w.field("id", entry.id); w.field("at", entry.at); w.field("actor", entry.actor); w.field("action", entry.action)
                        w.field("target", entry.target); w.field("detail", entry.detail); w.field("outcome", entry.outcome.rawValue)
                    }
                }
            }
        }
    }

    func whoami(_ principal: Principal) -> HTTPResponse {
        jsonObject { w in
            w.field("name", principal.name)
            w.field("permission", principal.access.rawValue)
            w.field("session", principal.isSession)
        }
    }
}
