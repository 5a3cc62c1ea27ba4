/* berth-shim spare: wait for a role (protocol.h), then take it. */
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "../runtime/cgroup.h"
#include "../util/util.h"
#include "protocol.h"

static char warm_cg[32];

const char *shim_spare_cgroup(void) {
  return warm_cg[0] ? warm_cg : NULL;
}

void shim_spare_cgroup_taken(void) {
  warm_cg[0] = 0;
}

void shim_spare_cgroup_drop(void) {
  if (warm_cg[0]) cgroup_ops()->destroy(warm_cg);
  warm_cg[0] = 0;
}

/* docker's default devices, no limits: what most containers ask for */
static void make_warm_cgroup(void) {
  const struct cgroup_ops *cg = cgroup_ops();
  if (!cg->adopt) return;
  snprintf(warm_cg, sizeof warm_cg, "spare-%d", (int)getpid());
  struct cg_limits l = {0};
  struct berth_err err = {0};
  if (cg->create(warm_cg, &l, &err) < 0) shim_spare_cgroup_drop();
}

/* ps and pgrep read a process's command line from its original argument
 * area: the role's argv goes there (as nginx names its workers), cut to
 * fit and padded with NULs.  berthd starts a spare with a long blank
 * argument so that the area has room. */
static void retitle(int argc, char **argv, int nargc, char **nargv) {
  char *p = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
  for (int i = 0; i < nargc && p < end; i++) {
    size_t n = strlen(nargv[i]) + 1;
    if (n > (size_t)(end - p)) n = (size_t)(end - p);
    memcpy(p, nargv[i], n);
    p += n;
  }
  memset(p, 0, (size_t)(end - p));
  end[-1] = 0;
}

/* the argv strings after the header: exactly argc, each NUL-terminated */
static char **split_argv(char *s, size_t len, uint32_t argc) {
  if (argc == 0 || argc > 64) return NULL;
  char **v = xcalloc(argc + 1, sizeof *v);
  size_t off = 0;
  for (uint32_t i = 0; i < argc; i++) {
    char *nul = off < len ? memchr(s + off, 0, len - off) : NULL;
    if (!nul) {
      free(v);
      return NULL;
    }
    v[i] = s + off;
    off = (size_t)(nul - s) + 1;
  }
  return v;
}

/* each received descriptor at its slot; 0-2 missing: /dev/null; nothing
 * else stays open (the control socket neither) */
static int place_fds(const struct shim_spare_hdr *h, const int *got, int ngot) {
  if (h->nslots > SHIM_SPARE_MAX_FDS || (h->mask >> h->nslots) != 0 ||
      __builtin_popcount(h->mask) != ngot)
    return -1;
  int slot[SHIM_SPARE_MAX_FDS], k = 0;
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (uint32_t i = 0; i < h->nslots; i++) {
    int f = h->mask & (1u << i) ? got[k++] : i < 3 ? nul : -1;
    /* out of the way of the slot numbers first */
    slot[i] = f >= 0 ? fcntl(f, F_DUPFD_CLOEXEC, SHIM_SPARE_MAX_FDS + 8) : -1;
  }
  for (uint32_t i = 0; i < h->nslots; i++) {
    if (slot[i] >= 0 && dup2(slot[i], (int)i) < 0) return -1;
    if (slot[i] < 0) close((int)i);
  }
  syscall(SYS_close_range, h->nslots, ~0U, 0U);
  return 0;
}

int shim_spare_wait(int *argc, char ***argv) {
  static char buf[SHIM_SPARE_MAX_MSG + 1];
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(SHIM_SPARE_MAX_FDS * sizeof(int))];
  } cm;
  struct iovec iov = {buf, SHIM_SPARE_MAX_MSG};
  struct msghdr m = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b, .msg_controllen = sizeof cm.b};
  make_warm_cgroup();
  ssize_t n;
  while ((n = recvmsg(SHIM_SPARE_CTL_FD, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n < (ssize_t)sizeof(struct shim_spare_hdr)) {
    shim_spare_cgroup_drop();
    return -1;
  }
  int got[SHIM_SPARE_MAX_FDS], ngot = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k && ngot < SHIM_SPARE_MAX_FDS; i++)
      memcpy(&got[ngot++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  struct shim_spare_hdr h;
  memcpy(&h, buf, sizeof h);
  buf[n] = 0;
  char **nargv = split_argv(buf + sizeof h, (size_t)n - sizeof h, h.argc);
  if (!nargv || (m.msg_flags & MSG_CTRUNC) || place_fds(&h, got, ngot) < 0) return -1;
  retitle(*argc, *argv, (int)h.argc, nargv);
  *argc = (int)h.argc;
  *argv = nargv;
  return 0;
}
