/* berthd <-> berth-shim protocol, on <exec-root>/containers/<id>/shim.sock.
 *
 * A client sends one command line:
 *   "START\n"          release the container's init; reply "OK <pid>\n" or
 *                      "ERR <message>\n" (exec failed: the exit is recorded)
 *   "ATTACH <mask>\n"  mask bits: 1 stdin, 2 stdout, 4 stderr.  Then frames
 *                      both ways until the container exits.
 *   "WATCH\n"          only the exit frame
 *   "RESIZE <h> <w>\n" reply "OK\n"
 *   "STATUS\n"         reply "RUNNING <pid>\n" or "EXITED <code>\n"
 * Frames have docker's multiplexed header: byte 0 the type, bytes 4-7 the
 * payload length (big-endian).  shim -> client: 1 stdout, 2 stderr, 4 exit
 * (payload "<code> <oomkilled 0|1>").  client -> shim: 0 stdin data,
 * 5 stdin closed, 6 resize ("<h> <w>"). */
#ifndef BERTH_SHIM_PROTOCOL_H
#define BERTH_SHIM_PROTOCOL_H

#include <stdint.h>

#define SHIM_F_STDOUT 1
#define SHIM_F_STDERR 2
#define SHIM_F_EXIT 4
#define SHIM_F_STDIN 0
#define SHIM_F_STDIN_CLOSE 5
#define SHIM_F_RESIZE 6

#define SHIM_ATTACH_STDIN 1
#define SHIM_ATTACH_STDOUT 2
#define SHIM_ATTACH_STDERR 4

static inline void shim_frame_header(unsigned char h[8], int type, uint32_t len) {
  h[0] = (unsigned char)type;
  h[1] = h[2] = h[3] = 0;
  h[4] = (unsigned char)(len >> 24);
  h[5] = (unsigned char)(len >> 16);
  h[6] = (unsigned char)(len >> 8);
  h[7] = (unsigned char)len;
}

static inline uint32_t shim_frame_len(const unsigned char h[8]) {
  return ((uint32_t)h[4] << 24) | ((uint32_t)h[5] << 16) | ((uint32_t)h[6] << 8) | h[7];
}

/* berth-shim exec --container ID --pid PID: a process started inside a
 * running container.  berthd runs it from its sealed copy of berth-shim
 * with these descriptors:
 *   0, 1, 2  the process's stdio (/dev/null for a tty or a detached exec)
 *   3        the spec (rt_spec JSON), read to EOF
 *   4        close-on-exec error pipe: a message if set-up or exec failed
 *   5        (tty only) a socket that receives the pty master
 *   6        the process's wait status (an int, native order), written
 *            once the helper has reaped it: berthd has the exit code
 *            without waiting for the helper's own exit
 * berthd puts it in the container's cgroup before the spec ends; it joins
 * the container's namespaces, forks the process and exits with its
 * status. */
#define SHIM_EXEC_SPEC_FD 3
#define SHIM_EXEC_ERR_FD 4
#define SHIM_EXEC_PTY_FD 5
#define SHIM_EXEC_STATUS_FD 6
int shim_exec_main(int argc, char **argv);

/* berth-shim spare: a berth-shim exec'd ahead of need (launch.c keeps
 * one), so that a container's start or an exec pays no clone and exec of
 * its own.  It waits on SHIM_SPARE_CTL_FD, a seqpacket socket, for one
 * message: a struct shim_spare_hdr, then the role's argv (argc
 * NUL-terminated strings, "berth-shim --bundle ..." or "berth-shim exec
 * ..."); SCM_RIGHTS carries the descriptors of the slots set in mask, in
 * slot order.  It puts each at its number (0-2 missing: /dev/null), closes
 * every other, writes the role's argv over its own command line (what ps
 * and pgrep show) and runs as if started with it.  EOF: berthd is gone, and
 * so is the spare. */
#define SHIM_SPARE_CTL_FD 3
#define SHIM_SPARE_MAX_FDS 8
#define SHIM_SPARE_MAX_MSG 16384
struct shim_spare_hdr {
  uint32_t nslots, mask, argc;
};
/* 0: argc and argv are the role's; -1: berthd went away (or sent nonsense,
 * and the spare's cgroup is gone).  While it waits, a spare makes a cgroup
 * ahead ("spare-<pid>", docker's default devices) where the hierarchy can
 * rename one (cgroup v1), for a shim to adopt as its container's. */
int shim_spare_wait(int *argc, char ***argv);
/* that cgroup's name, or NULL (none, or taken or dropped already) */
const char *shim_spare_cgroup(void);
/* it is the container's now (adopted), or it goes (rmdir): for a role
 * without a use for it; either is a no-op without one */
void shim_spare_cgroup_taken(void);
void shim_spare_cgroup_drop(void);

#endif
