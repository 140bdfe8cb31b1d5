import PidshSystem

/// One test script, read and outlined before it runs: where its expectations are (its
/// `#>` lines, or NAME.out beside it), how the runner must treat it (`#test:`), and
/// how to judge — or, with `--update`, record — a run of it.
struct TestCase {
    let script: String
    let outPath: String
    let outline: ScriptOutline
    /// What keeps it from running at all (unreadable, bad directive, skipped).
    var verdictBeforeRunning: TestResult?

    var exclusive: Bool { outline.directives.exclusive }

    init(script: String, options: GoldenOptions) {
        self.script = script
        outPath = (script.hasSuffix(".pidsh") ? String(script.dropLast(".pidsh".count)) : script) + ".out"
        let bytes: [UInt8]
        do { bytes = try FileIO.readFile(script) } catch {
            outline = ScriptOutline(source: SourceFile(name: script, text: ""))
            verdictBeforeRunning = .failed(script, "cannot read the script: \(error)")
            return
        }
        outline = ScriptOutline(source: SourceFile(name: GoldenRunner.baseName(script), bytes: bytes))
        if let p = outline.directives.problems.first {
            verdictBeforeRunning = .failed(script, "\(script):\(p.line): \(p.message)")
        } else if let why = outline.directives.skipReason(isRoot: FileIO.effectiveUserID == 0, findCommand: {
            FileIO.findExecutable($0, path: FileIO.environment("PATH")) != nil
        }) {
            verdictBeforeRunning = TestResult(script: script, verdict: .skipped, summary: why)
        } else if outline.hasInlineExpectations, FileIO.exists(outPath), !(options.update && options.inline) {
            verdictBeforeRunning = .failed(script, "it has inline expectations (#> lines) and \(outPath) as well: keep one of them")
        }
    }

    /// Inline when the script has `#>` lines, or when `--update --inline` records them.
    func isInline(_ options: GoldenOptions) -> Bool {
        outline.hasInlineExpectations || (options.update && options.inline)
    }

    /// Judges a run; with `--update`, records it instead (unless it must refuse).
    func evaluate(_ run: RunOutput, options: GoldenOptions, palette: Palette) -> TestResult {
        let inline = isInline(options)
        var outText: String?
        if !inline {
            outText = (try? FileIO.readFile(outPath)).map { String(decoding: $0, as: UTF8.self) }
            if outText == nil && !options.update {
                return .failed(script, "no \(outPath) and no inline expectations (run `pidsh test --update \(script)` to record it)")
            }
        }
        let check = inline ? TranscriptCheck(inline: outline, run: run)
                           : TranscriptCheck(outFile: outPath, text: outText ?? "", run: run)
        if let misplaced = outline.misplaced.first {
            return .failed(script, "\(script):\(misplaced): a `#>` line inside a statement: the output of a loop, a def call or a block belongs to the top-level statement, so its `#>` lines go after the statement's last line")
        }
        if options.update { return record(check, run: run, inline: inline, options: options) }
        if check.passes && check.problems.isEmpty { return TestResult(script: script, verdict: .passed, summary: "ok") }
        let names = inline ? ("\(script) (#> lines)", "this run") : (outPath, "\(script) (this run)")
        let (plain, colored, line) = check.report(oldName: names.0, newName: names.1, palette: palette, inline: inline)
        let file = inline ? script : outPath
        var r = TestResult(script: script, verdict: .failed, summary: "output differs from the expected transcript",
                           location: "\(file):\(line)", detail: plain, coloredDetail: colored)
        if run.status.shellCode != check.expectedStatus {
            r.summary = "exit status \(run.status.shellCode), expected \(check.expectedStatus)"
        }
        return r
    }

    /// `--update`: writes the new expectations, unless the run failed and the old
    /// ones did not say so (`[N]`) and `--accept-failures` was not given.
    func record(_ check: TranscriptCheck, run: RunOutput, inline: Bool, options: GoldenOptions) -> TestResult {
        let code = run.status.shellCode
        if code != 0 && code != check.expectedStatus && !options.acceptFailures {
            let why = code == ExitCode.expectFailed ? " (an `expect` failed)" : ""
            let tail = run.text.split(separator: "\n").suffix(6).map { "  " + $0 }.joined(separator: "\n")
            return .failed(script, "not recorded: the run exited with status \(code)\(why), and the expected transcript does not say so; fix the script, write `[\(code)]` as the expected last line, or pass --accept-failures",
                           detail: tail.isEmpty ? "" : "the run ended with:\n" + tail + "\n")
        }
        // A script that prints nothing has no #> line to hold that: an empty .out does.
        let nothingInline = inline && !outline.hasInlineExpectations && check.blocks.allSatisfy { $0.updated.isEmpty }
        do {
            if inline && !nothingInline {
                let text = InlineRewrite.rewrite(outline, blocks: check.blocks)
                let changed = text != String(decoding: outline.source.bytes, as: UTF8.self)
                let hadOut = FileIO.exists(outPath)
                if changed { try FileIO.replaceFile(script, Array(text.utf8), mode: FileIO.permissions(script)) }
                if hadOut { try FileIO.removeFile(outPath) }
                let summary = hadOut ? "updated \(script) (inline; \(outPath) removed)" : (changed ? "updated \(script) (inline)" : "ok")
                var result = TestResult(script: script, verdict: .passed, summary: summary)
                let moved = ScriptOutline(source: SourceFile(name: outline.source.name, text: text)).groups.map { $0.startLine }
                result.movedStatements = moved != outline.groups.map { $0.startLine }
                return result
            }
            let lines = check.blocks[0].updated
            let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
            let old = (try? FileIO.readFile(outPath)).map { String(decoding: $0, as: UTF8.self) }
            if old == text { return TestResult(script: script, verdict: .passed, summary: "ok") }
            try FileIO.writeFile(outPath, text)
            return TestResult(script: script, verdict: .passed, summary: "updated \(outPath)")
        } catch {
            return .failed(script, "cannot record: \(error)")
        }
    }
}
