/*
 * listenfds — the listening socket a service manager hands over (systemd
 * socket activation: sd_listen_fds(3)'s protocol, without libsystemd).
 *
 * systemd opens and binds the socket itself (wshub.socket), starts the
 * service with it as descriptor 3, and says so in the environment:
 * LISTEN_PID (the pid the descriptors are for, so a child that inherits
 * the environment does not take them) and LISTEN_FDS (how many, from 3).
 * wshub serves one listener, so it takes exactly one.
 */
#ifndef WSHUB_LISTENFDS_H
#define WSHUB_LISTENFDS_H

#include <stddef.h>

#define LISTENFDS_START 3 /* SD_LISTEN_FDS_START */

/*
 * The inherited listening socket: its descriptor (made non-blocking and
 * close-on-exec), or -1 if this process was handed none (no LISTEN_PID,
 * or one that names another process), or -2 with a one-line reason in err
 * if it was handed something it cannot serve (not one socket, not a
 * listening stream socket).  Unsets LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES either way, as sd_listen_fds(1) does.  From main,
 * before any other thread exists (it changes the environment).
 */
int listenfds_take(char *err, size_t errlen);

#endif
