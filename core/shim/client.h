/* berthd's side of the berthd <-> berth-shim protocol (protocol.h): the only
 * code in berthd that speaks it.  Every call takes the shim's socket path
 * (ctr_socket) and holds no lock. */
#ifndef BERTH_SHIM_CLIENT_H
#define BERTH_SHIM_CLIENT_H

#include <stdint.h>
#include <sys/types.h>

#include "../util/util.h"

/* Start the shim of the bundle (spec.json in it) from the sealed copy of
 * berth-shim (launch.h): berthd's child (spawn_vm), in a session of its
 * own, stdio to <bundle>/shim.log; it outlives berthd, and while berthd
 * runs berthd reaps it (shim_reaper_start).  Waits for the shim's "OK
 * <pid> <shim pid>" (the container's init, held before its exec) on the
 * ready pipe. */
/* dl: the build that can dlopen (the log driver is a plugin file);
 * mntns_fd: the namespace the shim clones the init from (-1: its own);
 * netns_fd: a network namespace made ahead for the init to join, for a
 * container with one of its own (-1: the init makes one) */
int shim_spawn(const char *bundle, const char *sock, const char *plugin_dir, bool dl, int mntns_fd,
               int netns_fd, pid_t *pid, struct berth_err *err);

/* Make berthd the child subreaper of what it starts (a shim's children,
 * the container's init among them, come back to berthd if the shim dies)
 * and reap the shims and those orphans when they exit, the moment they do
 * (a pidfd each): PID 1 does not reap on every host.  Once, at start-up. */
void shim_reaper_start(void);

/* pid, a child of berthd (a shim, or the container init a dead shim left
 * to berthd), is reaped when it exits */
void shim_reap_later(pid_t pid);

/* Connect and send one command line; the fd, or -1 (no shim listening). */
int shim_connect(const char *sock, const char *cmd);

/* STATUS */
enum shim_state { SHIM_GONE, SHIM_RUNNING, SHIM_EXITED };
enum shim_state shim_status(const char *sock, int *pid);

/* START: release the container's init.  0: running; -1: not, with the
 * shim's reason in reason ("" if the shim went away without answering). */
int shim_start(const char *sock, char *reason, size_t len);

/* RESIZE the container's tty */
void shim_resize(const char *sock, int h, int w);

/* WATCH of every running container's shim on one thread (epoll), not a
 * thread each: once the shim at sock sends its exit frame or goes away,
 * done(arg, framed, code, oom) runs on a thread of its own (framed: the
 * frame came, with code and oom).  A shim that cannot be reached at all
 * gets done at once, unframed. */
typedef void shim_exit_fn(void *arg, bool framed, int code, bool oom);
void shim_watch_async(const char *sock, shim_exit_fn *done, void *arg);

/* Wait up to ms for the shim to remove its socket (it has then written
 * exit.json).  false if it is still there. */
bool shim_wait_gone(const char *sock, int ms);

/* Frames on an ATTACH connection.  shim_read_frame: 1 a frame (type in
 * h[0], payload in buf, at most cap bytes), 0 the end (EOF, an error, a
 * frame too big). */
int shim_read_frame(int fd, unsigned char h[8], char *buf, uint32_t cap, uint32_t *len);
int shim_send_frame(int fd, int type, const void *data, uint32_t len);

#endif
