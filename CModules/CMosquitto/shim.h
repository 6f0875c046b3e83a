#ifndef CAMHOST_CMOSQUITTO_SHIM_H
#define CAMHOST_CMOSQUITTO_SHIM_H
#include <mosquitto.h>

/* LIBMOSQUITTO_VERSION_NUMBER is a macro computed from three others. */
static inline int cmosquitto_header_version_number(void) { return LIBMOSQUITTO_VERSION_NUMBER; }
#endif
