import PostgresNIO
import RingfenceRuntime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How failures of postgres-nio and the server become store errors, and which of them a call
/// may retry.
enum PostgresErrors {
    /// Whether an attempt that failed this way may run again.
    enum Retry: Equatable {
        /// The server rolled the transaction back (serialization failure, deadlock): a new
        /// attempt re-runs every check inside its own transaction.
        case rolledBack
        /// The connection broke before COMMIT was sent, so the server rolled back.
        case connectionLost
        /// Not retried.
        case never
    }

    /// The SQLSTATE of a server error.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Whether `error` may be retried.
    static func retry(_ error: any Error) -> Retry {
        if let state = sqlState(error) {
            switch state {
            case "40001", "40P01": return .rolledBack
            case "57P01", "57P02", "57P03": return .connectionLost
            default: return state.hasPrefix("08") ? .connectionLost : .never
            }
        }
        guard let error = error as? PSQLError else { return .never }
        switch error.code {
        case .serverClosedConnection, .connectionError, .uncleanShutdown, .clientClosedConnection: return .connectionLost
        default: return .never
        }
    }

    /// True when `error` says no connection could be made (the server is down, unreachable or
    /// refusing sessions), as opposed to a failure within a session.
    static func isConnectFailure(_ error: any Error) -> Bool {
        if let state = sqlState(error) { return state == "57P03" || state.hasPrefix("08") || state == "53300" }
        guard let error = error as? PSQLError else { return false }
        return error.code == .connectionError
    }

    /// The store error for `error`, met while doing `action` in the store at `location`.
    static func storeError(_ error: any Error, location: PostgresLocation, action: String) -> StoreError {
        let url = location.redactedURL
        if let error = error as? StoreError { return error }
        if let problem = error as? ColumnProblem {
            return StoreError(.foreignSchema, StoreMessages.damaged(url, problem.detail))
        }
        if let error = error as? BridgeError, error == .calledFromEventLoop {
            return StoreError(.database, PostgresMessages.calledFromEventLoop)
        }
        let why = reason(error, location: location)
        if let state = sqlState(error) {
            switch state {
            case "42P01", "42703", "3F000", "42883":
                return StoreError(.foreignSchema, StoreMessages.damaged(url, why))
            case "3D000", "55P03", "57014", "25P03", "42501":
                return StoreError(.unavailable, PostgresMessages.unavailable(url, action, why))
            default:
                if state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53") || state.hasPrefix("28") {
                    return StoreError(.unavailable, PostgresMessages.unavailable(url, action, why))
                }
                return StoreError(.database, StoreMessages.failed(url, action, why))
            }
        }
        if error is CancellationError || error is BridgeError {
            return StoreError(.unavailable, PostgresMessages.unavailable(url, action, why))
        }
        if let error = error as? PSQLError {
            switch error.code {
            case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .poolClosed, .queryCancelled,
                 .sslUnsupported, .failedToAddSSLHandler, .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
                return StoreError(.unavailable, PostgresMessages.unavailable(url, action, why))
            default:
                return StoreError(.database, StoreMessages.failed(url, action, why))
            }
        }
        return StoreError(.database, StoreMessages.failed(url, action, why))
    }

    /// One lowercase phrase saying what went wrong.
    static func reason(_ error: any Error, location: PostgresLocation) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (sqlstate \($0))" } ?? ""
                return lowercasedFirst(message) + state
            }
            switch error.code {
            case .connectionError:
                return error.underlying.map { connectReason($0, location: location) } ?? "the connection failed"
            case .serverClosedConnection:
                return "the server closed the connection"
            case .uncleanShutdown:
                return "the connection ended uncleanly"
            case .clientClosedConnection:
                return "the connection was closed"
            case .poolClosed:
                return "the store is closed"
            case .queryCancelled:
                return "the call was cancelled"
            case .sslUnsupported:
                return "the server does not offer tls, which `sslmode` requires"
            case .authMechanismRequiresPassword:
                return "the server asks for a password and the url gives none"
            case .unsupportedAuthMechanism:
                return "the server asks for an authentication method postgres-nio does not support"
            case .saslError:
                return "scram authentication failed"
            default:
                return "postgres-nio reports `\(error.code)`"
            }
        }
        if error is CancellationError || error is BridgeError { return "the call was cancelled" }
        return connectReason(error, location: location)
    }

    /// The reason a connection could not be made.
    static func connectReason(_ error: any Error, location: PostgresLocation) -> String {
        if let error = error as? IOError {
            switch error.errnoCode {
            case ENOENT where location.socketPath != nil:
                return "no server socket at `\(location.socketPath!)` (is the server running?)"
            case ECONNREFUSED:
                return "connection refused (is the server running and accepting connections there?)"
            default:
                return lowercasedFirst(String(cString: strerror(error.errnoCode)))
            }
        }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return connectReason(first.error, location: location) }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "cannot resolve the host `\(error.host)`" }
            return "cannot connect to `\(error.host):\(error.port)`"
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return "no connection within \(location.connectTimeout) s"
        }
        if let error = error as? PSQLError { return reason(error, location: location) }
        return lowercasedFirst("\(error)")
    }

    /// `text` with its first character lowercased.
    static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.lowercased() + text.dropFirst()
    }
}
