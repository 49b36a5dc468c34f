import ArgumentParser
import Binder
import BinderWire

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the broker's connections, services, channel registry and counters.")

    func run() throws {
        let c = try connectToBroker()
        let s = try brokerCall("getStatus") { try c.serviceManager.status() }
        let me = c.welcome.connectionID
        print("binderd pid \(s.brokerPID), up \(formatDuration(s.uptimeMillis))")
        print("transactions \(s.transactions) (one-way \(s.oneWay)), replies \(s.replies), in flight \(s.pendingTransactions), "
            + "dead-object replies \(s.deadObjectReplies), malformed-frame disconnects \(s.malformedDisconnects), "
            + "refused for a full incoming buffer \(s.bufferRefusals), objects released by their last holder \(s.objectsReleased), "
            + "expired before delivery \(s.expiredCalls)")
        print("")
        print("CONNECTIONS (\(s.connections.count))")
        var rows = [["ID", "PID", "UID", "GID", "CONTAINER", "HANDLES", "OBJECTS", "SENT", "RECEIVED", "THREADS", "BUSY", "BUFFER (ONE-WAY)"]]
        for x in s.connections {
            rows.append([
                "\(x.id)\(x.id == me ? "*" : "")", "\(x.pid)", "\(x.uid)", "\(x.gid)", "\(x.container)", "\(x.handles)", "\(x.objects)",
                "\(x.transactionsSent)", "\(x.transactionsReceived)", "\(x.threads)/\(x.maxThreads)", "\(x.busy)",
                "\(x.bufferUsed) (\(x.oneWayBufferUsed)) B",
            ])
        }
        print(indent(table(rows)))
        print("  (* this status query)")
        print("")
        print("SERVICES (\(s.services.count))")
        var srows = [["NAME", "CONN", "PID", "UID", "CONTAINER", "EXPORTED"]]
        for x in s.services { srows.append([x.name, "\(x.connection)", "\(x.pid)", "\(x.uid)", "\(x.container)", x.exported ? "yes" : "no"]) }
        print(indent(table(srows)))
        print("")
        print("CONTAINERS (\(s.containers.count); foreground \(s.foregroundContainer))")
        if !s.containers.isEmpty { print(indent(containerTable(s.containers))) }
        print("")
        print("LOADED PROXIES (\(s.proxies.count): exported root services, per container)")
        if !s.proxies.isEmpty {
            var prows = [["CONTAINER", "SERVICE", "HANDLES"]]
            for x in s.proxies { prows.append(["\(x.container)", x.service, "\(x.holders)"]) }
            print(indent(table(prows)))
        }
        print("")
        print("CHANNEL REGISTRY (\(s.channelEnds.count) unclaimed; created \(s.channelsCreated), ends claimed \(s.channelEndsClaimed), "
            + "expired \(s.channelEndsExpired))")
        if !s.channelEnds.isEmpty {
            var crows = [["NAME", "FOR CONN", "FOR PID", "PEER PID", "EXPIRES IN"]]
            for e in s.channelEnds {
                crows.append([e.name, "\(e.connection)", "\(e.pid)", "\(e.peerPID)", formatDuration(e.expiresInMillis)])
            }
            print(indent(table(crows)))
        }
    }
}

func indent(_ s: String) -> String { s.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") }

func formatDuration(_ ms: UInt64) -> String {
    if ms < 60_000 { return "\(Double(ms) / 1000) s" }
    let s = ms / 1000
    return s < 3600 ? "\(s / 60) min \(s % 60) s" : "\(s / 3600) h \((s % 3600) / 60) min"
}
