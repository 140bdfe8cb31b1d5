import CPidsh
import Glibc

/// Everything a spawn needs, prepared before the fork.
public struct SpawnOptions {
    public var path: String?          // nil: pidsh's init loop instead of a program
    public var arguments: [String]    // argv, argv[0] included
    /// KEY=VALUE strings; nil: pidsh's own environment, passed as it is (no copy).
    public var environment: [String]?
    public var newPIDNamespace = false
    public var joinNamespace: Namespace?
    /// Where the child mounts its own procfs before exec (MountLog.prepareMountPoint).
    public var procMountPoint: MountPoint?
    public var remountProc = false
    /// (target, source) pairs wired with dup2 in the child.
    public var fileDescriptors: [(Int32, Int32)] = []
    public var newProcessGroup = false
    /// chdir in the child before exec.
    public var workingDirectory: String?
    /// Return only once the exec is visible in /proc (its name and command line). The
    /// kernel lets pidsh go at exec's point of no return, before it has set the new
    /// name and loaded the arguments; a process that pidsh will not wait for at once
    /// is then read as it really is. Off for jobs waited for in the foreground, which
    /// nobody looks at meanwhile (it costs a /proc read per spawn).
    public var awaitExecVisible = true
    /// pidsh waits for the child right away (`spawn --wait`, a foreground program): its
    /// handle skips what only a child left running needs (ProcessHandle's init).
    public var waitedAtOnce = false
    /// Signals the program starts with blocked / ignored (`spawn --block`, `--ignore`):
    /// set in the child after the reset of every disposition, they survive exec.
    public var blockSignals = SignalSet()
    public var ignoreSignals = SignalSet()
    /// pidsh's init (path nil, or `initForwards`): the signals it catches from the start
    /// besides SIGCHLD (`--catch`); a forwarder passes exactly these to its program.
    public var initCatches = SignalSet()
    /// `spawn --newpid --init forwarder`: the child is pidsh's init, which runs `path`
    /// as PID 2, passes it the signals it catches and exits with its status.
    public var initForwards = false

    /// The child is pidsh's init (it gets a control channel).
    var startsInit: Bool { path == nil || initForwards }
    /// Set (by `Spawner.spawn`) when the child enters another filesystem: `path` is then
    /// the bare name, looked up there on these directories ($PATH), as nsenter's execvp.
    public var searchPath: String?

    // Namespaces of the other types (see NamespaceSpawnOptions).
    public var namespaces = NamespaceSpawnOptions()

    public init(path: String?, arguments: [String], environment: [String]? = nil) {
        self.path = path
        self.arguments = arguments
        self.environment = environment
    }
}

extension SpawnOptions {
    /// A program named bare (`sh`, not `/bin/sh`) in a child that enters another
    /// filesystem (joins a mount namespace, or takes a target's root: `spawn --enter`)
    /// is looked up there, by the child, as nsenter's execvp does: a container has its
    /// own /bin, and the host's /usr/bin/sh may not exist in it.
    func lookingUpInTargetFilesystem() -> SpawnOptions {
        guard path != nil, namespaces.join?.entersOtherFilesystem == true,
              let name = arguments.first, !name.isEmpty, !name.contains("/") else { return self }
        var o = self
        o.path = name
        o.searchPath = FileIO.environment("PATH") ?? FileIO.defaultSearchPath
        return o
    }
}

/// `envp`'s pointers, or pidsh's own `environ` when there is none: execve copies it in
/// the kernel, as posix_spawn passes it.
func withEnvironment<R>(_ envp: CStringArray?, _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) throws -> R) rethrows -> R {
    if let envp { return try envp.withUnsafeArgv(body) }
    return try body(UnsafePointer(environ))
}

public enum Spawner {
    /// Forks and starts the child (see CPidsh); the child is held by pidfd. Errors carry
    /// the kernel rule behind them.
    public static func spawn(_ options: SpawnOptions, trace: UnsafeMutablePointer<pidsh_trace>? = nil,
                             onMount: (pidsh_mount_handle) -> Void = { _ in }) throws -> ProcessHandle {
        let options = options.lookingUpInTargetFilesystem()
        let argv = CStringArray(options.arguments)
        let envp = options.environment.map { CStringArray($0) }
        let flatMap = options.fileDescriptors.flatMap { [$0.0, $0.1] }
        var result = pidsh_spawn_result()
        // pidsh's init gets a control channel: pidsh keeps one end, the init the other.
        let control = options.startsInit ? try InitChannel.makePair() : nil
        defer { if let control { close(control.1) } }
        let rc: Int32 = flatMap.withUnsafeBufferPointer { map in
            argv.withUnsafeArgv { a in
                withEnvironment(envp) { e in
                    withOptionalCString(options.path) { path in
                        withOptionalCString(options.startsInit ? "pidsh-init" : nil) { initName in
                          withOptionalCString(options.workingDirectory) { cwd in
                           withOptionalCString(options.searchPath) { searchPath in
                            var req = pidsh_spawn_request()
                            req.path = path
                            req.argv = a
                            req.envp = e
                            req.new_pid_namespace = options.newPIDNamespace ? 1 : 0
                            req.join_pid_namespace_fd = options.joinNamespace?.fd ?? -1
                            req.proc_mount_dirfd = options.procMountPoint?.fd ?? -1
                            req.proc_mount_record = options.procMountPoint?.record ?? 0
                            req.trace = trace
                            req.remount_proc = options.remountProc ? 1 : 0
                            req.fd_map = map.baseAddress
                            req.fd_map_count = Int32(options.fileDescriptors.count)
                            req.new_process_group = options.newProcessGroup ? 1 : 0
                            req.init_name = initName
                            req.working_directory = cwd
                            req.block_signals = options.blockSignals.bits
                            req.ignore_signals = options.ignoreSignals.bits
                            req.init_control_fd = control?.1 ?? -1
                            req.init_catch_signals = options.initCatches.bits
                            req.init_forwards = options.initForwards ? 1 : 0
                            return options.namespaces.apply(&req) { req in
                                req.search_path = searchPath
                                return pidsh_spawn(&req, &result)
                            }
                           }
                          }
                        }
                    }
                }
            }
        }
        // The child's procfs mount is pidsh's to undo, even when the exec then failed.
        if result.mount.fd >= 0 { onMount(result.mount) }
        if rc != 0 {
            if result.pidfd >= 0 {
                // The child exists but pidsh could not restore its own pid_for_children.
                _ = pidsh_pidfd_send_signal(result.pidfd, SIGKILL, result.pid, nil)
                let orphan = ProcessHandle.adopt(pid: result.pid, pidfd: result.pidfd, isChild: true, command: options.arguments)
                _ = try? orphan.wait(interruptible: false)
            }
            throw KernelRules.spawnError(stage: result.stage, errno: result.error, options: options)
        }
        let command = options.startsInit ? ["pidsh-init"] : options.arguments
        let process = ProcessHandle.adopt(pid: result.pid, pidfd: result.pidfd, isChild: true, command: command,
                                          waitedAtOnce: options.waitedAtOnce && !options.startsInit)
        process.initChannel = control?.0
        if !options.startsInit && options.awaitExecVisible, let path = options.path { process.awaitExecVisible(program: path) }
        return process
    }

    /// `nest`: N nested namespaces; returns one process per level, outermost first.
    public static func nest(levels: Int, mountPoints: [MountPoint]?, path: String?, arguments: [String],
                            environment: [String] = currentEnvironment(), join: Namespace? = nil,
                            trace: UnsafeMutablePointer<pidsh_trace>? = nil,
                            onMount: (Int, pidsh_mount_handle) -> Void = { _, _ in }) throws -> [NestedLevel] {
        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        var out = [pidsh_nest_level](repeating: pidsh_nest_level(), count: levels)
        var result = pidsh_nest_result()
        let rc: Int32 = argv.withUnsafeArgv { a in
            envp.withUnsafeArgv { e in
                withOptionalCString(path) { p in
                    withOptionalArray(mountPoints?.map { $0.fd }) { dirs in
                      withOptionalArray(mountPoints?.map { $0.record }) { records in
                        var req = pidsh_nest_request()
                        req.levels = Int32(levels)
                        req.proc_dirfds = dirs
                        req.proc_mount_records = records
                        req.trace = trace
                        req.path = p
                        req.argv = a
                        req.envp = e
                        req.join_pid_namespace_fd = join?.fd ?? -1
                        return pidsh_nest(&req, &out, &result)
                      }
                    }
                }
            }
        }
        // Each level's procfs mount is pidsh's to undo, also when a later level failed.
        for level in 0..<levels where out[level].mount.fd >= 0 { onMount(level, out[level].mount) }
        if rc != 0 {
            throw KernelRules.nestError(result: result, levels: levels, program: arguments.first)
        }
        var levelsMade: [NestedLevel] = []
        for level in stride(from: levels - 1, through: 0, by: -1) {
            let entry = out[level]
            let pid = entry.pid
            let command = level == 0 ? (path == nil ? ["pidsh-init"] : arguments) : ["pidsh-init"]
            let process = ProcessHandle.adopt(pid: pid, pidfd: entry.pidfd, isChild: level == levels - 1, command: command)
            if entry.control >= 0 { process.initChannel = InitChannel(fd: entry.control) }
            // The innermost exec'd program, as for spawn: shown as itself from now on.
            if level == 0, let path, pid > 0 { process.awaitExecVisible(program: path) }
            let namespace = entry.nsfd >= 0 ? try? Namespace(adopting: entry.nsfd) : nil
            levelsMade.append(NestedLevel(process: process, namespace: namespace))
        }
        return levelsMade
    }

    /// One level of `nest`: its first process and its namespace (held from the start,
    /// so a quick innermost program cannot take it away before pidsh looks).
    public struct NestedLevel {
        public var process: ProcessHandle
        public var namespace: Namespace?
    }

    /// The PID (in pidsh's view) behind a pidfd, from /proc/self/fdinfo.
    public static func pidOfPidfd(_ fd: Int32) -> Int32 {
        // Found in the bytes, without splitting the whole text into lines (once per
        // `nest` level): the "Pid:" line's value, trimmed of blanks.
        guard let bytes = ProcFiles.read("/proc/self/fdinfo/\(fd)") else { return -1 }
        let n = bytes.count
        var start = 0
        while start < n {
            var end = start
            while end < n, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            if end - start >= 4, bytes[start..<start + 4].elementsEqual("Pid:".utf8) {
                var a = start + 4, b = end
                while a < b, bytes[a] == UInt8(ascii: " ") || bytes[a] == UInt8(ascii: "\t") { a += 1 }
                while b > a, bytes[b - 1] == UInt8(ascii: " ") || bytes[b - 1] == UInt8(ascii: "\t") { b -= 1 }
                return Int32(String(decoding: bytes[a..<b], as: UTF8.self)) ?? -1
            }
            start = end + 1
        }
        return -1
    }
}

func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) throws -> R) rethrows -> R {
    guard let s else { return try body(nil) }
    return try s.withCString { try body($0) }
}

func withOptionalArray<T, R>(_ a: [T]?, _ body: (UnsafePointer<T>?) throws -> R) rethrows -> R {
    guard let a else { return try body(nil) }
    return try a.withUnsafeBufferPointer { try body($0.baseAddress) }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self[...]
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
