import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// Whether the kernel's clock is synchronised (by systemd-timesyncd, chrony or ntpd), read with
/// adjtimex(2) without changing anything: recordings, certificates and log-ins depend on the time.
public enum TimeSynchronization {
    /// nil when the kernel would not say.
    public static func isSynchronized() -> Bool? {
        var state = timex()
        let result = adjtimex(&state)
        guard result >= 0 else { return nil }
        // TIME_ERROR (5): the clock is not synchronised (STA_UNSYNC set or the error is too large).
        return result != TIME_ERROR && state.status & STA_UNSYNC == 0
    }
}
