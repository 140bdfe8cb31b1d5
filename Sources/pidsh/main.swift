// pidsh: a thin entry point. Everything else lives in PidshKit and PidshSystem.
import Glibc
import PidshKit
import PidshSystem

// First of all, before any descriptor is opened: see occupyClosedStandardStreams.
FileIO.occupyClosedStandardStreams()

/// `pidsh -c CODE`, `pidsh -n FILE` and `pidsh FILE` (FILE with a `/` or a `.`, so never a
/// subcommand's name), without options, need no argument parser: swift-argument-parser's first use
/// costs about a millisecond (reflection and protocol-conformance lookups), a fifth of
/// pidsh's start-up. They run exactly as `Run` would run them; every other command line
/// goes through the parser.
func plainCommandLine(_ args: [String]) -> LaunchConfiguration? {
    var config = LaunchConfiguration()
    if args.count == 2, args[0] == "-c", !args[1].hasPrefix("-") {
        config.code = args[1]
        return config
    }
    if args.count == 2, args[0] == "-n" || args[0] == "--check", !args[1].hasPrefix("-") {
        config.checkOnly = true
        config.scriptPath = args[1]
        return config
    }
    if args.count == 1, !args[0].hasPrefix("-"), args[0].contains("/") || args[0].contains(".") {
        config.scriptPath = args[0]
        return config
    }
    return nil
}

let commandLine = Array(CommandLine.arguments.dropFirst())
// A pidsh started by `inside NS { ... }`: its request waits on descriptor 3.
if commandLine == ["--inside"] {
    exit(Launcher.runInside())
}
if commandLine == ["--version"] {
    print(PidshVersion.string)
    exit(0)
}
if let config = plainCommandLine(commandLine) {
    exit(Launcher.run(config))
}
// The root's help lists the default subcommand's options too (HelpScreen).
if commandLine == ["--help"] || commandLine == ["-h"] || commandLine == ["help"] {
    print(HelpScreen.text(), terminator: "")
    exit(0)
}
PidshCommand.main()
