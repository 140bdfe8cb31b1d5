/// `pidsh test --update` for a script with inline expectations: every `#>` line goes,
/// and each statement's new block takes the place of its first old line (or follows
/// the statement when it had none). Every other line stays as it was.
enum InlineRewrite {
    static func rewrite(_ outline: ScriptOutline, blocks: [TranscriptCheck.Block]) -> String {
        let source = outline.source
        var lineCount = source.lineStarts.count
        if source.bytes.last == 10 || source.bytes.isEmpty { lineCount -= 1 }
        let removed = Set(outline.prelude + outline.expectations.flatMap { $0 } + outline.misplaced)
        var before: [Int: [String]] = [:]
        for b in blocks {
            before[b.insertBefore, default: []] += b.updated.map { $0.isEmpty ? "#>" : "#> " + $0 }
        }
        var out: [String] = []
        for line in 1...(lineCount + 1) {
            out += before[line] ?? []
            if line <= lineCount, !removed.contains(line) { out.append(source.lineText(line)) }
        }
        return out.isEmpty ? "" : out.joined(separator: "\n") + "\n"
    }
}
