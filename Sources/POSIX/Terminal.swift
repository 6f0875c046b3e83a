#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The terminal on standard input: reading a secret without echo.
public enum Terminal {
    /// Runs `body` with echo off on standard input when it is a terminal (restored afterwards,
    /// even when `body` throws).
    public static func withEchoOff<R>(_ body: () throws -> R) rethrows -> R {
        var saved = termios()
        let haveTerminal = tcgetattr(0, &saved) == 0
        if haveTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &quiet)
        }
        defer { if haveTerminal { tcsetattr(0, TCSAFLUSH, &saved) } }
        return try body()
    }
}
