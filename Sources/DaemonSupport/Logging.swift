import ArgumentParser
import Logging

// What binderd and netd share as daemons: their `--log-level` option and their logging setup.

/// `--log-level trace|debug|info|notice|warning|error|critical`, parsed (and its help and error
/// listed) by argument-parser from the level's cases.
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Sends every logger's records to standard error at `level` and above (swift-log's stream
/// handler: one line per record, with its metadata).
public func bootstrapLogging(level: Logger.Level) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
