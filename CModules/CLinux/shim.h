#ifndef CAMHOST_CLINUX_SHIM_H
#define CAMHOST_CLINUX_SHIM_H
/* Linux kernel interfaces that Swift's Glibc module does not export (no library to link):
   epoll for the MQTT network loop (Sources/Control/MosquittoLoop.swift). */
#include <sys/epoll.h>
#endif
