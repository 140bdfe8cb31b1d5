import ArgumentParser
import PidshKit
import PidshSystem

/// The command line. `pidsh [FILE [ARGS...]]`, `pidsh -c CODE`, `pidsh test`,
/// `pidsh cleanup`; all the work is in PidshKit.
struct PidshCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pidsh",
        abstract: "A scriptable shell to see and steer Linux PID namespaces.",
        usage: """
        pidsh [<options>] [<script> [<arguments> ...]]
        pidsh [<options>] -c <code> [<arguments> ...]
        pidsh test [--update] [-j <n>] [--tap] [--junit <file>] [<paths> ...]
        pidsh cleanup
        """,
        discussion: """
        With no FILE and stdin a terminal, pidsh is an interactive shell. With FILE (or -c CODE, \
        or a script on stdin) it runs the script; a syntax error anywhere runs nothing.
        Exit codes: 0 success, 1 runtime error, 2 syntax error, 3 failed expect, N from `exit N`, \
        128+N when killed by signal N, 64 usage error, 70 could not start a session.
        The options below go before the script (they are those of `pidsh run`, the default); \
        `pidsh test --help` shows the test runner's; `man pidsh` and docs/ have the rest.
        """,
        version: PidshVersion.string,
        subcommands: [Run.self, Test.self, Cleanup.self, Docs.self],
        defaultSubcommand: Run.self
    )
}

struct SessionFlags: ParsableArguments {
    @Flag(help: "Print host PIDs and namespace inodes that pidsh knows as stable aliases (<pid#1>, <ns#1>).")
    var stableIds = false
    @Flag(help: "Show the system calls behind each command as they are made.")
    var trace = false
    @Flag(help: "Print the script's #: narration lines.")
    var narrate = false
    @Flag(help: "Show each statement before it runs and wait (on a terminal): Enter runs it, q quits, Ctrl-C stops.")
    var step = false
    @Flag(help: "Mount in the host's mount namespace (visible to other terminals); undone at exit, `pidsh cleanup` after a kill.")
    var sharedMounts = false
    @Flag(help: "No colour, even on a terminal (NO_COLOR is honoured too).")
    var noColor = false
    @Flag(help: "As a normal user, be PID 1 of a PID namespace of its own from the start (automatic when the script names setns, unshare or source, and in the REPL).")
    var ownPidNamespace = false
    @Flag(help: "Do not make pidsh a child subreaper: an orphan in pidsh's namespace goes to its PID 1, as in the articles' orphan.c (the session's cgroup still ends every process at exit; needs root).")
    var noSubreaper = false
}

extension PidshCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a script, -c CODE, or the interactive shell (the default).")

        @OptionGroup var flags: SessionFlags
        @Flag(name: [.customShort("n"), .long], help: "Only parse the script and report syntax errors (as sh -n); run nothing.")
        var check = false
        @Option(name: .customShort("c"), help: ArgumentHelp("Run CODE instead of a file.", valueName: "code"))
        var code: String?
        @Argument(help: "The script to run (omit for the REPL, or to read a script from stdin).",
                  completion: .file(extensions: ["pidsh"]))
        var script: String?
        @Argument(parsing: .captureForPassthrough, help: "Arguments for the script ($1..$9, $args).")
        var arguments: [String] = []

        func run() throws {
            var config = LaunchConfiguration()
            config.code = code
            if code != nil {
                config.arguments = (script.map { [$0] } ?? []) + arguments
            } else {
                config.scriptPath = script
                config.arguments = arguments
            }
            config.options.stableIds = flags.stableIds
            config.options.trace = flags.trace
            config.options.narrate = flags.narrate
            config.options.step = flags.step
            config.sharedMounts = flags.sharedMounts
            config.noColor = flags.noColor
            config.ownPIDNamespace = flags.ownPidNamespace
            config.subreaper = !flags.noSubreaper
            config.checkOnly = check
            let status = Launcher.run(config)
            if status != 0 { throw ExitCode(status) }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run NAME.pidsh scripts against their expected transcripts (#> lines, or NAME.out).",
            discussion: """
            Expected lines are literal, except one ending in ` (re)` (a POSIX extended regular expression \
            over the whole line), ` (glob)` (`*`, `?`, `\\` escapes) or ` (no-eol)`, and a last line `[N]`: \
            the run's exit status. docs/tutorials.md describes the format.
            """)

        @Flag(help: "Record this run as the expectations (.out files, or the scripts' #> lines); matching pattern lines stay.")
        var update = false
        @Flag(help: "With --update: record a run that exited non-zero although its expectations do not say so ([N]).")
        var acceptFailures = false
        @Flag(help: "With --update: record the expectations as #> lines in the script (NAME.out is removed).")
        var inline = false
        @Option(name: .customShort("j"), help: ArgumentHelp("Run N scripts at once (a `#test: exclusive` script runs alone).", valueName: "N"))
        var jobs: Int = 1
        @Option(help: ArgumentHelp("Also write a JUnit XML report to FILE.", valueName: "file"))
        var junit: String?
        @Flag(help: "Report in TAP (version 13) instead of text.")
        var tap = false
        @Option(help: ArgumentHelp("Stop a script that runs longer than this (default 300).", valueName: "seconds"))
        var timeout: Int = 300
        @Argument(help: "Scripts or directories of scripts.", completion: .file(extensions: ["pidsh"]))
        var paths: [String] = ["examples"]

        func validate() throws {
            if jobs < 1 { throw ValidationError("-j needs 1 or more") }
            if timeout < 1 { throw ValidationError("--timeout needs 1 or more seconds") }
        }

        func run() throws {
            var options = GoldenOptions()
            options.update = update
            options.acceptFailures = acceptFailures
            options.inline = inline
            options.jobs = jobs
            options.junitPath = junit
            options.tap = tap
            options.timeoutSeconds = timeout
            let status = GoldenRunner(options: options).run(paths: paths)
            if status != 0 { throw ExitCode(status) }
        }
    }

    struct Cleanup: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Undo the mounts and directories a killed --shared-mounts run left behind.")

        func run() throws {
            let status = Launcher.cleanup()
            if status != 0 { throw ExitCode(status) }
        }
    }
}

extension PidshCommand {
    /// `pidsh docs commands|man`: the reference generated from the builtin table
    /// (docs/commands.md, the COMMANDS section of docs/pidsh.1). Hidden: for maintainers.
    struct Docs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print documentation generated from the builtin table.",
            shouldDisplay: false,
            subcommands: [Commands.self, Man.self])

        struct Commands: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "docs/commands.md: every builtin, in markdown.")
            func run() throws {
                print(BuiltinDocs.markdown(), terminator: "")
            }
        }

        struct Man: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "The man page's COMMANDS section, in roff.")

            @Option(help: ArgumentHelp("Rewrite the generated section of this man page in place.", valueName: "file"))
            var update: String?

            func run() throws {
                guard let path = update else {
                    print(BuiltinDocs.manSection(), terminator: "")
                    return
                }
                let page: String
                do { page = String(decoding: try FileIO.readFile(path), as: UTF8.self) } catch {
                    throw ValidationError("cannot read \(path): \(error)")
                }
                guard let updated = BuiltinDocs.splicingManSection(into: page) else {
                    throw ValidationError("\(path) has no generated section (the lines `\(BuiltinDocs.manBegin)` ... `\(BuiltinDocs.manEnd)`)")
                }
                do { try FileIO.writeFile(path, updated) } catch {
                    throw ValidationError("cannot write \(path): \(error)")
                }
            }
        }
    }
}
