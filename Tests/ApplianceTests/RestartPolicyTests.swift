import Testing
@testable import Appliance

@Suite struct RestartPolicyTests {
    let policy = RestartPolicy(initialDelay: .seconds(10), maximumDelay: .seconds(60), budget: 4, budgetWindow: .seconds(3600))

    @Test func delaysDoubleUpToTheCeiling() {
        let ledger = RestartLedger(policy: policy)
        #expect((0...6).map { ledger.delay(afterFailures: $0) } == [.zero, .seconds(10), .seconds(20), .seconds(40), .seconds(60), .seconds(60), .seconds(60)])
    }

    /// A neighbour whose restart never helps: restarts at 0, 10, 30, 70 s, then the budget of four
    /// per hour is spent until the first leaves the window; never two restarts inside the back-off.
    @Test func aNeighbourThatNeverComesBackRespectsBackOffAndBudget() {
        var ledger = RestartLedger(policy: policy)
        var made: [Duration] = []
        var now = Duration.zero
        while now < .seconds(7300) {
            switch ledger.decide(at: now) {
            case .restartNow:
                ledger.recordRestart(at: now)
                made.append(now)
            case .backOff(let until), .budgetExhausted(let until):
                #expect(until > now)
            }
            now += .seconds(1)
        }
        #expect(Array(made.prefix(5)) == [.zero, .seconds(10), .seconds(30), .seconds(70), .seconds(3600)])
        for hourStart in stride(from: 0, to: 7300, by: 100) {
            let inWindow = made.filter { $0 >= .seconds(hourStart) && $0 < .seconds(hourStart + 3600) }
            #expect(inWindow.count <= 4, "\(inWindow.count) restarts in the hour from \(hourStart) s")
        }
        let sorted = zip(made, made.dropFirst()).map { $1 - $0 }
        #expect(sorted.allSatisfy { $0 >= .seconds(10) })
    }

    @Test func recoveryResetsTheBackOffButNotTheBudget() {
        var ledger = RestartLedger(policy: policy)
        ledger.recordRestart(at: .zero)
        ledger.recordRestart(at: .seconds(10))
        #expect(ledger.decide(at: .seconds(20)) == .backOff(until: .seconds(30)))
        ledger.recordHealthy()
        #expect(ledger.decide(at: .seconds(20)) == .restartNow)
        ledger.recordRestart(at: .seconds(20))
        ledger.recordRestart(at: .seconds(40))
        #expect(ledger.decide(at: .seconds(100)) == .budgetExhausted(until: .seconds(3600)))
        #expect(ledger.decide(at: .seconds(3600)) == .restartNow)
    }
}
