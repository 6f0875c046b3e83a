#ifndef CAMHOST_CMICROHTTPD_SHIM_H
#define CAMHOST_CMICROHTTPD_SHIM_H
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

/* MHD_start_daemon is variadic and does not import into Swift: options go through
   MHD_OPTION_ARRAY, terminated by MHD_OPTION_END. */
static inline struct MHD_Daemon *
cmicrohttpd_start_daemon(unsigned int flags, uint16_t port,
                         MHD_AccessHandlerCallback dh, void *dh_cls,
                         struct MHD_OptionItem *options) {
    return MHD_start_daemon(flags, port, NULL, NULL, dh, dh_cls,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/* MHD_get_connection_info is variadic; this asks for the client address. */
static inline const struct sockaddr *
cmicrohttpd_client_address(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info ? info->client_addr : NULL;
}

/* MHD_get_connection_info is variadic; this asks for the connection's socket. */
static inline int
cmicrohttpd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? info->connect_fd : -1;
}

/* MHD_get_connection_info is variadic; this asks for the connection's GnuTLS session. */
static inline void *
cmicrohttpd_tls_session(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return info ? info->tls_session : NULL;
}

/* MHD_get_daemon_info is variadic; this asks for the number of open connections. */
static inline unsigned int
cmicrohttpd_connection_count(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}
/* Headers, cookies and query arguments in one pass (the iterator receives each value's kind):
   one walk of the connection's value list per request instead of three. */
static inline int
cmicrohttpd_request_values(struct MHD_Connection *connection,
                           MHD_KeyValueIterator iterator, void *cls) {
    return MHD_get_connection_values(connection,
        (enum MHD_ValueKind) (MHD_HEADER_KIND | MHD_COOKIE_KIND | MHD_GET_ARGUMENT_KIND),
        iterator, cls);
}

/* MHD_get_daemon_info is variadic; this asks for the epoll descriptor of a daemon started
   without its own thread (camhost runs it: DaemonRunner). */
static inline int
cmicrohttpd_epoll_fd(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
    return info ? info->epoll_fd : -1;
}

/* How long the caller may wait before MHD_run must run again, in milliseconds (capped);
   `cap` when libmicrohttpd has no deadline. */
static inline int
cmicrohttpd_timeout_ms(struct MHD_Daemon *daemon, int cap) {
    MHD_UNSIGNED_LONG_LONG timeout = 0;
    if (MHD_YES != MHD_get_timeout(daemon, &timeout)) return cap;
    return timeout < (MHD_UNSIGNED_LONG_LONG) cap ? (int) timeout : cap;
}

/* MHD_upgrade_action is variadic; this is its CLOSE action, which gives an upgraded socket
   back to libmicrohttpd (the application must never close() it itself). */
static inline enum MHD_Result
cmicrohttpd_upgrade_close(struct MHD_UpgradeResponseHandle *urh) {
    return MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}
#endif
