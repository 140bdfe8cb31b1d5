import Glibc
import PidshSystem

// The line editor backed by libedit (preferred) or GNU readline, loaded with dlopen so that
// building needs neither -dev package. Only readline-compatible entry points are used;
// their C types are declared here. One library per process: both keep global state.
//
// Ctrl-C: the libraries' own signal handling is switched off (`rl_catch_signals = 0`), and
// while a line is read SIGINT and SIGWINCH are caught by `LineSignalScope`, which writes
// to a self-pipe. Input is read through our own poll(2) on fd 0 and that pipe:
// - GNU readline runs in its callback mode (`rl_callback_handler_install` /
//   `rl_callback_read_char`): we call it only when a byte is ready, and on an interrupt we
//   clean its state (`rl_free_line_state`, `rl_callback_sigcleanup`,
//   `rl_cleanup_after_signal`, `rl_callback_handler_remove`), as its manual describes.
// - libedit runs its blocking `readline()` with our `rl_getc_function`, which returns
//   end-of-input once an interrupt came, so `readline()` gives up the line and returns.
//   libedit hands what that function returns to its editor as one wide character, so it
//   decodes UTF-8 itself.

typealias RLString = UnsafeMutablePointer<CChar>
typealias RLCompEntryFunc = @convention(c) (UnsafePointer<CChar>?, Int32) -> RLString?
typealias RLCompletionFunc = @convention(c) (UnsafePointer<CChar>?, Int32, Int32) -> UnsafeMutablePointer<RLString?>?
typealias RLLineHandler = @convention(c) (RLString?) -> Void
typealias RLGetcFunc = @convention(c) (UnsafeMutableRawPointer?) -> Int32
typealias RLVoidFunc = @convention(c) () -> Void

/// The entry points and variables of one loaded library.
struct EditLineSymbols {
    let flavor: EditLineLibrary.Flavor
    // Functions.
    let readline: @convention(c) (UnsafePointer<CChar>?) -> RLString?
    let addHistory: @convention(c) (UnsafePointer<CChar>?) -> Void
    let initialize: @convention(c) () -> Int32
    let completionMatches: @convention(c) (UnsafePointer<CChar>?, RLCompEntryFunc?) -> UnsafeMutablePointer<RLString?>?
    let stifleHistory: (@convention(c) (Int32) -> Void)?
    let callbackInstall: (@convention(c) (UnsafePointer<CChar>?, RLLineHandler?) -> Void)?
    let callbackReadChar: RLVoidFunc?
    let callbackRemove: RLVoidFunc?
    let callbackSigcleanup: RLVoidFunc?
    let freeLineState: RLVoidFunc?
    let cleanupAfterSignal: RLVoidFunc?
    let resizeTerminal: RLVoidFunc?
    let echoSignalChar: (@convention(c) (Int32) -> Void)?
    let variableValue: (@convention(c) (UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>?)?
    // Variables.
    let lineBuffer: UnsafeMutablePointer<RLString?>
    let point: UnsafeMutablePointer<Int32>
    let end: UnsafeMutablePointer<Int32>?
    let attemptedCompletionFunction: UnsafeMutablePointer<RLCompletionFunc?>
    let completionEntryFunction: UnsafeMutablePointer<RLCompEntryFunc?>?
    let attemptedCompletionOver: UnsafeMutablePointer<Int32>?
    let completionAppendCharacter: UnsafeMutablePointer<Int32>?
    let basicWordBreakCharacters: UnsafeMutablePointer<RLString?>?
    let completerWordBreakCharacters: UnsafeMutablePointer<RLString?>?
    let readlineName: UnsafeMutablePointer<RLString?>?
    let catchSignals: UnsafeMutablePointer<Int32>?
    let catchSigwinch: UnsafeMutablePointer<Int32>?
    let getcFunction: UnsafeMutablePointer<RLGetcFunc?>?

    /// dlopens the library of `flavor`; nil if it is missing or lacks an entry point we need.
    static func load(_ flavor: EditLineLibrary.Flavor) -> EditLineSymbols? {
        let names = flavor == .libedit ? ["libedit.so.2", "libedit.so"] : ["libreadline.so.8", "libreadline.so"]
        var handle: UnsafeMutableRawPointer?
        for name in names {
            handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)
            if handle != nil { break }
        }
        guard let handle else { return nil }
        func address(_ name: String) -> UnsafeMutableRawPointer? { dlsym(handle, name) }
        func function<T>(_ name: String, _ type: T.Type) -> T? {
            guard let raw = address(name) else { return nil }
            return unsafeBitCast(raw, to: type)
        }
        func variable<T>(_ name: String, _ type: T.Type) -> UnsafeMutablePointer<T>? {
            address(name)?.assumingMemoryBound(to: type)
        }
        guard
            let readline = function("readline", (@convention(c) (UnsafePointer<CChar>?) -> RLString?).self),
            let addHistory = function("add_history", (@convention(c) (UnsafePointer<CChar>?) -> Void).self),
            let initialize = function("rl_initialize", (@convention(c) () -> Int32).self),
            let completionMatches = function("rl_completion_matches",
                (@convention(c) (UnsafePointer<CChar>?, RLCompEntryFunc?) -> UnsafeMutablePointer<RLString?>?).self),
            let lineBuffer = variable("rl_line_buffer", RLString?.self),
            let point = variable("rl_point", Int32.self),
            let attempted = variable("rl_attempted_completion_function", RLCompletionFunc?.self)
        else {
            dlclose(handle)
            return nil
        }
        let symbols = EditLineSymbols(
            flavor: flavor,
            readline: readline,
            addHistory: addHistory,
            initialize: initialize,
            completionMatches: completionMatches,
            stifleHistory: function("stifle_history", (@convention(c) (Int32) -> Void).self),
            callbackInstall: function("rl_callback_handler_install",
                (@convention(c) (UnsafePointer<CChar>?, RLLineHandler?) -> Void).self),
            callbackReadChar: function("rl_callback_read_char", RLVoidFunc.self),
            callbackRemove: function("rl_callback_handler_remove", RLVoidFunc.self),
            callbackSigcleanup: function("rl_callback_sigcleanup", RLVoidFunc.self),
            freeLineState: function("rl_free_line_state", RLVoidFunc.self),
            cleanupAfterSignal: function("rl_cleanup_after_signal", RLVoidFunc.self),
            resizeTerminal: function("rl_resize_terminal", RLVoidFunc.self),
            echoSignalChar: function("rl_echo_signal_char", (@convention(c) (Int32) -> Void).self),
            variableValue: function("rl_variable_value",
                (@convention(c) (UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>?).self),
            lineBuffer: lineBuffer,
            point: point,
            end: variable("rl_end", Int32.self),
            attemptedCompletionFunction: attempted,
            completionEntryFunction: variable("rl_completion_entry_function", RLCompEntryFunc?.self),
            attemptedCompletionOver: variable("rl_attempted_completion_over", Int32.self),
            completionAppendCharacter: variable("rl_completion_append_character", Int32.self),
            basicWordBreakCharacters: variable("rl_basic_word_break_characters", RLString?.self),
            completerWordBreakCharacters: variable("rl_completer_word_break_characters", RLString?.self),
            readlineName: variable("rl_readline_name", RLString?.self),
            catchSignals: variable("rl_catch_signals", Int32.self),
            catchSigwinch: variable("rl_catch_sigwinch", Int32.self),
            getcFunction: variable("rl_getc_function", RLGetcFunc?.self))
        // GNU readline is driven through its callback interface; libedit through our getc.
        switch flavor {
        case .readline:
            guard symbols.callbackInstall != nil, symbols.callbackReadChar != nil, symbols.callbackRemove != nil,
                  symbols.catchSignals != nil
            else { dlclose(handle); return nil }
        case .libedit:
            guard symbols.getcFunction != nil else { dlclose(handle); return nil }
        }
        return symbols
    }
}

// State the C callbacks reach. The REPL reads lines on one thread.
private var loadedSymbols: EditLineSymbols?
private var activeEditor: EditLineLibrary?
private var completionCandidates: [String] = []
private var completionNext = 0
private var callbackLineDone = false
private var callbackLine: String?
private var libeditInterrupted = false
/// One of pidsh's stopping signals came while libedit read (see `LineInput.stopped`).
private var libeditStopped = false
private var libeditPushedBack: Int32 = -1

final class EditLineLibrary: LineEditor {
    enum Flavor { case libedit, readline }

    let flavor: Flavor
    let history: History
    private let symbols: EditLineSymbols
    var completer: ((_ line: String, _ wordStart: Int, _ word: String) -> [String])?

    var kind: String { flavor == .libedit ? "libedit" : "readline" }

    init?(flavor: Flavor, history: History) {
        if let loaded = loadedSymbols {
            // The library's history list is process-wide and already filled.
            guard loaded.flavor == flavor else { return nil }
            symbols = loaded
            self.flavor = flavor
            self.history = history
            return
        } else {
            guard let loaded = EditLineSymbols.load(flavor) else { return nil }
            symbols = loaded
            self.flavor = flavor
            self.history = history
            EditLineLibrary.configure(loaded)
            loadedSymbols = loaded
        }
        symbols.stifleHistory?(Int32(clamping: max(history.maxEntries, 1)))
        for entry in history.entries {
            entry.withCString { symbols.addHistory($0) }
        }
    }

    private static func configure(_ symbols: EditLineSymbols) {
        useUTF8CharacterLocale()
        symbols.readlineName?.pointee = strdup("pidsh")
        symbols.catchSignals?.pointee = 0
        symbols.catchSigwinch?.pointee = 0
        let breaks = strdup(LineEditors.wordBreakCharacters)
        symbols.basicWordBreakCharacters?.pointee = breaks
        symbols.completerWordBreakCharacters?.pointee = breaks
        symbols.attemptedCompletionFunction.pointee = attemptedCompletion
        symbols.completionEntryFunction?.pointee = noCompletion
        if symbols.flavor == .libedit {
            // Must be in place before rl_initialize, which hands it to el_set(EL_GETCFN).
            symbols.getcFunction?.pointee = libeditGetc
        }
        _ = symbols.initialize()
    }

    /// Both libraries decode and display multibyte text by the C locale's LC_CTYPE, which a
    /// Swift program leaves at "C": take the environment's, or C.UTF-8 if that is plain C.
    private static func useUTF8CharacterLocale() {
        let current = setlocale(LC_CTYPE, "").map { String(cString: $0) } ?? "C"
        if current == "C" || current == "POSIX" { _ = setlocale(LC_CTYPE, "C.UTF-8") }
    }

    func readLine(prompt: String) -> LineInput {
        fflush(stdout)
        activeEditor = self
        let scope = LineSignalScope.enter()
        defer {
            scope.leave()
            activeEditor = nil
        }
        return flavor == .readline ? readWithCallbacks(prompt: prompt) : readWithGetc(prompt: prompt)
    }

    /// GNU readline: callback mode under our own poll loop.
    private func readWithCallbacks(prompt: String) -> LineInput {
        callbackLineDone = false
        callbackLine = nil
        prompt.withCString { symbols.callbackInstall!($0, callbackLineHandler) }
        while !callbackLineDone {
            switch waitForLineInput(fd: STDIN_FILENO) {
            case .ready:
                symbols.callbackReadChar!()
            case .resized:
                symbols.resizeTerminal?()
            case .closed:
                symbols.callbackRemove!()
                return .endOfFile
            case .stopped:
                // The session ends: give the terminal back as it was, say nothing.
                symbols.callbackSigcleanup?()
                symbols.freeLineState?()
                symbols.cleanupAfterSignal?()
                symbols.callbackRemove!()
                writeAll(STDOUT_FILENO, "\n")
                return .stopped
            case .interrupted:
                // Leave a search or key sequence first (that redraws the line), then echo ^C.
                symbols.callbackSigcleanup?()
                symbols.freeLineState?()
                if let echo = symbols.echoSignalChar { echo(SIGINT) } else { writeAll(STDOUT_FILENO, "^C") }
                symbols.cleanupAfterSignal?()
                symbols.callbackRemove!()
                writeAll(STDOUT_FILENO, "\n")
                return .interrupted
            }
        }
        guard let line = callbackLine else {
            // With bracketed paste on, readline ends the line itself at end of input.
            if !bracketedPasteOn { writeAll(STDOUT_FILENO, "\n") }
            return .endOfFile
        }
        return .line(line)
    }

    /// GNU readline's `enable-bracketed-paste` (on by default since 8.1, off on a dumb
    /// terminal). While it is on, `rl_deprep_terminal` writes a newline after end of input.
    private var bracketedPasteOn: Bool {
        guard flavor == .readline, let value = symbols.variableValue?("enable-bracketed-paste") else { return false }
        return String(cString: value) == "on"
    }

    /// libedit: its blocking readline() over our getc.
    private func readWithGetc(prompt: String) -> LineInput {
        libeditInterrupted = false
        libeditStopped = false
        libeditPushedBack = -1
        let raw = prompt.withCString { symbols.readline($0) }
        defer { free(raw) }
        if libeditStopped { return .stopped }
        if libeditInterrupted {
            writeAll(STDOUT_FILENO, "^C\n")
            return .interrupted
        }
        guard let raw else {
            writeAll(STDOUT_FILENO, "\n")
            return .endOfFile
        }
        return .line(String(cString: raw))
    }

    func addHistory(_ line: String) {
        guard history.add(line) else { return }
        var entry = line
        while entry.hasSuffix("\n") { entry.removeLast() }
        entry.withCString { symbols.addHistory($0) }
    }

    @discardableResult
    func saveHistory() -> String? {
        history.save() ? nil : history.lastSaveError
    }

    /// The completion request for the current library line. GNU readline counts `rl_point`
    /// in bytes; libedit counts it in wide characters (Unicode scalars) while its
    /// `rl_line_buffer` holds UTF-8, and its `rl_end` is in scalars too.
    fileprivate func completionRequest(word: UnsafePointer<CChar>?) -> CompletionRequest {
        var bytes: [UInt8] = []
        if let buffer = symbols.lineBuffer.pointee {
            var length = strlen(buffer)
            if flavor == .readline, let end = symbols.end?.pointee, end >= 0, Int(end) < length { length = Int(end) }
            bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self),
                                              count: length))
        }
        let wordBytes = word.map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self),
                                                             count: strlen($0))) }
        let point = Int(symbols.point.pointee)
        let cursor = flavor == .libedit ? CompletionRequest.byteOffset(ofScalar: point, in: bytes) : point
        return CompletionRequest.make(lineBytes: bytes, cursor: cursor, word: wordBytes)
    }

    fileprivate var loadedSymbolsForCallbacks: EditLineSymbols { symbols }
}

/// What the completer is asked: the line, where the word starts (in Characters) and the word.
struct CompletionRequest: Equatable {
    let line: String
    let wordStart: Int
    let word: String

    /// `cursor` is a byte offset into `lineBytes`; `word` is the library's word, which ends at
    /// the cursor. Without it (or if it does not end there) the word is found by scanning
    /// back from the cursor to a break character.
    static func make(lineBytes: [UInt8], cursor: Int, word: [UInt8]?,
                     breakCharacters: String = LineEditors.wordBreakCharacters) -> CompletionRequest {
        let cursor = min(max(cursor, 0), lineBytes.count)
        let before = lineBytes[0..<cursor]
        var start = cursor
        if let word, word.count <= cursor, before.suffix(word.count).elementsEqual(word) {
            start = cursor - word.count
        } else {
            let breaks = Set(breakCharacters.utf8)
            while start > 0 && !breaks.contains(lineBytes[start - 1]) { start -= 1 }
        }
        return CompletionRequest(
            line: String(decoding: lineBytes, as: UTF8.self),
            wordStart: String(decoding: lineBytes[0..<start], as: UTF8.self).count,
            word: String(decoding: lineBytes[start..<cursor], as: UTF8.self))
    }

    /// The byte offset in UTF-8 `bytes` of the scalar at index `scalar` (clamped to the end).
    static func byteOffset(ofScalar scalar: Int, in bytes: [UInt8]) -> Int {
        var seen = 0
        for (index, byte) in bytes.enumerated() where byte & 0xC0 != 0x80 {
            if seen == scalar { return index }
            seen += 1
        }
        return bytes.count
    }
}

// MARK: - C callbacks

private func attemptedCompletion(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32)
    -> UnsafeMutablePointer<RLString?>? {
    guard let editor = activeEditor else { return nil }
    let symbols = editor.loadedSymbolsForCallbacks
    symbols.attemptedCompletionOver?.pointee = 1  // no file-name completion behind our back
    symbols.completionAppendCharacter?.pointee = Int32(UInt8(ascii: " "))
    guard let completer = editor.completer else { return nil }
    let request = editor.completionRequest(word: text)
    completionCandidates = completer(request.line, request.wordStart, request.word)
    completionNext = 0
    if completionCandidates.isEmpty { return nil }
    if completionCandidates.count == 1 && completionCandidates[0].hasSuffix("/") {
        symbols.completionAppendCharacter?.pointee = 0
    }
    return symbols.completionMatches(text, completionGenerator)
}

private func completionGenerator(_ text: UnsafePointer<CChar>?, _ state: Int32) -> RLString? {
    if state == 0 { completionNext = 0 }
    guard completionNext < completionCandidates.count else { return nil }
    defer { completionNext += 1 }
    return strdup(completionCandidates[completionNext])
}

private func noCompletion(_ text: UnsafePointer<CChar>?, _ state: Int32) -> RLString? {
    nil
}

private func callbackLineHandler(_ line: RLString?) {
    loadedSymbols?.callbackRemove?()
    callbackLineDone = true
    if let line {
        callbackLine = String(cString: line)
        free(line)
    } else {
        callbackLine = nil
    }
}

/// libedit's input: one character (a Unicode scalar) per call, -1 at end of input or once
/// an interrupt came.
private func libeditGetc(_ stream: UnsafeMutableRawPointer?) -> Int32 {
    let first = nextInputByte()
    guard first >= 0x80 else { return first }
    let extra: Int
    var scalar: Int32
    switch first {
    case 0xC2...0xDF: extra = 1; scalar = first & 0x1F
    case 0xE0...0xEF: extra = 2; scalar = first & 0x0F
    case 0xF0...0xF4: extra = 3; scalar = first & 0x07
    default: return first  // not a UTF-8 lead byte: pass it on as is
    }
    for _ in 0..<extra {
        let next = nextInputByte()
        if next < 0 { return next }
        guard next & 0xC0 == 0x80 else {
            libeditPushedBack = next
            return 0xFFFD
        }
        scalar = (scalar << 6) | (next & 0x3F)
    }
    return scalar
}

/// One byte of fd 0, waiting in poll(2) so that an interrupt or a resize is seen.
private func nextInputByte() -> Int32 {
    if libeditInterrupted || libeditStopped { return -1 }
    if libeditPushedBack >= 0 {
        defer { libeditPushedBack = -1 }
        return libeditPushedBack
    }
    while true {
        switch waitForLineInput(fd: STDIN_FILENO) {
        case .interrupted:
            libeditInterrupted = true
            return -1
        case .stopped:
            libeditStopped = true
            return -1
        case .resized:
            loadedSymbols?.resizeTerminal?()
            continue
        case .closed:
            return -1
        case .ready:
            break
        }
        switch readLineInputByte(fd: STDIN_FILENO) {
        case .byte(let byte): return Int32(byte)
        case .again: continue
        case .end: return -1
        }
    }
}
