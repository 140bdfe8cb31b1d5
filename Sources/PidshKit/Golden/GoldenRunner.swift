import PidshSystem

/// `pidsh test [--update] PATHS...`: runs each NAME.pidsh in a child pidsh with
/// `--stable-ids` in a clean environment and compares stdout+stderr (merged, in order)
/// with NAME.out. A non-zero exit of the script is part of the transcript.
public struct GoldenRunner {
    public var update: Bool
    /// The pidsh to run the scripts with (default: this executable).
    public var pidshPath: String
    public var out: OutputSink

    public init(update: Bool, pidshPath: String = SessionSetup.executablePath, out: OutputSink = OutputSink(.descriptor(1))) {
        self.update = update
        self.pidshPath = pidshPath
        self.out = out
    }

    public struct Result {
        public var script: String
        public var passed: Bool
        public var report: String
    }

    public func run(paths: [String]) -> Int32 {
        let scripts = GoldenRunner.collect(paths)
        if scripts.isEmpty {
            out.write("pidsh test: no .pidsh scripts in \(paths.joined(separator: " "))\n")
            return 1
        }
        var passed = 0, failed = 0
        for script in scripts {
            let r = check(script)
            out.write(r.report)
            if r.passed { passed += 1 } else { failed += 1 }
        }
        out.write("\(passed) passed, \(failed) failed\n")
        return failed == 0 ? 0 : 1
    }

    /// The scripts named by the paths: files as given, directories' *.pidsh sorted.
    public static func collect(_ paths: [String]) -> [String] {
        var scripts: [String] = []
        for p in paths {
            if FileIO.isDirectory(p) {
                let base = p.hasSuffix("/") ? String(p.dropLast()) : p
                scripts += FileIO.directoryEntries(p).filter { $0.hasSuffix(".pidsh") }.map { base + "/" + $0 }
            } else {
                scripts.append(p)
            }
        }
        return scripts
    }

    public func check(_ script: String) -> Result {
        let expectedPath = String(script.dropLast(".pidsh".count)) + ".out"
        let actual: String
        do {
            actual = try transcript(of: script)
        } catch {
            return Result(script: script, passed: false, report: "FAIL \(script): could not run: \(error)\n")
        }
        if update {
            do {
                try FileIO.writeFile(expectedPath, actual)
                return Result(script: script, passed: true, report: "updated \(expectedPath)\n")
            } catch {
                return Result(script: script, passed: false, report: "FAIL \(script): cannot write \(expectedPath): \(error)\n")
            }
        }
        guard let expectedBytes = try? FileIO.readFile(expectedPath) else {
            return Result(script: script, passed: false, report: "FAIL \(script): no \(expectedPath) (run `pidsh test --update \(script)` to record it)\n")
        }
        let expected = String(decoding: expectedBytes, as: UTF8.self)
        if expected == actual { return Result(script: script, passed: true, report: "ok   \(script)\n") }
        let diff = UnifiedDiff.render(old: expected, new: actual, oldName: expectedPath, newName: "\(script) (this run)")
        let line = UnifiedDiff.firstDifference(expected, actual)
        return Result(script: script, passed: false,
                      report: "FAIL \(script)\n\(diff)failed at \(expectedPath):\(line)\n")
    }

    /// Runs a script the way golden files are recorded.
    public func transcript(of script: String) throws -> String {
        let home = "/tmp/pidsh-test-home-\(FileIO.processID)"
        FileIO.makeDirectory(home, mode: 0o700)
        defer { FileIO.removeDirectory(home) }
        let env = ["LANG=C", "LC_ALL=C", "TZ=UTC", "NO_COLOR=1", "COLUMNS=80", "HOME=\(home)",
                   // pidsh itself comes first, so a script can run `pidsh -c ...`.
                   "PATH=\(GoldenRunner.directory(of: pidshPath)):\(FileIO.environment("PATH") ?? "/usr/local/bin:/usr/bin:/bin")",
                   "PIDSH_HISTFILE=/dev/null"]
        let (r, w) = try FileIO.pipe()
        let devnull = try FileIO.open("/dev/null", .read)
        let dir = GoldenRunner.directory(of: script)
        let name = GoldenRunner.baseName(script)
        var opts = SpawnOptions(path: pidshPath, arguments: ["pidsh", "--stable-ids", name], environment: env)
        opts.fileDescriptors = [(0, devnull), (1, w), (2, w)]
        opts.workingDirectory = dir
        let proc: ProcessHandle
        do {
            proc = try Spawner.spawn(opts)
        } catch {
            FileIO.close(r); FileIO.close(w); FileIO.close(devnull)
            throw error
        }
        FileIO.close(w)
        FileIO.close(devnull)
        let bytes = FileIO.readAll(fd: r)
        FileIO.close(r)
        let status = try proc.wait(interruptible: false)
        var text = String(decoding: bytes, as: UTF8.self)
        if status.shellCode != 0 {
            if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
            text += "[exit \(status.shellCode)]\n"
        }
        return text
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }

    static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

/// A unified diff with line numbers, from a longest-common-subsequence alignment.
public enum UnifiedDiff {
    enum Op { case same(Int, Int), removed(Int), added(Int) }

    static func lines(_ s: String) -> [String] {
        var l = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if l.last == "" { l.removeLast() }
        return l
    }

    static func align(_ a: [String], _ b: [String]) -> [Op] {
        let n = a.count, m = b.count
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        if n > 0 && m > 0 {
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
                }
            }
        }
        var ops: [Op] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, a[i] == b[j] { ops.append(.same(i, j)); i += 1; j += 1 }
            else if j < m, i == n || lcs[i][j + 1] >= lcs[i + 1][j] { ops.append(.added(j)); j += 1 }
            else { ops.append(.removed(i)); i += 1 }
        }
        return ops
    }

    /// The 1-based line of `old` where the two first differ.
    public static func firstDifference(_ old: String, _ new: String) -> Int {
        let a = lines(old), b = lines(new)
        for (i, (x, y)) in zip(a, b).enumerated() where x != y { return i + 1 }
        return min(a.count, b.count) + 1
    }

    public static func render(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = lines(old), b = lines(new)
        let ops = align(a, b)
        var out = "--- \(oldName)\n+++ \(newName)\n"
        let changed = ops.indices.filter { if case .same = ops[$0] { return false }; return true }
        var k = 0
        while k < changed.count {
            var start = max(0, changed[k] - context)
            var end = min(ops.count - 1, changed[k] + context)
            var next = k + 1
            while next < changed.count, changed[next] - context <= end + 1 {
                end = min(ops.count - 1, changed[next] + context)
                next += 1
            }
            if start < 0 { start = 0 }
            var oldStart = 0, newStart = 0, oldCount = 0, newCount = 0
            var found = false
            for op in ops[start...end] {
                switch op {
                case .same(let i, let j):
                    if !found { oldStart = i; newStart = j; found = true }
                    oldCount += 1; newCount += 1
                case .removed(let i):
                    if !found { oldStart = i; newStart = newIndex(ops, start); found = true }
                    oldCount += 1
                case .added(let j):
                    if !found { oldStart = oldIndex(ops, start); newStart = j; found = true }
                    newCount += 1
                }
            }
            out += "@@ -\(oldStart + 1),\(oldCount) +\(newStart + 1),\(newCount) @@\n"
            for op in ops[start...end] {
                switch op {
                case .same(let i, _): out += " \(pad(i + 1)) | \(a[i])\n"
                case .removed(let i): out += "-\(pad(i + 1)) | \(a[i])\n"
                case .added(let j): out += "+\(pad(j + 1)) | \(b[j])\n"
                }
            }
            k = next
        }
        return out
    }

    static func pad(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: " ", count: max(0, 4 - s.count)) + s
    }

    static func newIndex(_ ops: [Op], _ upTo: Int) -> Int {
        var j = 0
        for op in ops[..<upTo] { if case .same = op { j += 1 } else if case .added = op { j += 1 } }
        return j
    }

    static func oldIndex(_ ops: [Op], _ upTo: Int) -> Int {
        var i = 0
        for op in ops[..<upTo] { if case .same = op { i += 1 } else if case .removed = op { i += 1 } }
        return i
    }
}
