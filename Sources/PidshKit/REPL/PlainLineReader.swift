import Glibc
import PidshSystem

/// The fallback reader: no editing, no completion. It reads fd 0 one byte at a time with
/// read(2), so nothing past the line is taken from input that commands run later may
/// share. The prompt goes to fd 1. History is still kept and saved.
final class PlainLineReader: LineEditor {
    let history: History
    let inputFD: Int32
    let outputFD: Int32
    var completer: ((_ line: String, _ wordStart: Int, _ word: String) -> [String])?
    var kind: String { "plain" }

    init(history: History, inputFD: Int32 = STDIN_FILENO, outputFD: Int32 = STDOUT_FILENO) {
        self.history = history
        self.inputFD = inputFD
        self.outputFD = outputFD
    }

    func readLine(prompt: String) -> LineInput {
        fflush(stdout)  // what the caller printed comes before the prompt
        // Catch Ctrl-C before the prompt shows: a key pressed as soon as it is seen counts.
        let scope = LineSignalScope.enter()
        defer { scope.leave() }
        let visible = prompt.filter { $0 != "\u{1}" && $0 != "\u{2}" }
        if !visible.isEmpty { writeAll(outputFD, visible) }
        let terminal = FileIO.isTerminal(inputFD)
        var bytes: [UInt8] = []
        while true {
            switch waitForLineInput(fd: inputFD) {
            case .interrupted:
                // The terminal already echoed ^C and dropped what was typed.
                if terminal { writeAll(outputFD, "\n") }
                return .interrupted
            case .resized:
                continue
            case .stopped:
                if terminal { writeAll(outputFD, "\n") }
                return .stopped
            case .closed:
                return .endOfFile
            case .ready:
                break
            }
            switch readLineInputByte(fd: inputFD) {
            case .byte(let byte):
                if byte == UInt8(ascii: "\n") { return .line(String(decoding: bytes, as: UTF8.self)) }
                bytes.append(byte)
            case .again:
                continue
            case .end:
                // End of input (or an error): a last line without newline still counts.
                if !bytes.isEmpty { return .line(String(decoding: bytes, as: UTF8.self)) }
                if terminal { writeAll(outputFD, "\n") }
                return .endOfFile
            }
        }
    }

    func addHistory(_ line: String) {
        history.add(line)
    }

    @discardableResult
    func saveHistory() -> String? {
        history.save() ? nil : history.lastSaveError
    }
}
