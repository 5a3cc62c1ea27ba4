/* cgroups behind one ops table: v1 (one hierarchy per controller) and v2
 * (unified).  A host whose only cgroup2 mount holds no controllers (the
 * hybrid layout: v1 controllers + /sys/fs/cgroup/unified) is treated as v1. */
#ifndef BERTH_CGROUP_H
#define BERTH_CGROUP_H

#include <jansson.h>
#include <sys/types.h>

#include "../util/util.h"

struct cg_limits {
  int64_t memory;      /* bytes, 0 = unlimited */
  int64_t memory_swap; /* memory+swap bytes, 0 = default (2x memory), -1 = unlimited */
  int64_t nano_cpus;   /* 1e9 = one CPU */
  int64_t cpu_shares;  /* 0 = default */
  const char *cpuset_cpus;
  int64_t pids_limit; /* 0 or -1 = unlimited */
  bool all_devices;   /* --privileged: no device allowlist (create only) */
  /* rules besides docker's (--device, --device-cgroup-rule), create only:
   * [{"type": "c"|"b"|"a", "major": n|-1, "minor": n|-1, "access": "rwm"}] */
  json_t *device_rules;
  int64_t memory_reservation; /* soft limit, bytes; 0 = none */
  int64_t memory_swappiness;  /* 0..100; -1 = the host's */
  bool oom_kill_disable;
  const char *cpuset_mems; /* NULL or "" = the parent's */
  int64_t blkio_weight;    /* 10..1000; 0 = the default */
  /* per device, resolved by berthd: [{"kind": "weight"|"read_bps"|
   * "write_bps"|"read_iops"|"write_iops", "major": n, "minor": n,
   * "value": n}] */
  json_t *blkio_devices;
};

/* what a cgroup of this host can hold beyond memory, cpu and pids: the
 * files docker's sysinfo looks for (a limit the host cannot hold is
 * discarded with docker's warning, never half-applied) */
enum cg_feature {
  CG_MEMORY,
  CG_MEMORY_SWAP,
  CG_CPU_SHARES,
  CG_CPU_CFS,
  CG_CPUSET,
  CG_PIDS,
  CG_MEMORY_RESERVATION,
  CG_MEMORY_SWAPPINESS,
  CG_OOM_KILL_DISABLE,
  CG_BLKIO_WEIGHT,
  CG_BLKIO_WEIGHT_DEVICE,
  CG_BLKIO_THROTTLE,
};

/* cg_limits <-> the "cgroup" object of a shim's spec (strings and arrays
 * are borrowed from the JSON) */
json_t *cgroup_limits_json(const struct cg_limits *l);
struct cg_limits cgroup_limits_parse(json_t *cg);

struct cgroup_ops {
  const char *version; /* "1" or "2" */
  int (*create)(const char *id, const struct cg_limits *l, struct berth_err *err);
  int (*update)(const char *id, const struct cg_limits *l, struct berth_err *err);
  int (*add_pid)(const char *id, pid_t pid, struct berth_err *err);
  int (*freeze)(const char *id, bool frozen, struct berth_err *err);
  /* OOM kills since creation */
  int64_t (*oom_kills)(const char *id);
  /* cpu_stats, memory_stats, pids_stats in docker's stats shape */
  json_t *(*stats)(const char *id);
  /* pids of every process in the cgroup; caller frees */
  pid_t *(*pids)(const char *id, size_t *n);
  /* kill what is left and remove the cgroup; safe to repeat */
  int (*destroy)(const char *id);
  /* kill every process of the cgroup, which stays (what a container's
   * process left running where no pid namespace of its own ends it) */
  void (*kill)(const char *id);
  /* take a cgroup made ahead with create(from, docker's defaults) as id's,
   * with l's limits (not its devices): 0; 1 when it could not be renamed
   * (from is left as it was: make one with create); -code when a limit
   * failed (the cgroup is id's by then).  NULL where the hierarchy cannot
   * rename (cgroup2). */
  int (*adopt)(const char *from, const char *id, const struct cg_limits *l, struct berth_err *err);
  bool (*has)(enum cg_feature f);
};

const struct cgroup_ops *cgroup_ops(void);

/* The calling process's cgroups (/proc/self/cgroup): each hierarchy's
 * controllers as its directory under /sys/fs/cgroup names them ("memory",
 * "cpu,cpuacct", "systemd" for name=systemd, "" for the unified one) and
 * the process's path in it ("/berth/<id>").  Returns how many, at most max. */
struct cg_self {
  char dir[64], path[448];
};
size_t cgroup_self(struct cg_self *out, size_t max);

/* The first cgroup migration after a quiet spell waits for an RCU grace
 * period (the kernel's cgroup_threadgroup_rwsem goes to its slow mode; a
 * period lasts until every core has passed a quiescent point: ~0.1 ms when
 * the other core idles, up to a tick, 4 ms at HZ=250, when a program runs
 * on it, as the docker CLI's Go threads do), and it waits holding
 * cgroup_mutex, which every mkdir, rename and rmdir of a cgroup takes too.
 * A call keeps the kernel primed for the next 50 ms: a thread of its own
 * moves berthd into the cgroup it is already in, then again every 1 ms
 * (less than a period: the rwsem never goes back to its fast mode meanwhile),
 * so the shim's make, rename and move of a container's cgroup a few ms later
 * wait for no period.  Cost: a no-op move per ms while containers are being
 * made.  Never blocks the caller. */
void cgroup_prime(void);

/* Device access (devices.c): docker's default allowlist. */
struct rt_dev_rule {
  char type;       /* 'c', 'b' or 'a' (either) */
  int major;       /* -1: any */
  int minor;       /* -1: any */
  unsigned access; /* BPF_DEVCG_ACC_* bits: mknod 1, read 2, write 4 */
};
const struct rt_dev_rule *rt_default_dev_rules(size_t *n);
/* docker's, then extra (cg_limits.device_rules); caller frees */
struct rt_dev_rule *rt_dev_rules(json_t *extra, size_t *n);
/* "c 1:3 rwm" for devices.allow (cgroup v1) */
void rt_dev_rule_text(const struct rt_dev_rule *r, char *buf, size_t len);
/* cgroup v2: attach an eBPF program allowing only these to the cgroup
 * (an O_RDONLY fd of its directory) */
int rt_devfilter_attach(int cgroup_fd, const struct rt_dev_rule *rules, size_t n,
                        struct berth_err *err);
/* system_cpu_usage in ns, from /proc/stat */
uint64_t cgroup_system_cpu_ns(void);

#endif
