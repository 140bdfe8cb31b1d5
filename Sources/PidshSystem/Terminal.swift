import Glibc

/// The width of the terminal output goes to: listings cut their lines to it (as ps
/// and lsns do) and `help` wraps its text to it.
public enum Terminal {
    /// Columns of the terminal behind `fd`; nil when `fd` is not a terminal.
    public static func columns(of fd: Int32) -> Int? {
        guard isatty(fd) == 1 else { return nil }
        var ws = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { return Int(ws.ws_col) }
        return columnsFromEnvironment ?? 80
    }

    /// Where text wraps: the terminal's width, else $COLUMNS, else 80.
    public static func wrapWidth(of fd: Int32) -> Int {
        columns(of: fd) ?? columnsFromEnvironment ?? 80
    }

    static var columnsFromEnvironment: Int? {
        guard let text = getenv("COLUMNS").map({ String(cString: $0) }), let n = Int(text), n > 0 else { return nil }
        return n
    }
}
