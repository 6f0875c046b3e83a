#ifndef CAMHOST_CLINUX_SHIM_H
#define CAMHOST_CLINUX_SHIM_H
/* Linux kernel interfaces that Swift's Glibc module does not export (no library to link):
   epoll for the MQTT network loop (Sources/Control/MosquittoLoop.swift), and glibc's <malloc.h>
   for mallopt and malloc_trim (Sources/POSIX/Memory.swift), and <sys/timex.h> for adjtimex, which
   tells whether the clock is synchronised (Sources/POSIX/TimeSynchronization.swift). */
#include <sys/epoll.h>
#include <malloc.h>
#include <sys/timex.h>
#endif
