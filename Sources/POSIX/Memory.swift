import CLinux

/// glibc's allocator knobs (<malloc.h>, which Swift's Glibc module leaves out; CLinux includes it).
public enum Memory {
    /// mallopt(M_MMAP_THRESHOLD, bytes): blocks from this size are mapped on their own and given
    /// back to the system when freed (and the threshold stops sliding).
    @discardableResult
    public static func setMapThreshold(_ bytes: Int32) -> Bool { mallopt(M_MMAP_THRESHOLD, bytes) == 1 }

    /// malloc_trim(0): returns the free pages of every malloc arena to the system.
    @discardableResult
    public static func trim() -> Bool { malloc_trim(0) == 1 }
}
