#ifndef CAMHOST_CLINUX_SHIM_H
#define CAMHOST_CLINUX_SHIM_H
/* Linux kernel interfaces that Swift's Glibc module does not export (no library to link):
   epoll for the MQTT network loop (Sources/Control/MosquittoLoop.swift), and glibc's <malloc.h>
   for mallopt and malloc_trim (Sources/POSIX/Memory.swift), and <sys/timex.h> for adjtimex, which
   tells whether the clock is synchronised (Sources/POSIX/TimeSynchronization.swift),
   and fallocate and the SIOCOUTQ ioctl (below). */
#include <sys/epoll.h>
#include <malloc.h>
#include <sys/timex.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

/* fallocate(2) is declared by <fcntl.h> only under _GNU_SOURCE, which the Glibc module is built
   without: declared here for FALLOC_FL_COLLAPSE_RANGE (Sources/POSIX/FileRanges.swift). off_t is
   64 bits on the 64-bit targets camhost builds for. */
extern int fallocate(int fd, int mode, long offset, long length);
static inline int clinux_fallocate(int fd, int mode, long offset, long length) {
    return fallocate(fd, mode, offset, length);
}

/* ioctl(2) is variadic and does not import: SIOCOUTQ, the bytes a socket has queued that its
   peer has not read yet (the WebSocket event loop waits for libmicrohttpd's TLS pump to take the
   last frame before it ends the connection; Sources/POSIX/SocketIO.swift). */
static inline int clinux_ioctl_siocoutq(int fd, int *count) {
    return ioctl(fd, SIOCOUTQ, count);
}
#endif
