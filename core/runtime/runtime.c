#include "runtime.h"

#include "cgroup.h"

#include <ctype.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>

/* ---------------- spec (de)serialisation ---------------- */

static char **strv_from_json(json_t *a) {
  size_t n = json_array_size(a);
  char **v = xcalloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = xstrdup(json_string_value(json_array_get(a, i)));
  return v;
}

static json_t *strv_to_json(char **v) {
  json_t *a = json_array();
  for (; v && *v; v++)
    json_array_append_new(a, json_string(*v));
  return a;
}

static void strv_free(char **v) {
  for (char **p = v; p && *p; p++)
    free(*p);
  free(v);
}

static char *jdup(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? xstrdup(s) : NULL;
}

int rt_spec_load(const char *path, struct rt_spec *s, json_t **json, struct berth_err *err) {
  memset(s, 0, sizeof *s);
  *json = NULL;
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  if (!j) return berth_err_set(err, BERTH_EINVAL, 0, "%s: %s", path, je.text);
  int r = rt_spec_from_json(j, s, err);
  if (r < 0) {
    json_decref(j);
    return err_wrap(err, "%s", path);
  }
  *json = j;
  return 0;
}

int rt_spec_from_json(json_t *j, struct rt_spec *s, struct berth_err *err) {
  memset(s, 0, sizeof *s);
  s->id = jdup(j, "id");
  s->rootfs = jdup(j, "rootfs");
  s->bundle = jdup(j, "bundle");
  s->args = strv_from_json(json_object_get(j, "args"));
  s->env = strv_from_json(json_object_get(j, "env"));
  s->cwd = jdup(j, "cwd");
  s->uid = (uid_t)json_integer_value(json_object_get(j, "uid"));
  s->gid = (gid_t)json_integer_value(json_object_get(j, "gid"));
  json_t *g = json_object_get(j, "groups");
  s->n_groups = json_array_size(g);
  s->groups = xcalloc(s->n_groups + 1, sizeof *s->groups);
  for (size_t i = 0; i < s->n_groups; i++)
    s->groups[i] = (gid_t)json_integer_value(json_array_get(g, i));
  s->hostname = jdup(j, "hostname");
  s->domainname = jdup(j, "domainname");
  s->tty = json_is_true(json_object_get(j, "tty"));
  s->open_stdin = json_is_true(json_object_get(j, "open_stdin"));
  s->host_network = json_is_true(json_object_get(j, "host_network"));
  s->host_ipc = json_is_true(json_object_get(j, "host_ipc"));
  s->host_uts = json_is_true(json_object_get(j, "host_uts"));
  s->host_pid = json_is_true(json_object_get(j, "host_pid"));
  s->netns_path = jdup(j, "netns_path");
  s->pidns_path = jdup(j, "pidns_path");
  s->ipcns_path = jdup(j, "ipcns_path");
  const char *shm = json_string_value(json_object_get(j, "shm")) ?: "";
  s->shm = !strcmp(shm, "bound") ? RT_SHM_BOUND : !strcmp(shm, "none") ? RT_SHM_NONE : RT_SHM_OWN;
  s->privileged = json_is_true(json_object_get(j, "privileged"));
  s->readonly_rootfs = json_is_true(json_object_get(j, "readonly_rootfs"));
  s->no_new_privs = json_is_true(json_object_get(j, "no_new_privs"));
  s->seccomp = json_is_true(json_object_get(j, "seccomp"));
  s->seccomp_profile = jdup(j, "seccomp_profile");
  s->seccomp_bpf_path = jdup(j, "seccomp_bpf_path");
  json_t *lim = json_object_get(j, "limits");
  s->limits = json_is_object(lim) ? json_incref(lim) : NULL;
  json_t *ch = json_object_get(j, "cgroup_hiers");
  s->cgroup_hiers = json_is_array(ch) ? json_incref(ch) : NULL;
  s->caps = (uint64_t)json_integer_value(json_object_get(j, "caps"));
  json_t *m = json_object_get(j, "mounts");
  s->n_mounts = json_array_size(m);
  s->mounts = xcalloc(s->n_mounts + 1, sizeof *s->mounts);
  for (size_t i = 0; i < s->n_mounts; i++) {
    json_t *e = json_array_get(m, i);
    s->mounts[i].source = jdup(e, "source");
    s->mounts[i].target = jdup(e, "target");
    s->mounts[i].type = jdup(e, "type");
    s->mounts[i].options = jdup(e, "options");
    s->mounts[i].propagation = jdup(e, "propagation");
    s->mounts[i].readonly = json_is_true(json_object_get(e, "readonly"));
    s->mounts[i].idmap = json_is_true(json_object_get(e, "idmap"));
    s->mounts[i].fd = -1;
  }
  json_t *un = json_object_get(j, "userns");
  s->userns.uid = (uint32_t)json_integer_value(json_object_get(un, "uid"));
  s->userns.gid = (uint32_t)json_integer_value(json_object_get(un, "gid"));
  s->userns.size = (uint32_t)json_integer_value(json_object_get(un, "size"));
  for (size_t i = 0; i < ARRAY_SIZE(s->bundle_fds); i++)
    s->bundle_fds[i] = -1;
  s->rootfs_tree = -1;
  if (!s->rootfs || !s->args || !s->args[0]) {
    rt_spec_free(s);
    return berth_err_set(err, BERTH_EINVAL, 0, "rootfs and args are required");
  }
  /* read now, outside the container: installed after its root is gone */
  if (s->seccomp_bpf_path &&
      !(s->seccomp_bpf = read_file(s->seccomp_bpf_path, &s->seccomp_bpf_len))) {
    berth_err_set(err, BERTH_EINTERNAL, errno, "seccomp filter %s: %s", s->seccomp_bpf_path,
                  strerror(errno));
    rt_spec_free(s);
    return -err->code;
  }
  return 0;
}

json_t *rt_spec_to_json(const struct rt_spec *s) {
  json_t *groups = json_array();
  for (size_t i = 0; i < s->n_groups; i++)
    json_array_append_new(groups, json_integer(s->groups[i]));
  json_t *mounts = json_array();
  for (size_t i = 0; i < s->n_mounts; i++) {
    const struct rt_mount *m = &s->mounts[i];
    json_t *e = json_pack("{s:s,s:s,s:b}", "source", m->source, "target", m->target, "readonly",
                          m->readonly);
    if (m->type) json_object_set_new(e, "type", json_string(m->type));
    if (m->options) json_object_set_new(e, "options", json_string(m->options));
    if (m->idmap) json_object_set_new(e, "idmap", json_true());
    if (m->propagation) json_object_set_new(e, "propagation", json_string(m->propagation));
    json_array_append_new(mounts, e);
  }
  json_t *j = json_pack(
      "{s:s,s:s,s:s,s:o,s:o,s:s,s:I,s:I,s:o,s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:I,s:o}", "id",
      s->id ? s->id : "", "rootfs", s->rootfs, "bundle", s->bundle ? s->bundle : "", "args",
      strv_to_json(s->args), "env", strv_to_json(s->env), "cwd", s->cwd ? s->cwd : "/", "uid",
      (json_int_t)s->uid, "gid", (json_int_t)s->gid, "groups", groups, "hostname",
      s->hostname ? s->hostname : "", "tty", s->tty, "open_stdin", s->open_stdin, "host_network",
      s->host_network, "privileged", s->privileged, "readonly_rootfs", s->readonly_rootfs,
      "no_new_privs", s->no_new_privs, "seccomp", s->seccomp, "caps", (json_int_t)s->caps, "mounts",
      mounts);
  if (s->host_ipc) json_object_set_new(j, "host_ipc", json_true());
  if (s->host_uts) json_object_set_new(j, "host_uts", json_true());
  if (s->host_pid) json_object_set_new(j, "host_pid", json_true());
  /* the profile only for a runtime that must compile it itself */
  if (s->seccomp_bpf_path)
    json_object_set_new(j, "seccomp_bpf_path", json_string(s->seccomp_bpf_path));
  else if (s->seccomp_profile)
    json_object_set_new(j, "seccomp_profile", json_string(s->seccomp_profile));
  if (s->limits) json_object_set(j, "limits", s->limits);
  if (s->cgroup_hiers) json_object_set(j, "cgroup_hiers", s->cgroup_hiers);
  if (s->domainname && *s->domainname)
    json_object_set_new(j, "domainname", json_string(s->domainname));
  if (s->netns_path) json_object_set_new(j, "netns_path", json_string(s->netns_path));
  if (s->pidns_path) json_object_set_new(j, "pidns_path", json_string(s->pidns_path));
  if (s->ipcns_path) json_object_set_new(j, "ipcns_path", json_string(s->ipcns_path));
  if (s->shm != RT_SHM_OWN)
    json_object_set_new(j, "shm", json_string(s->shm == RT_SHM_BOUND ? "bound" : "none"));
  if (s->userns.size)
    json_object_set_new(j, "userns",
                        json_pack("{s:I,s:I,s:I}", "uid", (json_int_t)s->userns.uid, "gid",
                                  (json_int_t)s->userns.gid, "size", (json_int_t)s->userns.size));
  return j;
}

void rt_spec_free(struct rt_spec *s) {
  free(s->id);
  free(s->rootfs);
  free(s->bundle);
  strv_free(s->args);
  strv_free(s->env);
  free(s->cwd);
  free(s->seccomp_profile);
  free(s->seccomp_bpf_path);
  free(s->seccomp_bpf);
  json_decref(s->limits);
  json_decref(s->cgroup_hiers);
  free(s->groups);
  free(s->hostname);
  free(s->domainname);
  free(s->netns_path);
  free(s->pidns_path);
  free(s->ipcns_path);
  for (size_t i = 0; i < s->n_mounts; i++) {
    free(s->mounts[i].source);
    free(s->mounts[i].target);
    free(s->mounts[i].type);
    free(s->mounts[i].options);
    free((char *)s->mounts[i].propagation);
  }
  free(s->mounts);
  memset(s, 0, sizeof *s);
}

/* the init makes its network namespace (and brings its lo up): not the
 * host's, not one to join, not one made ahead with lo up already */
static bool makes_netns(const struct rt_spec *s) {
  return !s->host_network && !s->netns_path && !s->netns_ahead;
}

void rt_shm_options(json_t *limits, char *out, size_t len) {
  json_int_t shm = json_integer_value(json_object_get(limits, "shm_size"));
  snprintf(out, len, "mode=1777,size=%lldk", shm > 0 ? (long long)(shm + 1023) / 1024 : 65536LL);
}

int rt_clone_flags(const struct rt_spec *s) {
  /* no CLONE_NEWCGROUP: the child unshares it once it is in its cgroup */
  int f = CLONE_NEWNS;
  if (!s->host_pid && !s->pidns_path) f |= CLONE_NEWPID;
  if (!s->host_uts) f |= CLONE_NEWUTS;
  if (!s->host_ipc && !s->ipcns_path) f |= CLONE_NEWIPC;
  if (makes_netns(s)) f |= CLONE_NEWNET;
  if (s->userns.size) f |= CLONE_NEWUSER; /* first: the others are then its */
  return f;
}

/* ---------------- fd passing ---------------- */

int send_fd(int sock, int fd) {
  char c = 'F';
  struct iovec iov = {&c, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  return sendmsg(sock, &msg, 0) < 0 ? -1 : 0;
}

int recv_fd(int sock) {
  char c;
  struct iovec iov = {&c, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0) return -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (!cm || cm->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

/* ---------------- container init ---------------- */

void rt_report(int err_fd, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof msg - 1) n = sizeof msg - 1;
  if (n > 0 && write(err_fd, msg, (size_t)n) < 0) {
  }
}

#define die(err_fd, code, ...) (rt_report(err_fd, __VA_ARGS__), _exit(code))

/* Mount onto target, resolved (and created as a directory) inside the
 * root; never onto a host path an image symlink points at. */
static int mount_in(int rootfd, const char *src, const char *target, const char *type,
                    unsigned long flags, const char *data, int err_fd) {
  struct berth_err e = {0};
  cleanup_close int fd = rt_target_in_root(rootfd, target, true, &e);
  if (fd < 0) die(err_fd, 125, "%s", e.msg);
  return rt_mount_on_fd(src, fd, type, flags, data);
}

/* one cgroup hierarchy the host mounts under /sys/fs/cgroup */
struct cg_hier {
  char name[64];  /* "memory", "cpu,cpuacct", "unified"; "" for /sys/fs/cgroup itself */
  char type[8];   /* cgroup, cgroup2 */
  char opts[128]; /* the super options, without rw/ro */
};

static size_t host_cgroups(struct cg_hier *h, size_t max) {
  cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
  char line[1024];
  size_t n = 0;
  while (f && n < max && fgets(line, sizeof line, f)) {
    char mp[512], type[32], src[64], sopts[256];
    const char *dash = strstr(line, " - ");
    if (!dash || sscanf(line, "%*s %*s %*s %*s %511s", mp) != 1 ||
        sscanf(dash + 3, "%31s %63s %255s", type, src, sopts) != 3)
      continue;
    if (strcmp(type, "cgroup") && strcmp(type, "cgroup2")) continue;
    const char *rel = !strcmp(mp, "/sys/fs/cgroup")           ? ""
                      : str_has_prefix(mp, "/sys/fs/cgroup/") ? mp + 15
                                                              : NULL;
    if (!rel || strchr(rel, '/') || strlen(rel) >= sizeof h->name) continue;
    struct cg_hier *c = &h[n++];
    snprintf(c->name, sizeof c->name, "%s", rel);
    snprintf(c->type, sizeof c->type, "%s", type);
    c->opts[0] = 0;
    char *save = NULL;
    for (char *o = strtok_r(sopts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
      if (!strcmp(o, "rw") || !strcmp(o, "ro")) continue;
      size_t l = strlen(c->opts);
      snprintf(c->opts + l, sizeof c->opts - l, "%s%s", l ? "," : "", o);
    }
  }
  return n;
}

static pthread_once_t hiers_once = PTHREAD_ONCE_INIT;
static json_t *hiers;

static void read_hiers(void) {
  struct cg_hier h[32];
  size_t n = host_cgroups(h, ARRAY_SIZE(h));
  hiers = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(hiers, json_pack("[s,s,s]", h[i].name, h[i].type, h[i].opts));
}

json_t *rt_cgroup_hiers(void) {
  pthread_once(&hiers_once, read_hiers);
  return json_deep_copy(hiers);
}

/* the spec's list when berthd gave one, else mountinfo's */
static size_t spec_cgroups(const struct rt_spec *s, struct cg_hier *h, size_t max) {
  if (!json_is_array(s->cgroup_hiers)) return host_cgroups(h, max);
  size_t n = 0, i;
  json_t *e;
  json_array_foreach(s->cgroup_hiers, i, e) {
    if (n == max) break;
    snprintf(h[n].name, sizeof h[n].name, "%s", json_string_value(json_array_get(e, 0)) ?: "");
    snprintf(h[n].type, sizeof h[n].type, "%s", json_string_value(json_array_get(e, 1)) ?: "");
    snprintf(h[n].opts, sizeof h[n].opts, "%s", json_string_value(json_array_get(e, 2)) ?: "");
    n++;
  }
  return n;
}

/* /sys/fs/cgroup: the container's own cgroups, read-only (unless
 * privileged), as docker shows them.  Its cgroup namespace is rooted at
 * its cgroup (berth-shim unshares it once the container has joined), so
 * each hierarchy mounted here shows that subtree only: cgroup2 on a
 * unified host; on v1 and hybrid ones a tmpfs holding every v1 hierarchy
 * the host has (and the host's symlinks, cpu -> cpu,cpuacct), each the
 * container's own cgroup there (cgroup.c makes one in every hierarchy);
 * a hybrid layout's cgroup2 is left out, as runc leaves it. */
/* the process's own cgroup in each hierarchy, read before it unshares its
 * cgroup namespace (afterwards /proc/self/cgroup says "/"): "memory" ->
 * "/berth/<id>", "systemd" (name=systemd), "" (the unified one) */
static struct cg_self own_cg[32];
static size_t n_own_cg;

void rt_cgroup_remember(void) {
  n_own_cg = cgroup_self(own_cg, ARRAY_SIZE(own_cg));
}

void rt_enter_cgroup(int fd, int err_fd) {
  /* its cgroup namespace is rooted at its own cgroup: made once it is in it */
  char b;
  if (read(fd, &b, 1) != 1) _exit(125);
  close(fd);
  rt_cgroup_remember();
  if (unshare(CLONE_NEWCGROUP) < 0) {
    rt_report(err_fd, "unshare the cgroup namespace: %s", strerror(errno));
    _exit(125);
  }
}

/* the hierarchy's directory of this process, bound (a bind costs a tenth
 * of a new cgroup mount: ~0.02 ms against ~0.25 ms a hierarchy here) */
static int bind_own_cgroup(int dirfd, const struct cg_hier *h, unsigned long flags) {
  const char *want = strcmp(h->type, "cgroup2") ? h->name : "";
  for (size_t i = 0; i < n_own_cg; i++) {
    if (strcmp(own_cg[i].dir, want)) continue;
    cleanup_free char *src = xasprintf("/sys/fs/cgroup/%s%s", h->name, own_cg[i].path);
    cleanup_close int t = openat(dirfd, h->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (t < 0 || rt_mount_on_fd(src, t, NULL, MS_BIND, NULL) < 0) return -1;
    /* the mount just made, not the directory under it: read-only */
    cleanup_close int m = openat(dirfd, h->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    /* not read-only: the caller stops the start */
    return m < 0 || rt_mount_on_fd(NULL, m, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0 ? -2 : 0;
  }
  return -1;
}

static void mount_cgroups(const struct rt_spec *s, int rootfd, int err_fd) {
  bool privileged = s->privileged;
  unsigned long ro = privileged ? 0 : MS_RDONLY, fl = MS_NOSUID | MS_NOEXEC | MS_NODEV;
  cleanup_close int cg = rt_openat_in_root(rootfd, "/sys/fs/cgroup", O_PATH | O_DIRECTORY, 0);
  if (cg < 0) return;
  struct cg_hier h[32];
  size_t n = spec_cgroups(s, h, ARRAY_SIZE(h));
  for (size_t i = 0; i < n; i++)
    if (!h[i].name[0] && !strcmp(h[i].type, "cgroup2")) {
      rt_mount_on_fd("cgroup", cg, "cgroup2", fl | ro, NULL);
      return;
    }
  if (rt_mount_on_fd("tmpfs", cg, "tmpfs", fl, "mode=755") < 0) return;
  cleanup_close int top = rt_openat_in_root(rootfd, "/sys/fs/cgroup", O_PATH | O_DIRECTORY, 0);
  cleanup_close int dirfd = top >= 0 ? openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  for (size_t i = 0; dirfd >= 0 && i < n; i++) {
    /* a hybrid host's cgroup2 ("unified"): not shown, as runc does not */
    if (!h[i].name[0] || !strcmp(h[i].type, "cgroup2") || mkdirat(dirfd, h[i].name, 0755) < 0)
      continue;
    int b = bind_own_cgroup(dirfd, &h[i], fl | ro);
    if (b == -2) die(err_fd, 125, "/sys/fs/cgroup/%s: cannot make it read-only", h[i].name);
    cleanup_close int t =
        b < 0 ? openat(dirfd, h[i].name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (t >= 0)
      rt_mount_on_fd("cgroup", t, h[i].type, fl | ro,
                     strcmp(h[i].type, "cgroup") ? NULL : h[i].opts);
  }
  cleanup_dir DIR *hd = opendir("/sys/fs/cgroup");
  for (struct dirent *de; dirfd >= 0 && hd && (de = readdir(hd));) {
    char target[128], p[512];
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s", de->d_name);
    ssize_t l = de->d_type == DT_LNK ? readlink(p, target, sizeof target - 1) : -1;
    if (l <= 0 || memchr(target, '/', (size_t)l)) continue;
    target[l] = 0;
    symlinkat(target, dirfd, de->d_name);
  }
  if (top >= 0 && ro) rt_mount_on_fd(NULL, top, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | fl, NULL);
}

/* an empty file named name in the directory dirfd, with the host's node
 * at host bound on it (what runc does in a user namespace) */
static void bind_node(int dirfd, const char *name, const char *host, int err_fd) {
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) die(err_fd, 125, "create %s: %s", name, strerror(errno));
  close(fd);
  cleanup_close int t = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (t < 0 || rt_mount_on_fd(host, t, NULL, MS_BIND, NULL) < 0)
    die(err_fd, 125, "bind %s: %s", host, strerror(errno));
}

static void setup_dev(const struct rt_spec *s, int rootfd, int err_fd) {
  if (mount_in(rootfd, "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k",
               err_fd) < 0)
    die(err_fd, 125, "mount /dev: %s", strerror(errno));
  /* the tmpfs just mounted: nothing of the image's is in it */
  cleanup_close int dev = rt_openat_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
  if (dev < 0) die(err_fd, 125, "open /dev: %s", strerror(errno));
  static const struct {
    const char *name;
    unsigned maj, min;
  } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
               {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
    if (s->userns.size) { /* mknod is refused in a user namespace: the host's node, bound */
      cleanup_free char *host = xasprintf("/dev/%s", nodes[i].name);
      bind_node(dev, nodes[i].name, host, err_fd);
      continue;
    }
    if (mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
      die(err_fd, 125, "mknod /dev/%s: %s", nodes[i].name, strerror(errno));
    fchmodat(dev, nodes[i].name, 0666, 0);
  }
  static const char *const links[][2] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},         {"/proc/kcore", "core"}};
  /* /dev/core only where the kernel has /proc/kcore, as runc's */
  size_t n_links = ARRAY_SIZE(links) - (access("/proc/kcore", F_OK) < 0);
  for (size_t i = 0; i < n_links; i++)
    if (symlinkat(links[i][0], dev, links[i][1]) < 0)
      die(err_fd, 125, "symlink /dev/%s: %s", links[i][1], strerror(errno));
  if (mount_in(rootfd, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620,gid=5", err_fd) < 0)
    die(err_fd, 125, "mount /dev/pts: %s", strerror(errno));
  char shmopt[64];
  rt_shm_options(s->limits, shmopt, sizeof shmopt);
  /* a bind among the mounts (berthd's), or none at all */
  if (s->shm == RT_SHM_BOUND)
    mkdirat(dev, "shm", 01777);
  else if (s->shm == RT_SHM_OWN && mount_in(rootfd, "shm", "/dev/shm", "tmpfs",
                                            MS_NOSUID | MS_NODEV | MS_NOEXEC, shmopt, err_fd) < 0)
    die(err_fd, 125, "mount /dev/shm: %s", strerror(errno));
  if (mount_in(rootfd, "mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
               err_fd) < 0)
    die(err_fd, 125, "mount /dev/mqueue: %s", strerror(errno));
}

/* --device: each node made where the container sees it, with the host
 * node's type, numbers, mode and owner (what docker's runc does when it is
 * not in a user namespace) */
static void make_devices(const struct rt_spec *s, int rootfd, int err_fd) {
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(s->limits, "devices"), i, d) {
    const char *path = json_string_value(json_object_get(d, "path")) ?: "";
    cleanup_free char *parent = xstrdup(path);
    char *slash = strrchr(parent, '/');
    if (*path != '/' || !slash || !slash[1]) die(err_fd, 125, "device path %s: invalid", path);
    *slash = 0;
    if (*parent && rt_mkdir_in_root(rootfd, parent, 0755) < 0)
      die(err_fd, 125, "mkdir %s: %s", parent, strerror(errno));
    cleanup_close int pfd =
        rt_openat_in_root(rootfd, *parent ? parent : "/", O_PATH | O_DIRECTORY, 0);
    if (pfd < 0) die(err_fd, 125, "open %s: %s", parent, strerror(errno));
    const char *type = json_string_value(json_object_get(d, "type")) ?: "c";
    mode_t mode = (mode_t)json_integer_value(json_object_get(d, "mode")) & 07777;
    dev_t dev = makedev((unsigned)json_integer_value(json_object_get(d, "major")),
                        (unsigned)json_integer_value(json_object_get(d, "minor")));
    unlinkat(pfd, slash + 1, 0); /* the image's own node of that name, as runc replaces it */
    if (s->userns.size) {        /* the host's node, opened by rt_userns_open_sources */
      char from[64];
      snprintf(from, sizeof from, "/proc/self/fd/%d",
               (int)json_integer_value(json_object_get(d, "host_fd")));
      bind_node(pfd, slash + 1, from, err_fd);
      continue;
    }
    if (mknodat(pfd, slash + 1, (*type == 'b' ? S_IFBLK : S_IFCHR) | mode, dev) < 0)
      die(err_fd, 125, "mknod %s: %s", path, strerror(errno));
    fchmodat(pfd, slash + 1, mode, 0);
    if (fchownat(pfd, slash + 1, (uid_t)json_integer_value(json_object_get(d, "uid")),
                 (gid_t)json_integer_value(json_object_get(d, "gid")), AT_SYMLINK_NOFOLLOW) < 0)
      die(err_fd, 125, "chown %s: %s", path, strerror(errno));
  }
}

/* A bind mount of a host path (opened here, by the runtime) onto a target
 * resolved inside the root. */
/* runc's words for a bind that cannot be made, as docker shows them */
static void die_bind(int err_fd, const char *src, const char *target, int fd, int e) {
  char why[128];
  die(err_fd, 125,
      "error during container init: error mounting \"%s\" to rootfs at \"%s\": mount %s:%s (via "
      "/proc/self/fd/%d), flags: 0x%x: %s",
      src, target, src, target, fd, MS_BIND | MS_REC, go_errstr(e, why, sizeof why));
}

/* the bind's target in the root, of the source's kind (a directory, or a
 * file made empty): a file on a directory or the other way round is
 * ENOTDIR, as runc's mount reports it */
static int bind_target(int rootfd, const char *src, const char *target, bool dir, int err_fd) {
  struct berth_err e = {0};
  int tfd = rt_target_in_root(rootfd, target, dir, &e);
  if (tfd < 0 && e.sys_errno == ENOTDIR) die_bind(err_fd, src, target, rootfd, ENOTDIR);
  if (tfd < 0) die(err_fd, 125, "%s", e.msg);
  struct stat st;
  if (fstat(tfd, &st) == 0 && !S_ISDIR(st.st_mode) != !dir)
    die_bind(err_fd, src, target, tfd, ENOTDIR);
  return tfd;
}

static void bind_in_fd(int rootfd, int src_fd, const char *src, const char *target, bool ro,
                       int err_fd) {
  cleanup_close int sfd = src_fd >= 0 ? src_fd : open(src, O_PATH | O_CLOEXEC);
  struct stat st;
  if (sfd < 0 || fstat(sfd, &st) < 0) die(err_fd, 125, "bind source %s: %s", src, strerror(errno));
  cleanup_close int tfd = bind_target(rootfd, src, target, S_ISDIR(st.st_mode), err_fd);
  char from[64];
  snprintf(from, sizeof from, "/proc/self/fd/%d", sfd);
  if (rt_mount_on_fd(from, tfd, NULL, MS_BIND | MS_REC, NULL) < 0)
    die_bind(err_fd, src, target, tfd, errno);
  if (!ro) return;
  /* the new mount is on top of what tfd names: find it again, in the root */
  cleanup_close int mfd = rt_openat_in_root(rootfd, target, O_PATH, 0);
  if (mfd < 0 ||
      rt_mount_on_fd(NULL, mfd, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
    die(err_fd, 125, "remount %s read-only: %s", target, strerror(errno));
}

static void bind_in(int rootfd, const char *src, const char *target, bool ro, int err_fd) {
  bind_in_fd(rootfd, -1, src, target, ro, err_fd);
}

/* a detached tree (id-mapped: rt_userns_map_volumes; or cloned by the
 * shim for an init cloned from the template) attached on target */
static void attach_in(int rootfd, int tree, const char *src, const char *target, bool ro,
                      int err_fd) {
  struct stat st;
  bool dir = fstat(tree, &st) < 0 || S_ISDIR(st.st_mode);
  cleanup_close int tfd = bind_target(rootfd, src, target, dir, err_fd);
  int r = idmap_attach(tree, tfd);
  close(tree);
  if (r < 0) die_bind(err_fd, src, target, tfd, -r);
  cleanup_close int mfd = ro ? rt_openat_in_root(rootfd, target, O_PATH, 0) : -1;
  if (ro && (mfd < 0 ||
             rt_mount_on_fd(NULL, mfd, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0))
    die(err_fd, 125, "remount %s read-only: %s", target, strerror(errno));
}

/* a bind's propagation: docker's rprivate unless the spec says otherwise
 * (a clone of a shared source is shared with it until told) */
static void set_propagation(int rootfd, const struct rt_mount *m, int err_fd) {
  unsigned long fl = rt_propagation_flags(m->propagation);
  cleanup_close int mfd = rt_openat_in_root(rootfd, m->target, O_PATH, 0);
  if (mfd < 0 || rt_mount_on_fd(NULL, mfd, NULL, fl ? fl : MS_PRIVATE | MS_REC, NULL) < 0)
    die(err_fd, 125, "make %s %s: %s", m->target, m->propagation ? m->propagation : "rprivate",
        strerror(errno));
}

static const char *const bundle_files[] = {"hosts", "hostname", "resolv.conf"};

int rt_userns_map_volumes(struct rt_spec *s, struct berth_err *err) {
  int ns = -1;
  for (size_t i = 0; i < s->n_mounts; i++) {
    struct rt_mount *m = &s->mounts[i];
    if (!m->idmap || m->type) continue;
    if (ns < 0 && (ns = idmap_userns(&s->userns)) < 0)
      return berth_err_set(err, BERTH_EINTERNAL, -ns, "a user namespace: %s", strerror(-ns));
    m->fd = idmap_tree(m->source, ns, true);
    if (m->fd < 0) {
      int e = -m->fd;
      close(ns);
      return berth_err_set(err, BERTH_EINTERNAL, e, "id-mapped mount of %s: %s", m->source,
                           strerror(e));
    }
  }
  if (ns >= 0) close(ns);
  return 0;
}

void rt_userns_open_sources(struct rt_spec *s, int err_fd) {
  for (size_t i = 0; s->bundle && *s->bundle && i < ARRAY_SIZE(bundle_files); i++) {
    cleanup_free char *src = xasprintf("%s/%s", s->bundle, bundle_files[i]);
    s->bundle_fds[i] = open(src, O_PATH | O_CLOEXEC);
  }
  for (size_t i = 0; i < s->n_mounts; i++) {
    struct rt_mount *m = &s->mounts[i];
    if (m->type || m->fd >= 0) continue;
    m->fd = open(m->source, O_PATH | O_CLOEXEC);
    if (m->fd < 0) die(err_fd, 125, "bind source %s: %s", m->source, strerror(errno));
  }
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(s->limits, "devices"), i, d) {
    const char *host = json_string_value(json_object_get(d, "host")) ?: "";
    int fd = open(host, O_PATH | O_CLOEXEC);
    if (fd < 0) die(err_fd, 125, "device %s: %s", host, strerror(errno));
    json_object_set_new(d, "host_fd", json_integer(fd)); /* this process's copy of the spec */
  }
}

/* From here on the init is the namespace's root (the mapping's host uid):
 * what it creates in the rootfs and in /dev is the container root's. */
static void become_ns_root(int err_fd) {
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
    die(err_fd, 125, "become root in the user namespace: %s", strerror(errno));
}

/* /sys: a sysfs of its own where the network namespace is the
 * container's; in a user namespace whose network namespace is not its own
 * (a bridge's sandbox, container:<id>) sysfs cannot be mounted, and the
 * host's is bound instead, as runc does */
static void mount_sys(const struct rt_spec *s, int rootfd, int err_fd) {
  unsigned long ro = s->privileged ? 0 : MS_RDONLY;
  if (mount_in(rootfd, "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | ro, NULL,
               err_fd) == 0)
    return;
  if (errno == EPERM && s->userns.size) {
    bind_in(rootfd, "/sys", "/sys", ro != 0, err_fd);
    return;
  }
  die(err_fd, 125, "mount /sys: %s", strerror(errno));
}

static void mask_paths(int err_fd) {
  const char *const *masked = rt_masked_paths, *const *readonly = rt_readonly_paths;
  for (size_t i = 0; masked[i]; i++) {
    struct stat st;
    if (stat(masked[i], &st) < 0) continue;
    if (S_ISDIR(st.st_mode))
      mount("tmpfs", masked[i], "tmpfs", MS_RDONLY, NULL);
    else
      mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
  }
  /* a remount states every flag anew: /proc's nosuid, nodev and noexec
   * are kept (runc's way; dropped, the paths lost them) */
  for (size_t i = 0; readonly[i]; i++) {
    struct statvfs sv;
    if (!path_exists(readonly[i])) continue;
    if (mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL) < 0 ||
        statvfs(readonly[i], &sv) < 0 ||
        mount(NULL, readonly[i], NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) |
                  (sv.f_flag & ST_NODEV ? MS_NODEV : 0) | (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0),
              NULL) < 0)
      die(err_fd, 125, "read-only %s: %s", readonly[i], strerror(errno));
  }
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq ifr = {0};
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
}

int rt_netns_ahead(int own, bool *stranded, struct berth_err *err) {
  *stranded = false;
  if (unshare(CLONE_NEWNET) < 0) return err_sys(err, BERTH_EINTERNAL, "unshare(CLONE_NEWNET)");
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int e = errno;
  if (fd >= 0) loopback_up();
  if (setns(own, CLONE_NEWNET) < 0) {
    e = errno;
    if (fd >= 0) close(fd);
    *stranded = true;
    return berth_err_set(err, BERTH_EINTERNAL, e, "back to the thread's own network: %s",
                         strerror(e));
  }
  if (fd < 0) return berth_err_set(err, BERTH_EINTERNAL, e, "open the new network namespace");
  return fd;
}

static void setup_tty(const struct rt_spec *s, int pty_sock, int err_fd) {
  int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die(err_fd, 125, "open /dev/pts/ptmx: %s", strerror(errno));
  int unlock = 0, n;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
    die(err_fd, 125, "pty: %s", strerror(errno));
  char name[64];
  snprintf(name, sizeof name, "/dev/pts/%d", n);
  int slave = open(name, O_RDWR | O_NOCTTY);
  if (slave < 0) die(err_fd, 125, "open %s: %s", name, strerror(errno));
  if (send_fd(pty_sock, master) < 0) die(err_fd, 125, "send pty master: %s", strerror(errno));
  close(master);
  close(pty_sock);
  setsid();
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die(err_fd, 125, "TIOCSCTTY: %s", strerror(errno));
  for (int fd = 0; fd < 3; fd++)
    dup2(slave, fd);
  if (slave > 2) close(slave);
  /* /dev/console is the container's terminal, as with docker */
  if (mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0) {
    int fd = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    mount(name, "/dev/console", NULL, MS_BIND, NULL);
  }
}

static void set_identity(const struct rt_spec *s, int err_fd) {
  uint64_t caps = s->privileged ? rt_all_caps() : s->caps;
  if (rt_caps_bound(caps) < 0) die(err_fd, 125, "capability bounding set: %s", strerror(errno));
  if (setgroups(s->n_groups, s->groups) < 0) die(err_fd, 125, "setgroups: %s", strerror(errno));
  if (setgid(s->gid) < 0) die(err_fd, 125, "setgid %u: %s", s->gid, strerror(errno));
  if (setuid(s->uid) < 0) die(err_fd, 125, "setuid %u: %s", s->uid, strerror(errno));
  /* root keeps the configured set; other users get none, as with docker */
  if (s->uid == 0 && rt_caps_set(caps) < 0) die(err_fd, 125, "capset: %s", strerror(errno));
}

static const char *env_get(char **env, const char *key) {
  size_t n = strlen(key);
  for (; env && *env; env++)
    if (!strncmp(*env, key, n) && (*env)[n] == '=') return *env + n + 1;
  return NULL;
}

/* The file execve will run: args[0], or found on the container's PATH as
 * execvpe finds it; refused here, with runc's words (the docker CLI maps
 * them to 126/127), when it is missing, a directory or not executable. */
static char *find_program(const struct rt_spec *s, int err_fd) {
  const char *file = s->args[0];
  struct stat st;
  if (strchr(file, '/')) {
    if (stat(file, &st) < 0) {
      int e = errno;
      if (e == ENOENT || e == ENOTDIR)
        die(err_fd, 127, "exec: \"%s\": stat %s: no such file or directory", file, file);
      die(err_fd, 126, "exec: \"%s\": %s", file, strerror(e));
    }
    if (S_ISDIR(st.st_mode) || access(file, X_OK) < 0)
      die(err_fd, 126, "exec: \"%s\": permission denied", file);
    return xstrdup(file);
  }
  const char *path = env_get(s->env, "PATH");
  if (!path) path = RT_DEFAULT_PATH;
  cleanup_free char *copy = xstrdup(path);
  char *save = NULL;
  bool found_noexec = false;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    char *cand = xasprintf("%s/%s", *dir ? dir : ".", file);
    if (stat(cand, &st) == 0 && !S_ISDIR(st.st_mode)) {
      if (access(cand, X_OK) == 0) return cand;
      found_noexec = true;
    }
    free(cand);
  }
  if (found_noexec) die(err_fd, 126, "exec: \"%s\": permission denied", file);
  die(err_fd, 127, "exec: \"%s\": executable file not found in $PATH", file);
}

static void apply_sysctls(const struct rt_spec *s, int err_fd);
static char *prepare_process(const struct rt_spec *s, int err_fd);
static int exec_prepared(const struct rt_spec *s, const char *file, int err_fd);

void rt_container_init(const struct rt_spec *s, const struct rt_child_io *io) {
  int err_fd = io->err_fd;
  const char *root = s->rootfs;
  /* BERTH_TRACE: the init's phases, in shim.log (its stderr until the
   * container's stdio takes the place; bench/phases.sh reads them) */
  int64_t t = trace_phase("init", "", 0);
  if (!s->host_uts && s->hostname && *s->hostname) sethostname(s->hostname, strlen(s->hostname));
  if (!s->host_uts && s->domainname) setdomainname(s->domainname, strlen(s->domainname));
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    die(err_fd, 125, "make / rslave: %s", strerror(errno));
  if (s->rootfs_tree >= 0) { /* cloned from the template: the shim's clone of it */
    cleanup_close int on = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int r = on < 0 ? -errno : idmap_attach(s->rootfs_tree, on);
    if (r < 0) die(err_fd, 125, "attach rootfs %s: %s", root, strerror(-r));
    close(s->rootfs_tree);
  } else if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0) {
    die(err_fd, 125, "bind rootfs %s: %s", root, strerror(errno));
  }
  /* the template's clone of a rootfs berthd mounted under a shared mount
   * (a systemd host's "/") is shared with it: pivot_root refuses a shared
   * new root (EINVAL), and a privileged container's mounts would reach
   * berthd's namespace through it.  Private, as the binds below are. */
  if (mount(NULL, root, NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    die(err_fd, 125, "make rootfs %s private: %s", root, strerror(errno));
  /* opened after the bind: every mount below lands on the bind's tree */
  cleanup_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die(err_fd, 125, "open rootfs %s: %s", root, strerror(errno));
  if (s->userns.size) become_ns_root(err_fd);
  if (mount_in(rootfd, "proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL, err_fd) < 0)
    die(err_fd, 125, "mount /proc: %s", strerror(errno));
  t = trace_phase("init", "rslave, rootfs, /proc", t);
  mount_sys(s, rootfd, err_fd);
  setup_dev(s, rootfd, err_fd); /* while the shim places it in its cgroup */
  t = trace_phase("init", "/sys, /dev", t);
  if (io->cgroup_fd >= 0) rt_enter_cgroup(io->cgroup_fd, err_fd);
  t = trace_phase("init", "waits for its cgroup", t);
  mount_cgroups(s, rootfd, err_fd);
  t = trace_phase("init", "/sys/fs/cgroup", t);
  for (size_t i = 0; s->bundle && *s->bundle && i < ARRAY_SIZE(bundle_files); i++) {
    cleanup_free char *src = xasprintf("%s/%s", s->bundle, bundle_files[i]);
    cleanup_free char *dst = xasprintf("/etc/%s", bundle_files[i]);
    if (s->userns.size ? s->bundle_fds[i] >= 0 : path_exists(src))
      /* read-only with the root, as docker's (a -v at the path shadows it) */
      bind_in_fd(rootfd, s->userns.size ? s->bundle_fds[i] : -1, src, dst, s->readonly_rootfs,
                 err_fd);
  }
  for (size_t i = 0; i < s->n_mounts; i++) {
    const struct rt_mount *m = &s->mounts[i];
    if (!m->type && (m->idmap || m->tree) && m->fd >= 0) {
      attach_in(rootfd, m->fd, m->source, m->target, m->readonly, err_fd);
      set_propagation(rootfd, m, err_fd);
    } else if (!m->type) {
      bind_in_fd(rootfd, m->fd, m->source, m->target, m->readonly, err_fd);
      set_propagation(rootfd, m, err_fd);
    } else {
      char data[1024];
      /* docker's --tmpfs/--mount tmpfs: noexec, nosuid and nodev unless
       * the list says exec, suid or dev */
      unsigned long fl = mount_options(
          m->options, MS_NOEXEC | MS_NOSUID | MS_NODEV | (m->readonly ? MS_RDONLY : 0), data,
          sizeof data);
      if (mount_in(rootfd, m->source, m->target, m->type, fl, data, err_fd) < 0)
        die(err_fd, 125, "mount %s on %s: %s", m->type, m->target, strerror(errno));
    }
  }
  make_devices(s, rootfd, err_fd);
  /* docker makes a missing working directory */
  if (s->cwd && *s->cwd == '/' && strcmp(s->cwd, "/")) {
    int wd = rt_mkdir_in_root(rootfd, s->cwd, 0755);
    if (wd >= 0) close(wd);
  }
  t = trace_phase("init", "/etc files, volumes, devices", t);
  if (makes_netns(s)) loopback_up();
  t = trace_phase("init", "lo up", t);
  if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
      chdir("/") < 0)
    die(err_fd, 125, "pivot_root %s: %s", root, strerror(errno));
  t = trace_phase("init", "pivot_root, old root detached", t);
  apply_sysctls(s, err_fd); /* while /proc/sys is still writable */
  if (!s->privileged) mask_paths(err_fd);
  if (s->readonly_rootfs && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
    die(err_fd, 125, "read-only rootfs: %s", strerror(errno));
  trace_phase("init", "sysctls, masked paths", t);
  if (s->tty) {
    setup_tty(s, io->pty_sock, err_fd);
  } else {
    for (int fd = 0; fd < 3; fd++)
      if (io->stdio[fd] != fd && dup2(io->stdio[fd], fd) < 0)
        die(err_fd, 125, "dup2: %s", strerror(errno));
    for (int fd = 0; fd < 3; fd++)
      if (io->stdio[fd] > 2) close(io->stdio[fd]);
    setsid();
  }
  /* all that can fail, then a NUL on the error pipe (ready: the shim can
   * answer START) and the hold for START, as runc's exec fifo: attach
   * clients are connected when it comes */
  char *file = prepare_process(s, err_fd);
  char go = 0;
  if (write(err_fd, &go, 1) != 1 || read(io->start_fd, &go, 1) != 1) _exit(125);
  close(io->start_fd);
  /* START was answered: what fails now is the container's, as with runc
   * (exit 1, the message on its stderr) */
  int e = exec_prepared(s, file, STDERR_FILENO);
  die(STDERR_FILENO, 1, "exec user process caused: %s\n", strerror(e));
}

/* --sysctl: written by the init, in its own namespaces (/proc/sys/net and
 * the IPC keys show the reader's namespace); keys were checked by berthd */
static bool shim_writes(const struct rt_spec *s, const char *key) {
  return s->userns.size && s->netns_path && str_has_prefix(key, "net.");
}

/* the spec's sysctls one side writes: the shim the net.* ones of a network
 * namespace it joined for the init (shim), the init the rest */
static int write_sysctls(const struct rt_spec *s, bool shim, struct berth_err *err) {
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(s->limits, "sysctls"), k, v) {
    if (shim_writes(s, k) != shim) continue;
    cleanup_free char *path = xasprintf("/proc/sys/%s", k);
    for (char *p = path + 10; *p; p++)
      if (*p == '.') *p = '/';
    const char *val = json_string_value(v) ?: "";
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    bool ok = fd >= 0 && write(fd, val, strlen(val)) >= 0;
    int e = errno;
    if (fd >= 0) close(fd);
    if (!ok) return berth_err_set(err, BERTH_EINTERNAL, e, "sysctl %s=%s: %s", k, val, strerror(e));
  }
  return 0;
}

static void apply_sysctls(const struct rt_spec *s, int err_fd) {
  struct berth_err e = {0};
  if (write_sysctls(s, false, &e) < 0) die(err_fd, 125, "%s", e.msg);
}

int rt_apply_net_sysctls(const struct rt_spec *s, struct berth_err *err) {
  return write_sysctls(s, true, err);
}

/* --ulimit and --oom-score-adj, for the container's process and its execs */
static void apply_limits(const struct rt_spec *s, int err_fd) {
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(s->limits, "rlimits"), i, r) {
    struct rlimit rl = {(rlim_t)json_integer_value(json_array_get(r, 1)),
                        (rlim_t)json_integer_value(json_array_get(r, 2))};
    int type = (int)json_integer_value(json_array_get(r, 0));
    if (setrlimit(type, &rl) < 0) { /* runc's words, Go's lower-case errno text */
      char e[128];
      snprintf(e, sizeof e, "%s", strerror(errno));
      e[0] = (char)tolower((unsigned char)e[0]);
      die(err_fd, 125,
          "error during container init: error setting rlimits for ready process: error setting "
          "rlimit type %d: %s",
          type, e);
    }
  }
  json_t *adj = json_object_get(s->limits, "oom_score_adj");
  if (adj) {
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(adj));
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, (size_t)n) < 0)
      die(err_fd, 125, "oom_score_adj: %s", strerror(errno));
    close(fd);
  }
}

/* berthd's compiled filter when the spec has one, else the profile built here */
static void install_filter(const struct rt_spec *s, int err_fd) {
  struct berth_err e = {0};
  int r;
  if (s->seccomp_bpf) {
    r = rt_seccomp_install(s->seccomp_bpf, s->seccomp_bpf_len, &e);
  } else {
    r = rt_seccomp_load(s->seccomp_profile, s->caps, &e);
  }
  if (r < 0) die(err_fd, 125, "%s", e.msg);
}

/* the process starts as docker's do: no signal blocked, none ignored (an
 * ignored one stays ignored across execve: the shim ignores SIGPIPE, and
 * it blocks SIGCHLD for its signalfd) */
static void default_signals(void) {
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

/* What can fail before the process runs, in runc's order, which does all
 * of it before its exec fifo: signals, limits, the filter (without
 * no_new_privs: loading it needs CAP_SYS_ADMIN, so before the identity
 * drops it, and it then applies to the identity calls too), the identity,
 * the working directory, the program.  Returns the file to exec.
 * no_new_privs only when asked for, as docker: setuid programs in images
 * (su, ping, passwd) work by default. */
static bool filtered(const struct rt_spec *s) {
  return s->seccomp && !s->privileged;
}

static char *prepare_process(const struct rt_spec *s, int err_fd) {
  default_signals();
  apply_limits(s, err_fd);
  if (filtered(s) && !s->no_new_privs) install_filter(s, err_fd);
  set_identity(s, err_fd);
  if (s->cwd && *s->cwd && chdir(s->cwd) < 0) {
    char why[128]; /* runc's words end with Go's errno text: lower case */
    die(err_fd, 126, "chdir to cwd (\"%s\") set in config.json failed: %s", s->cwd,
        go_errstr(errno, why, sizeof why));
  }
  return find_program(s, err_fd);
}

/* no_new_privs and its filter as late as they can be (runc), then the
 * exec of what prepare_process found.  Returns execve's errno. */
static int exec_prepared(const struct rt_spec *s, const char *file, int err_fd) {
  if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    die(err_fd, 125, "no_new_privs: %s", strerror(errno));
  if (filtered(s) && s->no_new_privs) install_filter(s, err_fd);
  execve(file, s->args, s->env);
  return errno;
}

void rt_exec_process(const struct rt_spec *s, int err_fd) {
  char *file = prepare_process(s, err_fd);
  int e = exec_prepared(s, file, err_fd);
  die(err_fd, e == ENOENT ? 127 : 126, "exec: \"%s\": %s", s->args[0], strerror(e));
}

/* all of pid's namespaces in one setns through a pidfd (Linux 5.8):
 * atomic, and 2 system calls where one per namespace took 21.  1: this
 * kernel cannot (the caller joins them one by one) */
static int join_pidfd(pid_t pid, struct berth_err *err) {
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd < 0) return errno == ESRCH ? err_sys(err, BERTH_ECONFLICT, "pidfd_open %d", (int)pid) : 1;
  int flags =
      CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS;
  /* its own user namespace cannot be joined (EINVAL): only another one */
  char p[64];
  struct stat mine, theirs;
  snprintf(p, sizeof p, "/proc/%d/ns/user", (int)pid);
  if (stat("/proc/self/ns/user", &mine) == 0 && stat(p, &theirs) == 0 &&
      mine.st_ino != theirs.st_ino)
    flags |= CLONE_NEWUSER;
  int r = setns(pfd, flags);
  int e = errno;
  close(pfd);
  if (r == 0) return 0;
  return e == EINVAL
             ? 1
             : err_sys_(err, BERTH_EINTERNAL, e, "setns into the namespaces of %d", (int)pid);
}

/* the same one namespace at a time (before Linux 5.8) */
static int join_each(pid_t pid, struct berth_err *err) {
  static const struct {
    const char *name;
    int flag;
  } ns[] = {/* the user namespace first: the others are then its own (or no-ops) */
            {"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC},
            {"uts", CLONE_NEWUTS},   {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID},
            {"mnt", CLONE_NEWNS}};
  int fds[ARRAY_SIZE(ns)];
  for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/ns/%s", (int)pid, ns[i].name);
    fds[i] = open(p, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) {
      int e = errno;
      for (size_t k = 0; k < i; k++)
        close(fds[k]);
      return err_sys_(err, BERTH_ECONFLICT, e, "open %s", p);
    }
  }
  for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
    /* a shared namespace (host network) is the same one: setns is a no-op */
    if (setns(fds[i], ns[i].flag) < 0 && errno != EINVAL) {
      int e = errno;
      for (size_t k = i; k < ARRAY_SIZE(ns); k++)
        close(fds[k]);
      return err_sys_(err, BERTH_EINTERNAL, e, "setns %s", ns[i].name);
    }
    close(fds[i]);
  }
  return 0;
}

int rt_join(pid_t pid, struct berth_err *err) {
  int r = join_pidfd(pid, err);
  if (r == 1) r = join_each(pid, err);
  if (r < 0) return r;
  if (chdir("/") < 0) return err_sys(err, BERTH_EINTERNAL, "chdir /");
  return 0;
}
