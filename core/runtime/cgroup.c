#include "cgroup.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#define CG_ROOT "/sys/fs/cgroup"
#define CG_PARENT "berth"

static int write_str(const char *path, const char *val) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = write(fd, val, strlen(val));
  int e = errno;
  close(fd);
  return n < 0 ? -e : 0;
}

static int write_i64(const char *path, int64_t v) {
  char b[32];
  snprintf(b, sizeof b, "%lld", (long long)v);
  return write_str(path, b);
}

static int64_t read_i64(const char *path) {
  cleanup_free char *s = read_file(path, NULL);
  return s ? strtoll(s, NULL, 10) : -1;
}

/* a counter for stats: 0 where the file is not (a controller the host
 * lacks); the clients read them as unsigned */
static json_int_t counter(const char *path) {
  int64_t v = read_i64(path);
  return v < 0 ? 0 : (json_int_t)v;
}

/* docker's PidsStats: its limit left out when there is none (omitempty) */
static json_t *pids_stats(const char *current, int64_t limit) {
  json_t *j = json_pack("{s:I}", "current", counter(current));
  if (limit > 0) json_object_set_new(j, "limit", json_integer(limit));
  return j;
}

static int64_t stat_field(const char *path, const char *key) {
  cleanup_free char *s = read_file(path, NULL);
  size_t kl = strlen(key);
  for (char *line = s; line && *line;) {
    char *nl = strchr(line, '\n');
    if (!strncmp(line, key, kl) && line[kl] == ' ') return strtoll(line + kl + 1, NULL, 10);
    line = nl ? nl + 1 : NULL;
  }
  return -1;
}

static json_t *stat_object(const char *path) {
  json_t *o = json_object();
  cleanup_free char *s = read_file(path, NULL);
  char *save = NULL;
  for (char *line = s ? strtok_r(s, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
    char *sp = strchr(line, ' ');
    if (!sp) continue;
    *sp = 0;
    json_object_set_new(o, line, json_integer(strtoll(sp + 1, NULL, 10)));
  }
  return o;
}

json_t *cgroup_limits_json(const struct cg_limits *l) {
  json_t *j =
      json_pack("{s:I,s:I,s:I,s:I,s:s,s:I,s:I,s:I,s:b,s:s,s:I,s:O}", "memory",
                (json_int_t)l->memory, "memory_swap", (json_int_t)l->memory_swap, "nano_cpus",
                (json_int_t)l->nano_cpus, "cpu_shares", (json_int_t)l->cpu_shares, "cpuset_cpus",
                l->cpuset_cpus ?: "", "pids_limit", (json_int_t)l->pids_limit, "memory_reservation",
                (json_int_t)l->memory_reservation, "memory_swappiness",
                (json_int_t)l->memory_swappiness, "oom_kill_disable", l->oom_kill_disable,
                "cpuset_mems", l->cpuset_mems ?: "", "blkio_weight", (json_int_t)l->blkio_weight,
                "blkio_devices", l->blkio_devices ? l->blkio_devices : json_null());
  return j;
}

struct cg_limits cgroup_limits_parse(json_t *cg) {
  struct cg_limits l = {0};
  l.memory = json_integer_value(json_object_get(cg, "memory"));
  l.memory_swap = json_integer_value(json_object_get(cg, "memory_swap"));
  l.nano_cpus = json_integer_value(json_object_get(cg, "nano_cpus"));
  l.cpu_shares = json_integer_value(json_object_get(cg, "cpu_shares"));
  l.cpuset_cpus = json_string_value(json_object_get(cg, "cpuset_cpus"));
  l.pids_limit = json_integer_value(json_object_get(cg, "pids_limit"));
  l.memory_reservation = json_integer_value(json_object_get(cg, "memory_reservation"));
  json_t *sw = json_object_get(cg, "memory_swappiness");
  l.memory_swappiness = json_is_integer(sw) ? json_integer_value(sw) : -1;
  l.oom_kill_disable = json_is_true(json_object_get(cg, "oom_kill_disable"));
  l.cpuset_mems = json_string_value(json_object_get(cg, "cpuset_mems"));
  l.blkio_weight = json_integer_value(json_object_get(cg, "blkio_weight"));
  json_t *bd = json_object_get(cg, "blkio_devices");
  l.blkio_devices = json_is_array(bd) ? bd : NULL;
  return l;
}

/* a blkio_devices entry's "MAJ:MIN" */
static void blkio_dev(json_t *d, char *buf, size_t len) {
  snprintf(buf, len, "%lld:%lld", (long long)json_integer_value(json_object_get(d, "major")),
           (long long)json_integer_value(json_object_get(d, "minor")));
}

/* an entry as "MAJ:MIN VALUE" (v1's files) or "MAJ:MIN KEY=VALUE" (io.max) */
static void blkio_line(json_t *d, const char *key, char *buf, size_t len) {
  char dev[32];
  blkio_dev(d, dev, sizeof dev);
  snprintf(buf, len, "%s %s%s%lld", dev, key ? key : "", key ? "=" : "",
           (long long)json_integer_value(json_object_get(d, "value")));
}

/* "254:0 Read 4096" lines (v1) as docker's [{major, minor, op, value}];
 * the closing "Total N" has no device and is not one */
static json_t *blkio_entries_v1(const char *path) {
  json_t *a = json_array();
  cleanup_free char *s = read_file(path, NULL);
  char *save = NULL;
  for (char *line = s ? strtok_r(s, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
    unsigned maj, min;
    char op[16];
    unsigned long long v;
    if (sscanf(line, "%u:%u %15s %llu", &maj, &min, op, &v) == 4)
      json_array_append_new(a, json_pack("{s:I,s:I,s:s,s:I}", "major", (json_int_t)maj, "minor",
                                         (json_int_t)min, "op", op, "value", (json_int_t)v));
  }
  return a;
}

uint64_t cgroup_system_cpu_ns(void) {
  cleanup_free char *s = read_file("/proc/stat", NULL);
  if (!s || strncmp(s, "cpu ", 4)) return 0;
  uint64_t total = 0;
  char *p = s + 4;
  for (int i = 0; i < 8; i++) {
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p) break;
    total += v;
    p = end;
  }
  long hz = sysconf(_SC_CLK_TCK);
  return total * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
}

static pid_t *read_pids(const char *procs, size_t *n) {
  cleanup_free char *s = read_file(procs, NULL);
  pid_t *v = NULL;
  *n = 0;
  char *save = NULL;
  for (char *t = s ? strtok_r(s, "\n", &save) : NULL; t; t = strtok_r(NULL, "\n", &save)) {
    v = xrealloc(v, (*n + 1) * sizeof *v);
    v[(*n)++] = (pid_t)atoi(t);
  }
  return v;
}

static void kill_all(const char *procs) {
  for (int round = 0; round < 50; round++) {
    size_t n;
    pid_t *p = read_pids(procs, &n);
    for (size_t i = 0; i < n; i++)
      kill(p[i], SIGKILL);
    free(p);
    if (!n) return;
    usleep(20000);
  }
}

/* ---------------- v1 ---------------- */

static const char *const v1_ctrls[] = {"memory", "cpu",     "cpuacct", "cpuset",
                                       "pids",   "freezer", "blkio",   "devices"};

/* every v1 hierarchy a container has a cgroup in: the controllers above
 * (their limits), then each other one the host mounts under CG_ROOT
 * (name=systemd, net_cls,net_prio, perf_event, hugetlb…), as runc joins
 * every one: the init's cgroup namespace is rooted at its cgroup in each,
 * and a hierarchy it had no cgroup of its own in showed the host's whole
 * tree there.  Not a hybrid layout's cgroup2 ("unified": cgroup2 renames
 * nothing, so a spare's cgroup could not become a container's): the
 * container does not see that one at all, as with runc (rt's
 * mount_cgroups) */
static const char *v1_hier[32];
static size_t n_v1_hier;
static pthread_once_t v1_hier_once = PTHREAD_ONCE_INIT;

static bool v1_managed(const char *dir) {
  cleanup_free char *words = xstrdup(dir);
  for (char *w = words, *save = NULL; (w = strtok_r(w, ",", &save)); w = NULL)
    for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++)
      if (!strcmp(w, v1_ctrls[i])) return true;
  return false;
}

/* a line of /proc/self/cgroup, "N:controllers:path", split in place:
 * *dir the controllers ("name=" dropped: the names the hierarchies'
 * directories have under CG_ROOT; "" the cgroup2 one), *path the cgroup */
static bool cg_self_line(char *line, const char **dir, const char **path) {
  char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c2) return false;
  *c2 = 0;
  c2[1 + strcspn(c2 + 1, "\n")] = 0;
  *dir = str_has_prefix(c1 + 1, "name=") ? c1 + 6 : c1 + 1;
  *path = c2 + 1;
  return true;
}

/* from /proc/self/cgroup (a line a hierarchy, "name=" dropped: the names
 * its directories have under CG_ROOT), not mountinfo: with 1,000
 * containers mountinfo is 1,000 overlay lines long, and every shim reads
 * this once (run -d at 1,000 went from 14 to 32 ms reading it) */
static void v1_find_hiers(void) {
  for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++)
    v1_hier[n_v1_hier++] = v1_ctrls[i];
  /* read lean, not into cgroup_self's array (a shim's stack is its PSS) */
  cleanup_fclose FILE *f = fopen("/proc/self/cgroup", "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  const char *dir, *path;
  while (f && n_v1_hier < ARRAY_SIZE(v1_hier) && getline(&line, &cap, f) > 0) {
    if (!cg_self_line(line, &dir, &path) || !*dir || v1_managed(dir)) continue;
    cleanup_free char *root = xasprintf(CG_ROOT "/%s", dir);
    if (path_exists(root)) v1_hier[n_v1_hier++] = xstrdup(dir);
  }
}

static size_t v1_hiers(const char *const **out) {
  pthread_once(&v1_hier_once, v1_find_hiers);
  *out = v1_hier;
  return n_v1_hier;
}

static char *v1_path(const char *ctrl, const char *id, const char *file) {
  return xasprintf(CG_ROOT "/%s/" CG_PARENT "%s%s%s%s", ctrl, id ? "/" : "", id ? id : "",
                   file ? "/" : "", file ? file : "");
}

/* berth's own cpuset parent gives each new child its cpus and mems itself
 * (cgroup.clone_children): a write of cpuset.cpus or cpuset.mems checks
 * the new value against every sibling (the kernel's validate_change; ~0.8
 * ms of CPU a container with 1,000 running), the copy at the child's making
 * does not */
static void v1_cpuset_clone_children(const char *parent) {
  static bool done; /* once a process: a shim makes one cgroup */
  if (done) return;
  cleanup_free char *p = xasprintf("%s/cgroup.clone_children", parent);
  done = write_str(p, "1") == 0;
}

static void v1_cpuset_inherit(const char *dir) {
  /* an empty cpuset cannot take tasks: copy the parent's */
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
    cleanup_free char *mine = xasprintf("%s/%s", dir, files[i]);
    cleanup_free char *cur = read_file(mine, NULL);
    if (cur && *cur && *cur != '\n') continue;
    cleanup_free char *pdir = xstrdup(dir);
    *strrchr(pdir, '/') = 0;
    cleanup_free char *ppath = xasprintf("%s/%s", pdir, files[i]);
    cleanup_free char *val = read_file(ppath, NULL);
    if (val) write_str(mine, val);
  }
}

/* --memory-reservation, --memory-swappiness, --oom-kill-disable and
 * --cpuset-mems: the files docker's runc writes */
static int v1_memory_more(const char *id, const struct cg_limits *l, struct berth_err *err) {
  int r = 0;
  if (l->memory_reservation > 0) {
    cleanup_free char *p = v1_path("memory", id, "memory.soft_limit_in_bytes");
    if ((r = write_i64(p, l->memory_reservation)) < 0)
      return err_sys_(err, BERTH_EINVAL, -r, "memory reservation");
  }
  if (l->memory_swappiness >= 0) {
    cleanup_free char *p = v1_path("memory", id, "memory.swappiness");
    if ((r = write_i64(p, l->memory_swappiness)) < 0)
      return err_sys_(err, BERTH_EINVAL, -r, "memory swappiness");
  }
  if (l->oom_kill_disable) {
    cleanup_free char *p = v1_path("memory", id, "memory.oom_control");
    if ((r = write_str(p, "1")) < 0) return err_sys_(err, BERTH_EINVAL, -r, "oom kill disable");
  }
  if (l->cpuset_mems && *l->cpuset_mems) {
    cleanup_free char *p = v1_path("cpuset", id, "cpuset.mems");
    if ((r = write_str(p, l->cpuset_mems)) < 0)
      return err_sys_(err, BERTH_EINVAL, -r, "invalid --cpuset-mems %s", l->cpuset_mems);
  }
  return 0;
}

/* the first of a (CFQ) file and its BFQ twin that this host has */
static char *v1_blkio_file(const char *id, const char *cfq, const char *bfq) {
  char *p = v1_path("blkio", id, cfq);
  if (!bfq || path_exists(p)) return p;
  free(p);
  return v1_path("blkio", id, bfq);
}

static int v1_blkio(const char *id, const struct cg_limits *l, struct berth_err *err) {
  static const struct {
    const char *kind, *cfq, *bfq;
  } files[] = {{"weight", "blkio.weight_device", "blkio.bfq.weight_device"},
               {"read_bps", "blkio.throttle.read_bps_device", NULL},
               {"write_bps", "blkio.throttle.write_bps_device", NULL},
               {"read_iops", "blkio.throttle.read_iops_device", NULL},
               {"write_iops", "blkio.throttle.write_iops_device", NULL}};
  int r;
  if (l->blkio_weight > 0) {
    cleanup_free char *p = v1_blkio_file(id, "blkio.weight", "blkio.bfq.weight");
    if ((r = write_i64(p, l->blkio_weight)) < 0)
      return err_sys_(err, BERTH_EINVAL, -r, "blkio weight");
  }
  size_t i;
  json_t *d;
  json_array_foreach(l->blkio_devices, i, d) {
    const char *kind = json_string_value(json_object_get(d, "kind")) ?: "";
    for (size_t k = 0; k < ARRAY_SIZE(files); k++) {
      if (strcmp(kind, files[k].kind)) continue;
      char line[96];
      blkio_line(d, NULL, line, sizeof line);
      cleanup_free char *p = v1_blkio_file(id, files[k].cfq, files[k].bfq);
      if ((r = write_str(p, line)) < 0)
        return err_sys_(err, BERTH_EINVAL, -r, "blkio %s %s", kind, line);
    }
  }
  return 0;
}

/* memory and memory+swap: the kernel keeps memory <= memsw at every
 * write, so a limit raised past the current memsw needs memsw first (as
 * runc orders them); a swap limit alone (update) is written alone, and
 * the kernel refuses it under an unlimited memory as it refuses runc's */
static int v1_memory(const char *id, const struct cg_limits *l, struct berth_err *err) {
  cleanup_free char *p = v1_path("memory", id, "memory.limit_in_bytes");
  cleanup_free char *ps = v1_path("memory", id, "memory.memsw.limit_in_bytes");
  int64_t sw = l->memory_swap == 0 && l->memory > 0 ? 2 * l->memory : l->memory_swap;
  bool swap = sw != 0 && path_exists(ps);
  bool swap_first = swap && (sw == -1 || read_i64(p) < sw);
  int r;
  if (swap_first && (r = write_i64(ps, sw)) < 0)
    return err_sys_(err, BERTH_EINVAL, -r, "memory swap limit");
  if (l->memory > 0 && (r = write_i64(p, l->memory)) < 0)
    return err_sys_(err, BERTH_EINVAL, -r, "memory limit");
  if (swap && !swap_first && (r = write_i64(ps, sw)) < 0)
    return err_sys_(err, BERTH_EINVAL, -r, "memory swap limit");
  return 0;
}

/* the kernel clamps cpu.shares to 2..262144: read back, a clamped value
 * is refused in runc's words (runc checks the same way) and the value
 * before it put back (an update's refusal leaves the shares as they were) */
static int v1_cpu_shares(const char *id, int64_t shares, struct berth_err *err) {
  cleanup_free char *p = v1_path("cpu", id, "cpu.shares");
  int64_t was = read_i64(p);
  int r = write_i64(p, shares);
  if (r < 0) return err_sys_(err, BERTH_EINVAL, -r, "cpu shares");
  int64_t got = read_i64(p);
  if (got <= 0 || got == shares) return 0;
  if (was > 0) write_i64(p, was);
  return berth_err_set(err, BERTH_EINVAL, 0, "the %s allowed cpu-shares is %lld",
                       shares > got ? "maximum" : "minimum", (long long)got);
}

static int v1_limits(const char *id, const struct cg_limits *l, struct berth_err *err) {
  int r = 0;
  if ((l->memory > 0 || l->memory_swap > 0) && (r = v1_memory(id, l, err)) < 0) return r;
  if (l->nano_cpus > 0) {
    cleanup_free char *pp = v1_path("cpu", id, "cpu.cfs_period_us");
    cleanup_free char *pq = v1_path("cpu", id, "cpu.cfs_quota_us");
    write_i64(pp, 100000);
    if ((r = write_i64(pq, l->nano_cpus / 10000)) < 0)
      return err_sys_(err, BERTH_EINVAL, -r, "cpu quota");
  }
  if (l->cpu_shares > 0 && (r = v1_cpu_shares(id, l->cpu_shares, err)) < 0) return r;
  if (l->cpuset_cpus && *l->cpuset_cpus) {
    cleanup_free char *p = v1_path("cpuset", id, "cpuset.cpus");
    if ((r = write_str(p, l->cpuset_cpus)) < 0)
      return err_sys_(err, BERTH_EINVAL, -r, "invalid --cpuset-cpus %s", l->cpuset_cpus);
  }
  if (l->pids_limit > 0) {
    cleanup_free char *p = v1_path("pids", id, "pids.max");
    if ((r = write_i64(p, l->pids_limit)) < 0) return err_sys_(err, BERTH_EINVAL, -r, "pids limit");
  }
  r = v1_memory_more(id, l, err);
  return r < 0 ? r : v1_blkio(id, l, err);
}

static int v1_create(const char *id, const struct cg_limits *l, struct berth_err *err) {
  const char *const *h;
  size_t n = v1_hiers(&h);
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *parent = v1_path(h[i], NULL, NULL);
    cleanup_free char *dir = v1_path(h[i], id, NULL);
    cleanup_free char *root = xasprintf(CG_ROOT "/%s", h[i]);
    if (!path_exists(root)) continue;
    mkdir(parent, 0755);
    if (!strcmp(h[i], "cpuset")) {
      v1_cpuset_inherit(parent);
      v1_cpuset_clone_children(parent);
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
      return err_sys(err, BERTH_EINTERNAL, "mkdir %s", dir);
    if (!strcmp(h[i], "cpuset")) v1_cpuset_inherit(dir);
  }
  /* devices: docker's default allowlist */
  cleanup_free char *deny = v1_path("devices", id, "devices.deny");
  cleanup_free char *allow = v1_path("devices", id, "devices.allow");
  if (path_exists(deny) && l->all_devices) {
    write_str(allow, "a");
  } else if (path_exists(deny)) {
    size_t nr;
    cleanup_free struct rt_dev_rule *rules = rt_dev_rules(l->device_rules, &nr);
    write_str(deny, "a");
    for (size_t i = 0; i < nr; i++) {
      char line[64];
      rt_dev_rule_text(&rules[i], line, sizeof line);
      write_str(allow, line);
    }
  }
  return v1_limits(id, l, err);
}

static int v1_add_pid(const char *id, pid_t pid, struct berth_err *err) {
  char b[32];
  snprintf(b, sizeof b, "%d", (int)pid);
  const char *const *h;
  size_t n = v1_hiers(&h);
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *p = v1_path(h[i], id, "cgroup.procs");
    int r = write_str(p, b); /* ENOENT: a hierarchy this host has not (no stat first) */
    if (r < 0 && r != -ENOENT) return err_sys_(err, BERTH_EINTERNAL, -r, "join cgroup %s", p);
  }
  return 0;
}

static int v1_freeze(const char *id, bool frozen, struct berth_err *err) {
  cleanup_free char *p = v1_path("freezer", id, "freezer.state");
  int r = write_str(p, frozen ? "FROZEN" : "THAWED");
  if (r < 0) return err_sys_(err, BERTH_EINTERNAL, -r, "freezer");
  for (int i = 0; i < 200; i++) {
    cleanup_free char *s = read_file(p, NULL);
    if (s && str_has_prefix(s, frozen ? "FROZEN" : "THAWED")) return 0;
    usleep(5000);
  }
  return berth_err_set(err, BERTH_EINTERNAL, 0, "freezer did not reach %s",
                       frozen ? "FROZEN" : "THAWED");
}

static int64_t v1_oom(const char *id) {
  cleanup_free char *p = v1_path("memory", id, "memory.oom_control");
  return stat_field(p, "oom_kill");
}

static bool v1_has(enum cg_feature f) {
  static const char *const files[][2] = {
      [CG_MEMORY] = {"memory/memory.limit_in_bytes", NULL},
      [CG_MEMORY_SWAP] = {"memory/memory.memsw.limit_in_bytes", NULL},
      [CG_CPU_SHARES] = {"cpu/cpu.shares", "cpu,cpuacct/cpu.shares"},
      [CG_CPU_CFS] = {"cpu/cpu.cfs_quota_us", "cpu,cpuacct/cpu.cfs_quota_us"},
      [CG_CPUSET] = {"cpuset/cpuset.cpus", NULL},
      [CG_PIDS] = {"pids/cgroup.procs", NULL}, /* the root has no pids.max: the hierarchy */
      [CG_MEMORY_RESERVATION] = {"memory/memory.soft_limit_in_bytes", NULL},
      [CG_MEMORY_SWAPPINESS] = {"memory/memory.swappiness", NULL},
      [CG_OOM_KILL_DISABLE] = {"memory/memory.oom_control", NULL},
      [CG_BLKIO_WEIGHT] = {"blkio/blkio.weight", "blkio/blkio.bfq.weight"},
      [CG_BLKIO_WEIGHT_DEVICE] = {"blkio/blkio.weight_device", "blkio/blkio.bfq.weight_device"},
      [CG_BLKIO_THROTTLE] = {"blkio/blkio.throttle.read_bps_device", NULL}};
  for (size_t i = 0; i < 2 && files[f][i]; i++) {
    cleanup_free char *p = xasprintf(CG_ROOT "/%s", files[f][i]);
    if (path_exists(p)) return true;
  }
  return false;
}

static json_t *v1_blkio_stats(const char *id) {
  cleanup_free char *b = v1_path("blkio", id, "blkio.throttle.io_service_bytes_recursive");
  cleanup_free char *n = v1_path("blkio", id, "blkio.throttle.io_serviced_recursive");
  return json_pack("{s:o,s:o,s:n,s:n,s:n,s:n,s:n,s:n}", "io_service_bytes_recursive",
                   blkio_entries_v1(b), "io_serviced_recursive", blkio_entries_v1(n),
                   "io_queue_recursive", "io_service_time_recursive", "io_wait_time_recursive",
                   "io_merged_recursive", "io_time_recursive", "sectors_recursive");
}

/* "no limit" is reported as the host's memory, as docker does */
static int64_t clamp_to_host(int64_t limit) {
  int64_t phys = (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
  return limit <= 0 || limit > phys ? phys : limit;
}

static json_t *v1_stats(const char *id) {
  cleanup_free char *usage = v1_path("cpuacct", id, "cpuacct.usage");
  cleanup_free char *mu = v1_path("memory", id, "memory.usage_in_bytes");
  cleanup_free char *ml = v1_path("memory", id, "memory.limit_in_bytes");
  cleanup_free char *mx = v1_path("memory", id, "memory.max_usage_in_bytes");
  cleanup_free char *ms = v1_path("memory", id, "memory.stat");
  cleanup_free char *pc = v1_path("pids", id, "pids.current");
  cleanup_free char *pm = v1_path("pids", id, "pids.max");
  cleanup_free char *pcpu = v1_path("cpuacct", id, "cpuacct.usage_percpu");
  json_t *percpu = json_array();
  cleanup_free char *s = read_file(pcpu, NULL);
  char *save = NULL;
  for (char *t = s ? strtok_r(s, " \n", &save) : NULL; t; t = strtok_r(NULL, " \n", &save))
    json_array_append_new(percpu, json_integer(strtoll(t, NULL, 10)));
  int64_t limit = clamp_to_host(read_i64(ml));
  int64_t pmax = read_i64(pm);
  /* cpuacct.stat counts USER_HZ ticks */
  cleanup_free char *cst = v1_path("cpuacct", id, "cpuacct.stat");
  int64_t tick_ns = 1000000000LL / sysconf(_SC_CLK_TCK);
  int64_t ut = stat_field(cst, "user"), st = stat_field(cst, "system");
  /* max_usage: cgroup v1's high-water mark, which docker shows there */
  return json_pack("{s:{s:{s:I,s:o,s:I,s:I}},s:{s:I,s:I,s:I,s:o},s:o,s:o}", "cpu_stats",
                   "cpu_usage", "total_usage", counter(usage), "percpu_usage", percpu,
                   "usage_in_kernelmode", (json_int_t)(st < 0 ? 0 : st * tick_ns),
                   "usage_in_usermode", (json_int_t)(ut < 0 ? 0 : ut * tick_ns), "memory_stats",
                   "usage", counter(mu), "max_usage", counter(mx), "limit", (json_int_t)limit,
                   "stats", stat_object(ms), "pids_stats", pids_stats(pc, pmax), "blkio_stats",
                   v1_blkio_stats(id));
}

static pid_t *v1_pids(const char *id, size_t *n) {
  cleanup_free char *p = v1_path("pids", id, "cgroup.procs");
  if (!path_exists(p)) {
    free(p);
    p = v1_path("memory", id, "cgroup.procs");
  }
  return read_pids(p, n);
}

static void v1_kill(const char *id) {
  cleanup_free char *fz = v1_path("freezer", id, "freezer.state");
  if (path_exists(fz)) write_str(fz, "THAWED");
  cleanup_free char *procs = v1_path("memory", id, "cgroup.procs");
  kill_all(procs);
}

static int v1_destroy(const char *id) {
  v1_kill(id);
  int ret = 0;
  const char *const *h;
  size_t n = v1_hiers(&h);
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *dir = v1_path(h[i], id, NULL);
    for (int t = 0; t < 50 && rmdir(dir) < 0 && errno == EBUSY; t++)
      usleep(10000);
    if (path_exists(dir)) ret = -EBUSY;
  }
  return ret;
}

/* a cgroup made ahead (by a spare shim, with docker's default devices)
 * renamed to the container's in every hierarchy: a rename is a fraction of
 * a mkdir, which makes each controller's files */
static int v1_adopt(const char *from, const char *id, const struct cg_limits *l,
                    struct berth_err *err) {
  size_t done = 0;
  int e = 0;
  const char *const *h;
  size_t n = v1_hiers(&h);
  for (; done < n; done++) {
    cleanup_free char *root = xasprintf(CG_ROOT "/%s", h[done]);
    cleanup_free char *src = v1_path(h[done], from, NULL);
    cleanup_free char *dst = v1_path(h[done], id, NULL);
    /* ENOENT with dst there: a co-mounted hierarchy (cpu,cpuacct) already
     * renamed through its other name; with no root: a hierarchy this host
     * has not (looked at only then: the usual rename costs no stat) */
    if (rename(src, dst) < 0 && !(errno == ENOENT && (path_exists(dst) || !path_exists(root)))) {
      e = errno;
      break;
    }
  }
  if (e) { /* as it was: the caller makes one the usual way */
    while (done-- > 0) {
      cleanup_free char *src = v1_path(h[done], from, NULL);
      cleanup_free char *dst = v1_path(h[done], id, NULL);
      rename(dst, src);
    }
    return 1;
  }
  return v1_limits(id, l, err);
}

static const struct cgroup_ops v1_ops = {"1",        v1_create, v1_limits, v1_add_pid,
                                         v1_freeze,  v1_oom,    v1_stats,  v1_pids,
                                         v1_destroy, v1_kill,   v1_adopt,  v1_has};

/* ---------------- v2 ---------------- */

static char *v2_path(const char *id, const char *file) {
  return xasprintf(CG_ROOT "/" CG_PARENT "%s%s%s%s", id ? "/" : "", id ? id : "", file ? "/" : "",
                   file ? file : "");
}

/* a weight: BFQ's file where the host has it, io.weight's "default N" else */
static int v2_io_weight(const char *id, const char *dev, int64_t w) {
  cleanup_free char *bfq = v2_path(id, "io.bfq.weight");
  cleanup_free char *iow = v2_path(id, "io.weight");
  char b[64];
  snprintf(b, sizeof b, "%s %lld", dev ? dev : "default", (long long)w);
  if (path_exists(bfq)) return write_str(bfq, dev ? b : b + strlen("default "));
  return write_str(iow, b);
}

/* the memory.low, cpuset.mems and io files of the fields v1 has more of;
 * swappiness and the OOM killer's switch have no v2 file (discarded with
 * docker's warning before they get here) */
static int v2_more(const char *id, const struct cg_limits *l, struct berth_err *err) {
  static const char *const keys[][2] = {
      {"read_bps", "rbps"}, {"write_bps", "wbps"}, {"read_iops", "riops"}, {"write_iops", "wiops"}};
  int r = 0;
  if (l->memory_reservation > 0) {
    cleanup_free char *p = v2_path(id, "memory.low");
    if ((r = write_i64(p, l->memory_reservation)) < 0)
      return err_sys_(err, BERTH_EINVAL, -r, "memory reservation");
  }
  if (l->cpuset_mems && *l->cpuset_mems) {
    cleanup_free char *p = v2_path(id, "cpuset.mems");
    if ((r = write_str(p, l->cpuset_mems)) < 0)
      return err_sys_(err, BERTH_EINVAL, -r, "invalid --cpuset-mems %s", l->cpuset_mems);
  }
  if (l->blkio_weight > 0 && (r = v2_io_weight(id, NULL, l->blkio_weight)) < 0)
    return err_sys_(err, BERTH_EINVAL, -r, "blkio weight");
  size_t i;
  json_t *d;
  json_array_foreach(l->blkio_devices, i, d) {
    const char *kind = json_string_value(json_object_get(d, "kind")) ?: "";
    char line[96], dev[32];
    blkio_dev(d, dev, sizeof dev);
    if (!strcmp(kind, "weight")) {
      if ((r = v2_io_weight(id, dev, json_integer_value(json_object_get(d, "value")))) < 0)
        return err_sys_(err, BERTH_EINVAL, -r, "blkio weight of %s", dev);
      continue;
    }
    for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
      if (strcmp(kind, keys[k][0])) continue;
      blkio_line(d, keys[k][1], line, sizeof line);
      cleanup_free char *p = v2_path(id, "io.max");
      if ((r = write_str(p, line)) < 0) return err_sys_(err, BERTH_EINVAL, -r, "io.max %s", line);
    }
  }
  return 0;
}

static int v2_limits(const char *id, const struct cg_limits *l, struct berth_err *err) {
  int r;
  if (l->memory > 0) {
    cleanup_free char *p = v2_path(id, "memory.max");
    if ((r = write_i64(p, l->memory)) < 0) return err_sys_(err, BERTH_EINVAL, -r, "memory limit");
    cleanup_free char *ps = v2_path(id, "memory.swap.max");
    if (path_exists(ps)) {
      if (l->memory_swap < 0)
        write_str(ps, "max");
      else
        write_i64(ps, l->memory_swap == 0 ? l->memory : l->memory_swap - l->memory);
    }
  }
  if (l->nano_cpus > 0) {
    char b[64];
    snprintf(b, sizeof b, "%lld 100000", (long long)(l->nano_cpus / 10000));
    cleanup_free char *p = v2_path(id, "cpu.max");
    if ((r = write_str(p, b)) < 0) return err_sys_(err, BERTH_EINVAL, -r, "cpu quota");
  }
  if (l->cpu_shares > 0) {
    cleanup_free char *p = v2_path(id, "cpu.weight");
    int64_t w = 1 + ((l->cpu_shares - 2) * 9999) / 262142;
    if ((r = write_i64(p, w < 1 ? 1 : w)) < 0) return err_sys_(err, BERTH_EINVAL, -r, "cpu weight");
  }
  if (l->cpuset_cpus && *l->cpuset_cpus) {
    cleanup_free char *p = v2_path(id, "cpuset.cpus");
    if ((r = write_str(p, l->cpuset_cpus)) < 0)
      return err_sys_(err, BERTH_EINVAL, -r, "invalid --cpuset-cpus %s", l->cpuset_cpus);
  }
  if (l->pids_limit > 0) {
    cleanup_free char *p = v2_path(id, "pids.max");
    if ((r = write_i64(p, l->pids_limit)) < 0) return err_sys_(err, BERTH_EINVAL, -r, "pids limit");
  }
  return v2_more(id, l, err);
}

static int v2_create(const char *id, const struct cg_limits *l, struct berth_err *err) {
  cleanup_free char *parent = v2_path(NULL, NULL);
  mkdir(parent, 0755);
  cleanup_free char *rootctl = xstrdup(CG_ROOT "/cgroup.subtree_control");
  cleanup_free char *ctl = v2_path(NULL, "cgroup.subtree_control");
  static const char *const ctrls[] = {"+cpu", "+cpuset", "+memory", "+pids", "+io"};
  for (size_t i = 0; i < ARRAY_SIZE(ctrls); i++) {
    write_str(rootctl, ctrls[i]);
    write_str(ctl, ctrls[i]);
  }
  cleanup_free char *dir = v2_path(id, NULL);
  if (mkdir(dir, 0755) < 0 && errno != EEXIST)
    return err_sys(err, BERTH_EINTERNAL, "mkdir %s", dir);
  /* v2 has no devices files: the allowlist is an eBPF program */
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  size_t n;
  cleanup_free struct rt_dev_rule *rules = rt_dev_rules(l->device_rules, &n);
  if (!l->all_devices && (dfd < 0 || rt_devfilter_attach(dfd, rules, n, err) < 0))
    return dfd < 0 ? err_sys(err, BERTH_EINTERNAL, "open %s", dir) : -err->code;
  return v2_limits(id, l, err);
}

static int v2_add_pid(const char *id, pid_t pid, struct berth_err *err) {
  cleanup_free char *p = v2_path(id, "cgroup.procs");
  int r = write_i64(p, pid);
  return r < 0 ? err_sys_(err, BERTH_EINTERNAL, -r, "join cgroup %s", p) : 0;
}

static int v2_freeze(const char *id, bool frozen, struct berth_err *err) {
  cleanup_free char *p = v2_path(id, "cgroup.freeze");
  int r = write_str(p, frozen ? "1" : "0");
  if (r < 0) return err_sys_(err, BERTH_EINTERNAL, -r, "cgroup.freeze");
  cleanup_free char *ev = v2_path(id, "cgroup.events");
  for (int i = 0; i < 200; i++) {
    if (stat_field(ev, "frozen") == (frozen ? 1 : 0)) return 0;
    usleep(5000);
  }
  return berth_err_set(err, BERTH_EINTERNAL, 0, "cgroup did not %s", frozen ? "freeze" : "thaw");
}

static int64_t v2_oom(const char *id) {
  cleanup_free char *p = v2_path(id, "memory.events");
  return stat_field(p, "oom_kill");
}

/* the controllers the root hands down, as docker's sysinfo reads them */
static bool v2_has(enum cg_feature f) {
  cleanup_free char *c = read_file(CG_ROOT "/cgroup.controllers", NULL);
  static const char *const ctrl[] = {
      [CG_MEMORY] = "memory",    [CG_MEMORY_SWAP] = "memory", [CG_MEMORY_RESERVATION] = "memory",
      [CG_CPU_SHARES] = "cpu",   [CG_CPU_CFS] = "cpu",        [CG_CPUSET] = "cpuset",
      [CG_PIDS] = "pids",        [CG_BLKIO_WEIGHT] = "io",    [CG_BLKIO_WEIGHT_DEVICE] = "io",
      [CG_BLKIO_THROTTLE] = "io"}; /* swappiness, oom_control: v1's alone */
  const char *want = (size_t)f < ARRAY_SIZE(ctrl) ? ctrl[f] : NULL;
  if (!c || !want) return false;
  char *save = NULL;
  for (char *t = strtok_r(c, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
    if (!strcmp(t, want)) return true;
  return false;
}

/* io.stat's "254:0 rbytes=N wbytes=N rios=N ..." as docker's "read" and
 * "write" entries of io_service_bytes_recursive (the only one it fills) */
static json_t *v2_blkio_stats(const char *id) {
  cleanup_free char *p = v2_path(id, "io.stat");
  cleanup_free char *s = read_file(p, NULL);
  json_t *a = json_array();
  char *save = NULL;
  for (char *line = s ? strtok_r(s, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
    unsigned maj, min;
    unsigned long long rb = 0, wb = 0;
    if (sscanf(line, "%u:%u", &maj, &min) != 2) continue;
    const char *r = strstr(line, " rbytes="), *w = strstr(line, " wbytes=");
    if (r) rb = strtoull(r + 8, NULL, 10);
    if (w) wb = strtoull(w + 8, NULL, 10);
    json_array_append_new(a, json_pack("{s:I,s:I,s:s,s:I}", "major", (json_int_t)maj, "minor",
                                       (json_int_t)min, "op", "read", "value", (json_int_t)rb));
    json_array_append_new(a, json_pack("{s:I,s:I,s:s,s:I}", "major", (json_int_t)maj, "minor",
                                       (json_int_t)min, "op", "write", "value", (json_int_t)wb));
  }
  if (!json_array_size(a)) json_decref(a), a = json_null();
  return json_pack("{s:o,s:n,s:n,s:n,s:n,s:n,s:n,s:n}", "io_service_bytes_recursive", a,
                   "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
                   "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
                   "sectors_recursive");
}

static json_t *v2_stats(const char *id) {
  cleanup_free char *cs = v2_path(id, "cpu.stat");
  cleanup_free char *mc = v2_path(id, "memory.current");
  cleanup_free char *mm = v2_path(id, "memory.max");
  cleanup_free char *ms = v2_path(id, "memory.stat");
  cleanup_free char *pc = v2_path(id, "pids.current");
  cleanup_free char *pm = v2_path(id, "pids.max");
  int64_t usec = stat_field(cs, "usage_usec");
  int64_t limit = clamp_to_host(read_i64(mm));
  int64_t pmax = read_i64(pm);
  return json_pack("{s:{s:{s:I,s:I,s:I}},s:{s:I,s:I,s:o},s:o,s:o}", "cpu_stats", "cpu_usage",
                   "total_usage", (json_int_t)(usec < 0 ? 0 : usec * 1000), "usage_in_kernelmode",
                   (json_int_t)(stat_field(cs, "system_usec") * 1000), "usage_in_usermode",
                   (json_int_t)(stat_field(cs, "user_usec") * 1000), "memory_stats", "usage",
                   counter(mc), "limit", (json_int_t)limit, "stats", stat_object(ms), "pids_stats",
                   pids_stats(pc, pmax), "blkio_stats", v2_blkio_stats(id));
}

static pid_t *v2_pids(const char *id, size_t *n) {
  cleanup_free char *p = v2_path(id, "cgroup.procs");
  return read_pids(p, n);
}

static void v2_kill(const char *id) {
  cleanup_free char *kill_file = v2_path(id, "cgroup.kill");
  if (write_str(kill_file, "1") < 0) {
    cleanup_free char *procs = v2_path(id, "cgroup.procs");
    kill_all(procs);
  }
}

static int v2_destroy(const char *id) {
  cleanup_free char *dir = v2_path(id, NULL);
  if (!path_exists(dir)) return 0;
  v2_kill(id);
  for (int t = 0; t < 100 && rmdir(dir) < 0 && errno == EBUSY; t++)
    usleep(10000);
  return path_exists(dir) ? -EBUSY : 0;
}

/* no adopt: cgroup2 has no rename */
static const struct cgroup_ops v2_ops = {"2",        v2_create, v2_limits, v2_add_pid,
                                         v2_freeze,  v2_oom,    v2_stats,  v2_pids,
                                         v2_destroy, v2_kill,   NULL,      v2_has};

/* ---------------- priming the kernel for a migration ---------------- */

size_t cgroup_self(struct cg_self *out, size_t max) {
  cleanup_fclose FILE *f = fopen("/proc/self/cgroup", "re");
  char line[600];
  size_t n = 0;
  const char *dir, *path;
  while (f && n < max && fgets(line, sizeof line, f)) {
    if (!cg_self_line(line, &dir, &path)) continue;
    snprintf(out[n].dir, sizeof out[n].dir, "%s", dir);
    snprintf(out[n].path, sizeof out[n].path, "%s", path);
    n++;
  }
  return n;
}

/* berthd's own cgroup.procs: the pids hierarchy's (v1), the unified one's (v2) */
static char *own_procs(void) {
  struct cg_self cg[32];
  size_t n = cgroup_self(cg, ARRAY_SIZE(cg));
  bool v2 = cgroup_ops() == &v2_ops;
  for (size_t i = 0; i < n; i++) {
    if (v2 && !cg[i].dir[0]) return xasprintf(CG_ROOT "%s/cgroup.procs", cg[i].path);
    for (char *c = cg[i].dir, *save = NULL; !v2 && (c = strtok_r(c, ",", &save)); c = NULL)
      if (!strcmp(c, "pids")) return xasprintf(CG_ROOT "/pids%s/cgroup.procs", cg[i].path);
  }
  return NULL;
}

static pthread_mutex_t prime_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t prime_cond = PTHREAD_COND_INITIALIZER;
static bool prime_running;
static int64_t prime_until; /* CLOCK_MONOTONIC ns: keep the kernel primed until then */

/* how long a call keeps it primed, and how often it is moved again meanwhile
 * (under a grace period even when a core is busy: one lasts up to a tick,
 * 4 ms at HZ=250) */
#define PRIME_WINDOW_NS (50 * 1000000LL)
#define PRIME_EVERY_US 1000

static void *primer(void *arg) {
  char *procs = arg, pid[32];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  pthread_mutex_lock(&prime_mu);
  for (;;) {
    while (now_ns() >= prime_until)
      pthread_cond_wait(&prime_cond, &prime_mu);
    pthread_mutex_unlock(&prime_mu);
    int r = write_str(procs, pid); /* a no-op move: the lock's state is the point */
    if (r < 0) {
      log_debug("cgroup: no priming through %s: %s", procs, strerror(-r));
      break; /* refused once, refused always: not tried every ms */
    }
    usleep(PRIME_EVERY_US);
    pthread_mutex_lock(&prime_mu);
  }
  free(procs);
  return NULL;
}

void cgroup_prime(void) {
  pthread_mutex_lock(&prime_mu);
  if (!prime_running) {
    char *procs = own_procs();
    pthread_t t;
    prime_running = true; /* tried once: without a path there is nothing to prime */
    if (procs && pthread_create(&t, NULL, primer, procs) == 0)
      pthread_detach(t);
    else
      free(procs);
  }
  int64_t now = now_ns();
  bool idle = now >= prime_until;
  prime_until = now + PRIME_WINDOW_NS;
  if (idle) pthread_cond_signal(&prime_cond);
  pthread_mutex_unlock(&prime_mu);
}

const struct cgroup_ops *cgroup_ops(void) {
  /* unified only when the root itself is cgroup2 with controllers */
  struct statfs sf;
  if (statfs(CG_ROOT, &sf) == 0 && sf.f_type == 0x63677270 /* CGROUP2_SUPER_MAGIC */)
    return &v2_ops;
  return &v1_ops;
}
