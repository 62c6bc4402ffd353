import ArgumentParser
import CEditLine
import Ringfence

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ringfence repl [PATH…]`: the interactive policy console (SPEC §4, docs/repl.md).
///
/// In a terminal it reads lines through libedit, with line editing and a history kept in
/// `~/.ringfence_history` (or `$RINGFENCE_HISTORY`). When standard input is not a terminal it
/// reads the input line by line without a prompt, so sessions can be scripted and tested.
/// Every line goes to `ReplSession`, which holds all the behaviour.
struct ReplCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "repl",
        abstract: "Interactive policy console: load policies, build a request, evaluate it.",
        discussion: """
            Type `:help` for the commands. When standard input is not a terminal, lines are read \
            from it without a prompt (a script). History: ~/.ringfence_history, or the file named by \
            RINGFENCE_HISTORY. Exit status: 0.
            """)

    /// Policy files or directories to load at the start.
    @Argument(help: ArgumentHelp("Policy files or directories to load first (as `:load`).", valueName: "path"))
    var paths: [String] = []

    /// The most lines the history file keeps.
    static let historyLimit: Int32 = 1000

    /// Loads the paths, then reads lines until `:quit` or end of input.
    func execute(_ io: CommandIO) -> Int32 {
        var session = ReplSession()
        if isatty(0) != 0 {
            io.out(ReplMessages.banner + "\n")
            if !paths.isEmpty { io.out(session.load(paths) + "\n") }
            interactive(&session, io: io)
        } else {
            if !paths.isEmpty { io.out(session.load(paths) + "\n") }
            scripted(&session, io: io)
        }
        return 0
    }

    /// Feeds every line of standard input to the session, without a prompt.
    private func scripted(_ session: inout ReplSession, io: CommandIO) {
        let input = String(decoding: io.stdin(), as: UTF8.self)
        for line in input.split(separator: "\n", omittingEmptySubsequences: false) {
            let output = session.handle(String(line))
            if !output.isEmpty { io.out(output) }
            if session.isFinished { break }
        }
    }

    /// Reads lines with libedit (editing, history) until `:quit` or ctrl-d.
    private func interactive(_ session: inout ReplSession, io: CommandIO) {
        let history = Self.historyPath()
        using_history()
        stifle_history(Self.historyLimit)
        if let history { _ = read_history(history) }
        while !session.isFinished {
            guard let raw = readline(ReplMessages.prompt) else {
                io.out("\n")
                break
            }
            let line = String(cString: raw)
            free(raw)
            if !line.replTrimmed().isEmpty {
                _ = add_history(line)
                if let history { _ = write_history(history) }
            }
            let output = session.handle(line)
            if !output.isEmpty { io.out(output) }
        }
    }

    /// `$RINGFENCE_HISTORY`, else `~/.ringfence_history`, else nil (no home directory).
    static func historyPath() -> String? {
        if let named = getenv("RINGFENCE_HISTORY"), named.pointee != 0 { return String(cString: named) }
        if let home = getenv("HOME"), home.pointee != 0 { return String(cString: home) + "/.ringfence_history" }
        return nil
    }
}
