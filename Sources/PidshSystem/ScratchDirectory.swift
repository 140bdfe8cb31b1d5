import CPidsh
import Glibc

/// One `pidsh test` run's directory in /tmp, its HOME and TMPDIR below. The janitor
/// makes it, so that it goes with whatever the script left in it even when `pidsh test`
/// is killed (SIGKILL included: janitor.c's remove_scratch); after a run pidsh removes
/// it and the janitor forgets it.
public struct ScratchDirectory {
    public let path: String
    let record: UInt64

    nonisolated(unsafe) private static var lastRecord: UInt64 = 0

    public static func make() throws -> ScratchDirectory {
        // Started once (later calls find it running); stopped with SessionSetup.finish.
        try SessionSetup.startJanitor()
        let tmp = pidsh_open_path_dir("/tmp")
        guard tmp >= 0 else { throw SystemError.last("open /tmp") }
        defer { close(tmp) }
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        for _ in 0..<100 {
            let name = "pidsh-test." + String((0..<6).map { _ in letters.randomElement()! })
            lastRecord += 1
            var fd: Int32 = -1
            let e = pidsh_janitor_make_scratch(tmp, name, lastRecord, &fd)
            if e == EEXIST { continue }
            if e != 0 { throw SystemError(errnoValue: e, "mkdir /tmp/\(name)") }
            close(fd)
            let scratch = ScratchDirectory(path: "/tmp/" + name, record: lastRecord)
            FileIO.makeDirectory(scratch.path + "/home", mode: 0o700)
            FileIO.makeDirectory(scratch.path + "/tmp", mode: 0o700)
            return scratch
        }
        throw SystemError(errnoValue: EEXIST, "mkdir /tmp/pidsh-test.XXXXXX")
    }

    public func remove() {
        FileIO.removeDirectory(path)
        _ = pidsh_janitor_forget(record)
    }
}
