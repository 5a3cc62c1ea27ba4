/* A container's Config and HostConfig, parsed once into types (at create,
 * at load from disk, and at update) and validated in one place with
 * docker's 400 messages.  The JSON stays on the container only for
 * inspect's round trip.  An opts is immutable once made: update makes a
 * new one and swaps it in; readers hold a reference (ctr_opts_get). */
#ifndef BERTH_CTR_CONFIG_H
#define BERTH_CTR_CONFIG_H

#include <jansson.h>

#include "../util/util.h"

struct container;

enum ctr_restart { RESTART_NO, RESTART_ALWAYS, RESTART_UNLESS_STOPPED, RESTART_ON_FAILURE };

struct ctr_bind {
  char *source, *target; /* source: an absolute host path, or a volume's name ("": anonymous) */
  bool readonly, volume;
  bool must_exist;   /* --mount type=bind: a missing source is an error, not made */
  char *mode;        /* what followed the target ("ro,z"), "" when nothing */
  char *propagation; /* a bind's: rprivate, rslave… as given; NULL none given */
  /* --mount type=volume: for a volume made at create (VolumeOptions) */
  char *driver;        /* "" none given */
  json_t *driver_opts; /* volume-opt, or NULL */
  json_t *labels;      /* volume-label, or NULL */
};

struct ctr_tmpfs {
  char *target, *options; /* options "" -> mode=1777 */
};

/* --device-read-bps and its kin, by path (resolved to a device number at
 * each start) */
struct ctr_blkio {
  char *path;
  const char *kind; /* "weight", "read_bps", "write_bps", "read_iops", "write_iops" */
  int64_t value;
};

struct ctr_resources {
  int64_t memory, memory_swap, nano_cpus, cpu_shares, cpu_quota, cpu_period, pids_limit;
  int64_t memory_reservation, memory_swappiness; /* swappiness -1: the host's */
  bool oom_kill_disable;
  char *cpuset_cpus, *cpuset_mems; /* "" none */
  int64_t blkio_weight;            /* 0 none */
  struct ctr_blkio *blkio;
  size_t n_blkio;
};

struct ctr_opts {
  int refs;
  /* Config (merged with the image's at create) */
  char *image, *hostname, *domainname, *user, *workdir; /* never NULL */
  char **env;                                           /* "K=V" only, docker's order */
  size_t n_env;
  char **entrypoint, **cmd;
  size_t n_entrypoint, n_cmd;
  bool tty, open_stdin, stdin_once;
  json_t *labels;   /* an object, never NULL */
  int stop_signal;  /* SIGTERM unless StopSignal */
  int stop_timeout; /* seconds; -1: the request's or 10 */
  /* HostConfig */
  char *network_mode;  /* "" for the daemon's default */
  char *volume_driver; /* HostConfig.VolumeDriver: for volumes made at create; "" local */
  bool auto_remove, privileged, init, readonly_rootfs;
  bool userns_host;                  /* UsernsMode "host": no user namespace under --userns-remap */
  bool ipc_host, uts_host, pid_host; /* IpcMode/UTSMode/PidMode "host": the host's namespace */
  char *pid_of;                      /* PidMode "container:<id>": that one's namespace, or NULL */
  char *ipc_of;                      /* IpcMode "container:<id>": that one's ipc and /dev/shm */
  bool ipc_shareable; /* IpcMode "shareable": /dev/shm mounted where others find it */
  bool ipc_none;      /* IpcMode "none": no /dev/shm at all */
  enum ctr_restart restart;
  int restart_max;
  char *log_type; /* "" for the daemon's log driver */
  json_t *log_config;
  struct ctr_bind *binds;
  size_t n_binds;
  struct ctr_tmpfs *tmpfs;
  size_t n_tmpfs;
  char **cap_add, **cap_drop;
  size_t n_cap_add, n_cap_drop;
  char **group_add; /* --group-add: numbers or the container's group names */
  size_t n_group_add;
  bool seccomp;          /* false: seccomp=unconfined */
  char *seccomp_profile; /* a profile's JSON (the CLI sends the content), or NULL */
  bool no_new_privs;
  struct ctr_resources res;
  struct ctr_port *ports; /* -p, and -P's exposed ports */
  size_t n_ports;
  char **dns, **dns_search, **dns_options, **extra_hosts; /* --dns ... --add-host */
  size_t n_dns, n_dns_search, n_dns_options, n_extra_hosts;
  char **links; /* --link, as "name:alias" (both without '/') */
  size_t n_links;
  char mac[18]; /* --mac-address (Config.MacAddress), lower case; "" none */
  /* Config.Healthcheck (merged with the image's): the probe's argv (CMD-SHELL
   * runs through shell), NULL for none; durations in ns, docker's defaults */
  char **health_cmd;
  size_t n_health_cmd;
  int64_t health_interval, health_timeout, health_start;
  int health_retries;
  char **shell; /* Config.Shell, or /bin/sh -c */
  size_t n_shell;
  /* ShmSize, Ulimits, OomScoreAdj, Sysctls, checked, as the runtime reads
   * them: {"shm_size", "rlimits": [[resource, soft, hard]], "oom_score_adj",
   * "sysctls": {key: value}}; NULL when none is set */
  json_t *limits;
};

/* A port to publish: HostConfig.PortBindings, or an exposed port with
 * PublishAllPorts (any host port). */
struct ctr_port {
  char proto[8];     /* tcp, udp, sctp */
  uint16_t cport;    /* the container's */
  char host_ip[48];  /* "": every address of the host */
  uint16_t hlo, hhi; /* the host port, or a range to pick from; 0-0: any free one */
};

/* Validate and type cfg (a full Config) and hc (a HostConfig object, may
 * be NULL).  NULL and a docker-worded EINVAL/ENOTSUP on bad values. */
struct ctr_opts *ctr_opts_parse(json_t *cfg, json_t *hc, struct berth_err *err);
void ctr_opts_put(struct ctr_opts *o);
/* the container's current opts, referenced (takes ctr_lock) */
struct ctr_opts *ctr_opts_get(struct container *c);
/* the container's opts, replaced (takes ctr_lock; the old one is put) */
void ctr_opts_set(struct container *c, struct ctr_opts *o);

/* docker's update: the resource keys and RestartPolicy of body over hc
 * (a new object); NULL and a 400 on a bad value */
json_t *ctr_hostconfig_update(json_t *hc, json_t *body, struct berth_err *err);
/* dockerd's refusal of an update given the container's HostConfig, in
 * its words into msg; false when the update fits */
bool ctr_update_conflict(const json_t *hc, const json_t *body, char *msg, size_t len);

const char *ctr_restart_name(enum ctr_restart r);

/* A process's environment: the container's Env, extra over it (an exec's
 * -e), then PATH (first), HOSTNAME, HOME and, with a tty, TERM=xterm where
 * missing.  NULL-terminated; free with ctr_env_free. */
char **ctr_env(const struct ctr_opts *o, char *const *extra, size_t n_extra, const char *home,
               bool tty, size_t *n);
void ctr_env_free(char **env, size_t n);

/* seccomp, no_new_privs and capabilities onto a runtime spec (start and
 * exec); the profile is borrowed from o.  (lifecycle.c) */
struct rt_spec;
void ctr_spec_security(struct rt_spec *s, const struct ctr_opts *o);
/* Resources (resources.c).  fit: what this host's cgroups cannot hold is
 * taken out of hc with docker's warning appended to warnings (may be
 * NULL); --cpus where the host has no CFS quota is docker's error.  parse: hc's resources into r,
 * checked as dockerd checks them (free with ctr_resources_free).  cg_limits: r as cgroup limits,
 * its devices resolved; returns the limits' device list, which the caller frees after l, or NULL
 * and err.  cgroup_json: the same as a shim's spec wants it. */
int ctr_resources_fit(json_t *hc, json_t *warnings, struct berth_err *err);
int ctr_resources_parse(json_t *hc, struct ctr_resources *r, struct berth_err *err);
void ctr_resources_free(struct ctr_resources *r);
struct cg_limits;
json_t *ctr_cg_limits(const struct ctr_resources *r, struct cg_limits *l, struct berth_err *err);
json_t *ctr_cgroup_json(const struct ctr_resources *r, struct berth_err *err);

#endif
