/* Container commands: create, run, start, ps, stop, kill, restart, pause,
 * unpause, rm, rename, wait, top, stats, update, port, logs, attach, exec,
 * inspect.  Flags, output and exit codes follow the docker CLI. */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>

#include "cli.h"

static bool need_args(const char *cmd, const char *usage_line, int npos, int min, int max) {
  if (npos >= min && (max < 0 || npos <= max)) return true;
  if (min == max)
    die_usage(usage_line, "\"berth %s\" requires exactly %d argument%s.", cmd, min,
              min == 1 ? "" : "s");
  else if (max < 0)
    die_usage(usage_line, "\"berth %s\" requires at least %d argument%s.", cmd, min,
              min == 1 ? "" : "s");
  else
    die_usage(usage_line, "\"berth %s\" requires at least %d and at most %d arguments.", cmd, min,
              max);
  return false;
}

static char *esc(const char *s) {
  return url_escape(s);
}

/* "32m" -> bytes (docker's RAMInBytes: binary units). -1: bad. */
int64_t parse_bytes(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || v < 0) return -1;
  int64_t mul = 1;
  switch (tolower((unsigned char)*end)) {
  case 0: break;
  case 'b': mul = 1; break;
  case 'k': mul = 1LL << 10; break;
  case 'm': mul = 1LL << 20; break;
  case 'g': mul = 1LL << 30; break;
  case 't': mul = 1LL << 40; break;
  default: return -1;
  }
  if (*end) {
    end++;
    if (*end == 'b' || *end == 'B') end++;
    if (*end == 'i') end++;
    if (*end) return -1;
  }
  return (int64_t)(v * (double)mul);
}

/* A list flag's values as a JSON array of strings. */
static json_t *str_array(const struct strlist *l) {
  json_t *a = json_array();
  for (size_t i = 0; i < l->n; i++)
    json_array_append_new(a, json_string(l->v[i]));
  return a;
}

static int read_env_file(const char *path, json_t *env) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "open %s: %s\n", path, strerror(errno));
    return -1;
  }
  char line[8192];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    char *s = line;
    while (*s == ' ' || *s == '\t')
      s++;
    if (!*s || *s == '#') continue;
    if (strchr(s, '='))
      json_array_append_new(env, json_string(s));
    else if (getenv(s))
      json_array_append_new(env, json_string_nocheck(xasprintf("%s=%s", s, getenv(s))));
  }
  fclose(f);
  return 0;
}

/* ---------------- create / run ---------------- */

#define NO_TIMEOUT (-(1L << 40))

struct run_opts {
  bool detach, interactive, tty, rm, privileged, init, read_only, no_healthcheck, sig_proxy;
  bool publish_all;
  const char *name, *workdir, *user, *hostname, *entrypoint, *restart, *stop_signal, *network;
  const char *memory, *memory_swap, *cpus, *cpuset, *detach_keys, *log_driver, *platform, *pull;
  const char *shm_size, *ip, *ip6, *mac, *volume_driver, *userns;
  const char *health_cmd, *health_interval, *health_timeout, *health_start;
  long stop_timeout, cpu_shares, pids_limit, health_retries;
  const char *memory_reservation, *cpuset_mems, *ipc, *uts, *pid;
  long memory_swappiness, blkio_weight;
  bool stop_timeout_set, oom_kill_disable;
  struct strlist blkio_weight_device, read_bps, write_bps, read_iops, write_iops;
  struct strlist env, env_file, labels, cap_add, cap_drop, security_opt, publish, expose, volumes,
      ulimits, log_opts, dns, add_host, tmpfs, attach, net_aliases, dns_search, dns_options, links,
      volumes_from, mounts, devices, device_rules, sysctls;
};

#define RUN_FLAGS(o)                                                                               \
  {"detach", 'd', F_BOOL, &o.detach, "Run container in background and print container ID"},        \
      {"interactive", 'i', F_BOOL, &o.interactive, "Keep STDIN open even if not attached"},        \
      {"tty", 't', F_BOOL, &o.tty, "Allocate a pseudo-TTY"},                                       \
      {"rm", 0, F_BOOL, &o.rm, "Automatically remove the container when it exits"},                \
      {"name", 0, F_STRING, &o.name, "Assign a name to the container"},                            \
      {"env", 'e', F_LIST, &o.env, "Set environment variables"},                                   \
      {"env-file", 0, F_LIST, &o.env_file, "Read in a file of environment variables"},             \
      {"workdir", 'w', F_STRING, &o.workdir, "Working directory inside the container"},            \
      {"user", 'u', F_STRING, &o.user, "Username or UID (format: <name|uid>[:<group|gid>])"},      \
      {"hostname", 'h', F_STRING, &o.hostname, "Container host name"},                             \
      {"entrypoint", 0, F_STRING, &o.entrypoint, "Overwrite the default ENTRYPOINT of the image"}, \
      {"label", 'l', F_LIST, &o.labels, "Set meta data on a container"},                           \
      {"restart", 0, F_STRING, &o.restart,                                                         \
       "Restart policy to apply when a container exits (default \"no\")"},                         \
      {"stop-signal", 0, F_STRING, &o.stop_signal, "Signal to stop the container"},                \
      {"stop-timeout", 0, F_INT, &o.stop_timeout, "Timeout (in seconds) to stop a container"},     \
      {"init", 0, F_BOOL, &o.init,                                                                 \
       "Run an init inside the container that forwards signals and reaps processes"},              \
      {"network", 0, F_STRING, &o.network, "Connect a container to a network"},                    \
      {"userns", 0, F_STRING, &o.userns, "User namespace to use"},                                 \
      {"ipc", 0, F_STRING, &o.ipc, "IPC mode to use"},                                             \
      {"uts", 0, F_STRING, &o.uts, "UTS namespace to use"},                                        \
      {"pid", 0, F_STRING, &o.pid, "PID namespace to use"},                                        \
      {"net", 0, F_STRING, &o.network, "Connect a container to a network"},                        \
      {"ip", 0, F_STRING, &o.ip, "IPv4 address (e.g., 172.30.100.104)"},                           \
      {"ip6", 0, F_STRING, &o.ip6, "IPv6 address (e.g., 2001:db8::33)"},                           \
      {"network-alias", 0, F_LIST, &o.net_aliases, "Add network-scoped alias for the container"},  \
      {"link", 0, F_LIST, &o.links, "Add link to another container"},                              \
      {"mac-address", 0, F_STRING, &o.mac, "Container MAC address (e.g., 92:d0:c6:0a:29:33)"},     \
      {"privileged", 0, F_BOOL, &o.privileged, "Give extended privileges to this container"},      \
      {"cap-add", 0, F_LIST, &o.cap_add, "Add Linux capabilities"},                                \
      {"cap-drop", 0, F_LIST, &o.cap_drop, "Drop Linux capabilities"},                             \
      {"device", 0, F_LIST, &o.devices, "Add a host device to the container"},                     \
      {"sysctl", 0, F_LIST, &o.sysctls, "Sysctl options"},                                         \
      {"device-cgroup-rule", 0, F_LIST, &o.device_rules,                                           \
       "Add a rule to the cgroup allowed devices list"},                                           \
      {"security-opt", 0, F_LIST, &o.security_opt, "Security Options"},                            \
      {"read-only", 0, F_BOOL, &o.read_only,                                                       \
       "Mount the container's root filesystem as read only"},                                      \
      {"memory", 'm', F_STRING, &o.memory, "Memory limit"},                                        \
      {"memory-swap", 0, F_STRING, &o.memory_swap,                                                 \
       "Swap limit equal to memory plus swap: '-1' to enable unlimited swap"},                     \
      {"cpus", 0, F_STRING, &o.cpus, "Number of CPUs"},                                            \
      {"cpu-shares", 'c', F_INT, &o.cpu_shares, "CPU shares (relative weight)"},                   \
      {"cpuset-cpus", 0, F_STRING, &o.cpuset, "CPUs in which to allow execution (0-3, 0,1)"},      \
      {"pids-limit", 0, F_INT, &o.pids_limit, "Tune container pids limit (set -1 for unlimited)"}, \
      {"memory-reservation", 0, F_STRING, &o.memory_reservation, "Memory soft limit"},             \
      {"memory-swappiness", 0, F_INT, &o.memory_swappiness,                                        \
       "Tune container memory swappiness (0 to 100) (default -1)"},                                \
      {"oom-kill-disable", 0, F_BOOL, &o.oom_kill_disable, "Disable OOM Killer"},                  \
      {"cpuset-mems", 0, F_STRING, &o.cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)"}, \
      {"blkio-weight", 0, F_INT, &o.blkio_weight,                                                  \
       "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)"},            \
      {"blkio-weight-device", 0, F_LIST, &o.blkio_weight_device,                                   \
       "Block IO weight (relative device weight)"},                                                \
      {"device-read-bps", 0, F_LIST, &o.read_bps,                                                  \
       "Limit read rate (bytes per second) from a device"},                                        \
      {"device-write-bps", 0, F_LIST, &o.write_bps,                                                \
       "Limit write rate (bytes per second) to a device"},                                         \
      {"device-read-iops", 0, F_LIST, &o.read_iops,                                                \
       "Limit read rate (IO per second) from a device"},                                           \
      {"device-write-iops", 0, F_LIST, &o.write_iops,                                              \
       "Limit write rate (IO per second) to a device"},                                            \
      {"publish", 'p', F_LIST, &o.publish, "Publish a container's port(s) to the host"},           \
      {"publish-all", 'P', F_BOOL, &o.publish_all, "Publish all exposed ports to random ports"},   \
      {"expose", 0, F_LIST, &o.expose, "Expose a port or a range of ports"},                       \
      {"volume", 'v', F_LIST, &o.volumes, "Bind mount a volume"},                                  \
      {"volumes-from", 0, F_LIST, &o.volumes_from,                                                 \
       "Mount volumes from the specified container(s)"},                                           \
      {"mount", 0, F_LIST, &o.mounts, "Attach a filesystem mount to the container"},               \
      {"volume-driver", 0, F_STRING, &o.volume_driver,                                             \
       "Optional volume driver for the container"},                                                \
      {"ulimit", 0, F_LIST, &o.ulimits, "Ulimit options"},                                         \
      {"log-driver", 0, F_STRING, &o.log_driver, "Logging driver for the container"},              \
      {"log-opt", 0, F_LIST, &o.log_opts, "Log driver options"},                                   \
      {"dns", 0, F_LIST, &o.dns, "Set custom DNS servers"},                                        \
      {"dns-search", 0, F_LIST, &o.dns_search, "Set custom DNS search domains"},                   \
      {"dns-option", 0, F_LIST, &o.dns_options, "Set DNS options"},                                \
      {"add-host", 0, F_LIST, &o.add_host, "Add a custom host-to-IP mapping (host:ip)"},           \
      {"tmpfs", 0, F_LIST, &o.tmpfs, "Mount a tmpfs directory"},                                   \
      {"shm-size", 0, F_STRING, &o.shm_size, "Size of /dev/shm"},                                  \
      {"detach-keys", 0, F_STRING, &o.detach_keys,                                                 \
       "Override the key sequence for detaching a container"},                                     \
      {"attach", 'a', F_LIST, &o.attach, "Attach to STDIN, STDOUT or STDERR"},                     \
      {"sig-proxy", 0, F_BOOL, &o.sig_proxy,                                                       \
       "Proxy received signals to the process (default true)"},                                    \
      {"platform", 0, F_STRING, &o.platform, "Set platform if server is multi-platform capable"},  \
      {"pull", 0, F_STRING, &o.pull,                                                               \
       "Pull image before running (\"always\"|\"missing\"|\"never\")"},                            \
      {"health-cmd", 0, F_STRING, &o.health_cmd, "Command to run to check health"},                \
      {"health-interval", 0, F_STRING, &o.health_interval,                                         \
       "Time between running the check (ms|s|m|h) (default 0s)"},                                  \
      {"health-timeout", 0, F_STRING, &o.health_timeout,                                           \
       "Maximum time to allow one check to run (ms|s|m|h) (default 0s)"},                          \
      {"health-start-period", 0, F_STRING, &o.health_start,                                        \
       "Start period for the container to initialize before starting health-retries countdown "    \
       "(ms|s|m|h) (default 0s)"},                                                                 \
      {"health-retries", 0, F_INT, &o.health_retries,                                              \
       "Consecutive failures needed to report unhealthy"},                                         \
  {                                                                                                \
    "no-healthcheck", 0, F_BOOL, &o.no_healthcheck, "Disable any container-specified HEALTHCHECK"  \
  }

static int bad_flag(const char *flag, const char *val, const char *why) {
  fprintf(stderr, "invalid argument \"%s\" for \"%s\" flag: %s\nSee 'berth run --help'.\n", val,
          flag, why);
  return -1;
}

/* --device-read-bps /dev/sda:1mb and its kin as docker's [{"Path", "Rate"}]
 * (key "Weight" for --blkio-weight-device), checked as the docker CLI
 * checks them */
static int add_blkio_list(json_t *hc, const char *field, const char *flag, const char *key,
                          const struct strlist *l) {
  if (!l->n) return 0;
  json_t *a = json_array();
  json_object_set_new(hc, field, a);
  for (size_t i = 0; i < l->n; i++) {
    const char *v = l->v[i], *colon = strrchr(v, ':');
    if (!colon || colon == v) return bad_flag(flag, v, "bad format for device path");
    cleanup_free char *path = strndup(v, (size_t)(colon - v));
    if (strncmp(path, "/dev/", 5)) return bad_flag(flag, v, "bad format for device path");
    char *end;
    int64_t n;
    if (!strcmp(key, "Weight")) {
      n = strtoll(colon + 1, &end, 10);
      if (*end || end == colon + 1 || n < 10 || n > 1000)
        return bad_flag(flag, v, "invalid weight for device (10 to 1000)");
    } else if (strstr(flag, "iops")) {
      n = strtoll(colon + 1, &end, 10);
      if (*end || end == colon + 1 || n < 0)
        return bad_flag(flag, v, "invalid rate for device: want <device-path>:<number>");
    } else if ((n = parse_bytes(colon + 1)) < 0) {
      return bad_flag(flag, v, "invalid rate for device: want <device-path>:<number>[<unit>]");
    }
    json_array_append_new(a, json_pack("{s:s,s:I}", "Path", path, key, (json_int_t)n));
  }
  return 0;
}

/* the limits beyond memory, cpus and pids: soft limit, swappiness, the
 * OOM killer, memory nodes, block I/O */
static int add_more_resources(const struct run_opts *o, json_t *hc) {
  if (o->memory_reservation) {
    int64_t m = parse_bytes(o->memory_reservation);
    if (m < 0) return bad_flag("--memory-reservation", o->memory_reservation, "invalid size");
    json_object_set_new(hc, "MemoryReservation", json_integer(m));
  }
  if (o->memory_swappiness != -1) {
    if (o->memory_swappiness < 0 || o->memory_swappiness > 100) {
      fprintf(stderr, "invalid value: %ld. Valid memory swappiness range is 0-100\n",
              o->memory_swappiness);
      return -1;
    }
    json_object_set_new(hc, "MemorySwappiness", json_integer(o->memory_swappiness));
  }
  if (o->oom_kill_disable) json_object_set_new(hc, "OomKillDisable", json_true());
  if (o->cpuset_mems) json_object_set_new(hc, "CpusetMems", json_string(o->cpuset_mems));
  if (o->blkio_weight) json_object_set_new(hc, "BlkioWeight", json_integer(o->blkio_weight));
  const struct {
    const char *field, *flag, *key;
    const struct strlist *l;
  } lists[] = {{"BlkioWeightDevice", "--blkio-weight-device", "Weight", &o->blkio_weight_device},
               {"BlkioDeviceReadBps", "--device-read-bps", "Rate", &o->read_bps},
               {"BlkioDeviceWriteBps", "--device-write-bps", "Rate", &o->write_bps},
               {"BlkioDeviceReadIOps", "--device-read-iops", "Rate", &o->read_iops},
               {"BlkioDeviceWriteIOps", "--device-write-iops", "Rate", &o->write_iops}};
  for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
    if (add_blkio_list(hc, lists[i].field, lists[i].flag, lists[i].key, lists[i].l) < 0) return -1;
  return 0;
}

/* "[ip:][hostPort:]containerPort[/proto]" into ExposedPorts and PortBindings. */
static int add_publish(const char *spec, json_t *exposed, json_t *bindings) {
  cleanup_free char *s = xstrdup(spec);
  char *proto = strchr(s, '/');
  const char *pr = "tcp";
  if (proto) {
    *proto = 0;
    pr = proto + 1;
  }
  char *parts[3] = {0};
  int n = 0;
  for (char *t = s, *c; n < 3; t = c + 1) {
    parts[n++] = t;
    if (!(c = strchr(t, ':'))) break;
    *c = 0;
  }
  const char *cport = parts[n - 1], *hport = n >= 2 ? parts[n - 2] : "",
             *ip = n == 3 ? parts[0] : "";
  char *end;
  long p = strtol(cport, &end, 10);
  if (*end || p <= 0 || p > 65535) {
    fprintf(stderr, "invalid containerPort: %s\n", cport);
    return -1;
  }
  cleanup_free char *key = xasprintf("%ld/%s", p, pr);
  json_object_set_new(exposed, key, json_object());
  json_t *list = json_object_get(bindings, key);
  if (!list) json_object_set_new(bindings, key, list = json_array());
  json_array_append_new(list, json_pack("{s:s,s:s}", "HostIp", ip, "HostPort", hport));
  return 0;
}

/* -v SRC:DST[:MODE] goes to HostConfig.Binds; -v /DST alone is an
 * anonymous volume, Config.Volumes (as docker's CLI sends them) */
/* --device HOST[:CONTAINER][:PERMS], as the docker CLI reads it */
static json_t *devices_of(const struct strlist *v) {
  json_t *a = json_array();
  for (size_t i = 0; i < v->n; i++) {
    cleanup_free char *s = xstrdup(v->v[i]);
    char *part[4] = {0};
    size_t n = 0;
    for (char *p = s; p && n < 4; n++) {
      part[n] = p;
      if ((p = strchr(p, ':'))) *p++ = 0;
    }
    const char *src = part[0], *dst = NULL, *perms = "rwm";
    if (n == 2 && device_access_valid(part[1]))
      perms = part[1];
    else if (n >= 2)
      dst = part[1];
    if (n == 3) perms = part[2];
    if (n == 0 || n > 3 || !device_access_valid(perms) || (dst && *dst != '/') || *src != '/') {
      fprintf(stderr, "invalid argument \"%s\" for \"--device\" flag: %s\n", v->v[i],
              !device_access_valid(perms) ? "invalid device mode" : "bad format for path");
      json_decref(a);
      return NULL;
    }
    json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "PathOnHost", src, "PathInContainer",
                                       dst ? dst : src, "CgroupPermissions", perms));
  }
  return a;
}

static json_t *binds_of(const struct strlist *v) {
  json_t *a = json_array();
  for (size_t i = 0; i < v->n; i++)
    if (strchr(v->v[i], ':')) json_array_append_new(a, json_string(v->v[i]));
  return a;
}

static json_t *anonymous_of(const struct strlist *v) {
  json_t *o = json_object();
  for (size_t i = 0; i < v->n; i++)
    if (!strchr(v->v[i], ':')) json_object_set_new(o, v->v[i], json_object());
  return o;
}

/* docker's --health-* and --no-healthcheck into Config.Healthcheck */
static int add_health(const struct run_opts *o, json_t *c) {
  bool any = o->health_cmd || o->health_interval || o->health_timeout || o->health_start ||
             o->health_retries;
  if (o->no_healthcheck) {
    if (any) {
      fprintf(stderr, "berth: --no-healthcheck conflicts with --health-* options\n");
      return -1;
    }
    json_object_set_new(c, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
    return 0;
  }
  if (!any) return 0;
  json_t *h = json_object();
  if (o->health_cmd) json_object_set_new(h, "Test", json_pack("[s,s]", "CMD-SHELL", o->health_cmd));
  const char *vals[] = {o->health_interval, o->health_timeout, o->health_start};
  static const char *const keys[] = {"Interval", "Timeout", "StartPeriod"};
  static const char *const names[] = {"health-interval", "health-timeout", "health-start-period"};
  for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
    int64_t ns = 0;
    if (vals[i] && parse_go_duration(vals[i], &ns) < 0) {
      fprintf(stderr, "invalid argument \"%s\" for \"--%s\" flag: time: invalid duration \"%s\"\n",
              vals[i], names[i], vals[i]);
      json_decref(h);
      return -1;
    }
    if (ns < 0) {
      fprintf(stderr, "berth: --%s cannot be negative\n", names[i]);
      json_decref(h);
      return -1;
    }
    json_object_set_new(h, keys[i], json_integer(ns));
  }
  if (o->health_retries < 0) {
    fprintf(stderr, "berth: --health-retries cannot be negative\n");
    json_decref(h);
    return -1;
  }
  json_object_set_new(h, "Retries", json_integer(o->health_retries));
  json_object_set_new(c, "Healthcheck", h);
  return 0;
}

/* Config's process, attach, labels and health fields; NULL after a message */
static json_t *config_part(struct run_opts *o, const char *image, int ncmd, char **cmd) {
  json_t *env = str_array(&o->env);
  for (size_t i = 0; i < o->env_file.n; i++)
    if (read_env_file(o->env_file.v[i], env) < 0) {
      json_decref(env);
      return NULL;
    }
  json_t *labels = json_object();
  for (size_t i = 0; i < o->labels.n; i++) {
    const char *eq = strchr(o->labels.v[i], '=');
    cleanup_free char *k =
        eq ? strndup(o->labels.v[i], (size_t)(eq - o->labels.v[i])) : xstrdup(o->labels.v[i]);
    json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
  }
  bool a_in = o->interactive, a_out = true, a_err = true;
  if (o->attach.n) {
    a_in = a_out = a_err = false;
    for (size_t i = 0; i < o->attach.n; i++) {
      if (!strcasecmp(o->attach.v[i], "stdin"))
        a_in = true;
      else if (!strcasecmp(o->attach.v[i], "stdout"))
        a_out = true;
      else if (!strcasecmp(o->attach.v[i], "stderr"))
        a_err = true;
    }
  }
  if (o->detach) a_in = a_out = a_err = false;
  json_t *c =
      json_pack("{s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:o,s:s,s:o,s:s,s:o}", "Hostname",
                o->hostname ? o->hostname : "", "Domainname", "", "User", o->user ? o->user : "",
                "AttachStdin", a_in, "AttachStdout", a_out, "AttachStderr", a_err, "Tty", o->tty,
                "OpenStdin", o->interactive, "StdinOnce", o->interactive && !o->detach, "Env", env,
                "Image", image, "Volumes", anonymous_of(&o->volumes), "WorkingDir",
                o->workdir ? o->workdir : "", "Labels", labels);
  if (ncmd > 0) {
    json_t *a = json_array();
    for (int i = 0; i < ncmd; i++)
      json_array_append_new(a, json_string(cmd[i]));
    json_object_set_new(c, "Cmd", a);
  }
  if (o->entrypoint) json_object_set_new(c, "Entrypoint", json_pack("[s]", o->entrypoint));
  if (o->stop_signal) json_object_set_new(c, "StopSignal", json_string(o->stop_signal));
  if (o->mac) json_object_set_new(c, "MacAddress", json_string(o->mac));
  if (o->stop_timeout_set) json_object_set_new(c, "StopTimeout", json_integer(o->stop_timeout));
  if (add_health(o, c) < 0) {
    json_decref(c);
    return NULL;
  }
  return c;
}

/* --expose and -p into Config.ExposedPorts and *bindings; -1 after a message */
static int ports_part(struct run_opts *o, json_t *c, json_t **bindings) {
  json_t *exposed = json_object();
  *bindings = json_object();
  json_object_set_new(c, "ExposedPorts", exposed);
  for (size_t i = 0; i < o->expose.n; i++) {
    cleanup_free char *k =
        strchr(o->expose.v[i], '/') ? xstrdup(o->expose.v[i]) : xasprintf("%s/tcp", o->expose.v[i]);
    json_object_set_new(exposed, k, json_object());
  }
  for (size_t i = 0; i < o->publish.n; i++)
    if (add_publish(o->publish.v[i], exposed, *bindings) < 0) {
      json_decref(*bindings);
      return -1;
    }
  return 0;
}

/* --restart NAME[:N] as docker's RestartPolicy; NULL after a message */
static json_t *restart_policy(const struct run_opts *o) {
  const char *rname = o->restart ? o->restart : "no";
  long retries = 0;
  cleanup_free char *rn = xstrdup(rname);
  char *colon = strchr(rn, ':');
  if (colon) {
    *colon = 0;
    retries = strtol(colon + 1, NULL, 10);
  }
  if (strcmp(rn, "no") && strcmp(rn, "always") && strcmp(rn, "on-failure") &&
      strcmp(rn, "unless-stopped")) {
    fprintf(stderr, "invalid restart policy %s\n", rname);
    return NULL;
  }
  return json_pack("{s:s,s:I}", "Name", rn, "MaximumRetryCount", (json_int_t)retries);
}

/* --security-opt; seccomp=FILE: the daemon gets the profile's content
 * (docker does this too).  NULL after a message */
static json_t *security_opts(const struct run_opts *o) {
  json_t *secopt = json_array();
  for (size_t i = 0; i < o->security_opt.n; i++) {
    const char *so = o->security_opt.v[i];
    if ((str_has_prefix(so, "seccomp=") || str_has_prefix(so, "seccomp:")) &&
        strcmp(so + 8, "unconfined")) {
      char *text = read_file(so + 8, NULL);
      if (!text) {
        fprintf(stderr, "opening seccomp profile (%s) failed: %s\n", so + 8, strerror(errno));
        json_decref(secopt);
        return NULL;
      }
      json_array_append_new(secopt, json_sprintf("seccomp=%s", text));
      free(text);
    } else {
      json_array_append_new(secopt, json_string(so));
    }
  }
  return secopt;
}

/* as the docker CLI sends it: the endpoint under the network's name */
static void endpoint_part(const struct run_opts *o, json_t *c) {
  json_t *epc = json_object(), *eps = json_object();
  if (o->ip || o->ip6) json_object_set_new(epc, "IPAMConfig", json_object());
  if (o->ip)
    json_object_set_new(json_object_get(epc, "IPAMConfig"), "IPv4Address", json_string(o->ip));
  if (o->ip6)
    json_object_set_new(json_object_get(epc, "IPAMConfig"), "IPv6Address", json_string(o->ip6));
  if (o->net_aliases.n) json_object_set_new(epc, "Aliases", str_array(&o->net_aliases));
  json_object_set_new(eps, o->network ? o->network : "default", epc);
  json_object_set_new(c, "NetworkingConfig", json_pack("{s:o}", "EndpointsConfig", eps));
}

/* -m, --memory-swap, --shm-size, --cpus and the other limits; -1 after a message */
static int limits_part(const struct run_opts *o, json_t *hc) {
  const struct {
    const char *flag, *val, *key;
  } sizes[] = {{"--memory", o->memory, "Memory"},
               {"--memory-swap", o->memory_swap, "MemorySwap"},
               {"--shm-size", o->shm_size, "ShmSize"}};
  for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
    if (!sizes[i].val) continue;
    bool swap_any = !strcmp(sizes[i].key, "MemorySwap") && !strcmp(sizes[i].val, "-1");
    int64_t m = swap_any ? -1 : parse_bytes(sizes[i].val);
    if (m < (swap_any ? -1 : 0)) {
      fprintf(stderr, "invalid size: '%s'\n", sizes[i].val);
      return -1;
    }
    json_object_set_new(hc, sizes[i].key, json_integer(m));
  }
  if (o->cpus) {
    char *end;
    double v = strtod(o->cpus, &end);
    if (*end || v < 0) return bad_flag("--cpus", o->cpus, "failed to parse as a rational number");
    json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)(v * 1e9 + 0.5)));
  }
  if (o->cpu_shares) json_object_set_new(hc, "CpuShares", json_integer(o->cpu_shares));
  if (o->cpuset) json_object_set_new(hc, "CpusetCpus", json_string(o->cpuset));
  if (o->pids_limit) json_object_set_new(hc, "PidsLimit", json_integer(o->pids_limit));
  if (add_more_resources(o, hc) < 0) return -1;
  if (!o->ulimits.n) return 0;
  json_t *ul = json_array();
  json_object_set_new(hc, "Ulimits", ul);
  for (size_t i = 0; i < o->ulimits.n; i++) {
    cleanup_free char *u = xstrdup(o->ulimits.v[i]);
    char *eq = strchr(u, '=');
    if (!eq) return bad_flag("--ulimit", u, "invalid ulimit argument");
    *eq = 0;
    long long soft = strtoll(eq + 1, NULL, 10), hard = soft;
    char *col = strchr(eq + 1, ':');
    if (col) hard = strtoll(col + 1, NULL, 10);
    json_array_append_new(ul, json_pack("{s:s,s:I,s:I}", "Name", u, "Soft", soft, "Hard", hard));
  }
  return 0;
}

/* "K=V" items (--log-opt, --sysctl) as an object; NULL (after a message
 * naming flag) for one without "=" where need_eq */
static json_t *kv_object(const struct strlist *l, const char *flag, bool need_eq) {
  json_t *m = json_object();
  for (size_t i = 0; i < l->n; i++) {
    const char *eq = strchr(l->v[i], '=');
    if (!eq && need_eq) {
      fprintf(stderr, "invalid argument \"%s\" for \"%s\" flag: invalid sysctl value\n", l->v[i],
              flag);
      json_decref(m);
      return NULL;
    }
    cleanup_free char *k = eq ? strndup(l->v[i], (size_t)(eq - l->v[i])) : xstrdup(l->v[i]);
    json_object_set_new(m, k, json_string(eq ? eq + 1 : ""));
  }
  return m;
}

/* --mount, --device, --sysctl, --tmpfs; -1 after a message */
static int mounts_part(const struct run_opts *o, json_t *hc) {
  if (o->mounts.n) {
    json_t *ms = json_array();
    json_object_set_new(hc, "Mounts", ms);
    for (size_t i = 0; i < o->mounts.n; i++) {
      char why[256];
      json_t *m = mount_spec(o->mounts.v[i], why, sizeof why);
      if (!m) {
        fprintf(stderr, "invalid argument \"%s\" for \"--mount\" flag: %s\n", o->mounts.v[i], why);
        return -1;
      }
      json_array_append_new(ms, m);
    }
  }
  if (o->devices.n) {
    json_t *devs = devices_of(&o->devices);
    if (!devs) return -1;
    json_object_set_new(hc, "Devices", devs);
  }
  if (o->sysctls.n) {
    json_t *m = kv_object(&o->sysctls, "--sysctl", true);
    if (!m) return -1;
    json_object_set_new(hc, "Sysctls", m);
  }
  if (o->tmpfs.n) {
    json_t *t = json_object();
    for (size_t i = 0; i < o->tmpfs.n; i++) {
      const char *colon2 = strchr(o->tmpfs.v[i], ':');
      cleanup_free char *k = colon2 ? strndup(o->tmpfs.v[i], (size_t)(colon2 - o->tmpfs.v[i]))
                                    : xstrdup(o->tmpfs.v[i]);
      json_object_set_new(t, k, json_string(colon2 ? colon2 + 1 : ""));
    }
    json_object_set_new(hc, "Tmpfs", t);
  }
  return 0;
}

/* the lists and strings of HostConfig that need no checking here */
static void host_lists_part(const struct run_opts *o, json_t *hc) {
  if (o->init) json_object_set_new(hc, "Init", json_true());
  const struct {
    const char *key, *val;
  } strs[] = {{"UsernsMode", o->userns},
              {"IpcMode", o->ipc},
              {"UTSMode", o->uts},
              {"PidMode", o->pid},
              {"VolumeDriver", o->volume_driver}};
  for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
    if (strs[i].val) json_object_set_new(hc, strs[i].key, json_string(strs[i].val));
  const struct {
    const char *key;
    const struct strlist *l;
  } lists[] = {{"Dns", &o->dns},
               {"ExtraHosts", &o->add_host},
               {"Links", &o->links},
               {"VolumesFrom", &o->volumes_from},
               {"DeviceCgroupRules", &o->device_rules},
               {"DnsSearch", &o->dns_search},
               {"DnsOptions", &o->dns_options}};
  for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
    if (lists[i].l->n) json_object_set_new(hc, lists[i].key, str_array(lists[i].l));
  if (o->log_driver || o->log_opts.n)
    json_object_set_new(hc, "LogConfig",
                        json_pack("{s:s,s:o}", "Type", o->log_driver ? o->log_driver : "", "Config",
                                  kv_object(&o->log_opts, "--log-opt", false)));
}

static json_t *build_create_body(struct run_opts *o, const char *image, int ncmd, char **cmd) {
  json_t *c = config_part(o, image, ncmd, cmd), *bindings = NULL;
  if (!c || ports_part(o, c, &bindings) < 0) {
    json_decref(c);
    return NULL;
  }
  json_t *restart = restart_policy(o), *secopt = restart ? security_opts(o) : NULL;
  if (!secopt) {
    json_decref(restart);
    json_decref(bindings);
    json_decref(c);
    return NULL;
  }
  json_t *hc =
      json_pack("{s:o,s:s,s:o,s:o,s:b,s:b,s:o,s:o,s:o,s:b,s:b}", "Binds", binds_of(&o->volumes),
                "NetworkMode", o->network ? o->network : "default", "PortBindings", bindings,
                "RestartPolicy", restart, "AutoRemove", o->rm, "Privileged", o->privileged,
                "CapAdd", str_array(&o->cap_add), "CapDrop", str_array(&o->cap_drop), "SecurityOpt",
                secopt, "ReadonlyRootfs", o->read_only, "PublishAllPorts", o->publish_all);
  json_object_set_new(c, "HostConfig", hc);
  endpoint_part(o, c);
  host_lists_part(o, hc);
  if (limits_part(o, hc) < 0 || mounts_part(o, hc) < 0) {
    json_decref(c);
    return NULL;
  }
  return c;
}

/* POST /containers/create; pulls a missing image the way docker does. */
static char *create_container(struct run_opts *o, json_t *body, const char *image) {
  cleanup_free char *ename = o->name ? esc(o->name) : NULL;
  cleanup_free char *path =
      o->name ? xasprintf("/containers/create?name=%s", ename) : xstrdup("/containers/create");
  for (int attempt = 0; attempt < 2; attempt++) {
    cleanup_free char *text = json_dumps(body, JSON_COMPACT);
    struct http_req req = {.method = "POST",
                           .path = path,
                           .body = text,
                           .body_len = strlen(text),
                           .content_type = "application/json",
                           .upload_fd = -1};
    struct http_resp resp;
    if (http_do(&req, &resp) < 0) return NULL;
    if (resp.status == 201 || resp.status == 200) {
      json_t *j = json_loadb(resp.body, resp.len, 0, NULL);
      http_resp_free(&resp);
      char *id = xstrdup(json_string_value(json_object_get(j, "Id")) ?: "");
      json_t *w;
      size_t i;
      json_array_foreach(json_object_get(j, "Warnings"), i, w)
          fprintf(stderr, "WARNING: %s\n", json_string_value(w));
      json_decref(j);
      return id;
    }
    char *m = resp_error_message(&resp);
    bool no_image = resp.status == 404 && str_has_prefix(m, "No such image");
    http_resp_free(&resp);
    if (no_image && attempt == 0 && !(o->pull && !strcmp(o->pull, "never"))) {
      free(m);
      fprintf(stderr, "Unable to find image '%s' locally\n", image);
      char *pargv[] = {"pull", (char *)image, NULL};
      int saved = dup(1);
      dup2(2, 1); /* pull progress goes to stderr for run/create */
      int r = cmd_pull(2, pargv);
      fflush(stdout);
      dup2(saved, 1);
      close(saved);
      if (r != 0) return NULL;
      continue;
    }
    fprintf(stderr, "berth: Error response from daemon: %s\nSee 'berth run --help'.\n", m);
    free(m);
    return NULL;
  }
  return NULL;
}

int cmd_create(int argc, char **argv) {
  struct run_opts o = {.sig_proxy = true, .stop_timeout = NO_TIMEOUT, .memory_swappiness = -1};
  const struct flag flags[] = {RUN_FLAGS(o), {0}};
  flags_stop_at_positional = true;
  PARSE("berth create [OPTIONS] IMAGE [COMMAND] [ARG...]", flags);
  if (!need_args("create", "berth create [OPTIONS] IMAGE [COMMAND] [ARG...]", npos, 1, -1))
    return 125;
  o.stop_timeout_set = o.stop_timeout != NO_TIMEOUT;
  json_t *body = build_create_body(&o, pos[0], npos - 1, pos + 1);
  if (!body) return 125;
  char *id = create_container(&o, body, pos[0]);
  json_decref(body);
  free(pos);
  if (!id) return 125;
  printf("%s\n", id);
  free(id);
  return 0;
}

static int exit_code_for_start_error(const char *m) {
  if (strstr(m, "executable file not found") || strstr(m, "no such file or directory")) return 127;
  if (strstr(m, "permission denied")) return 126;
  return 125;
}

/* Start a container; print docker's error. Returns 0 or an exit code. */
static int start_container(const char *id, const char *prog) {
  cleanup_free char *p = xasprintf("/containers/%s/start", id);
  struct http_req req = {.method = "POST", .path = p, .upload_fd = -1};
  struct http_resp resp;
  if (http_do(&req, &resp) < 0) return 125;
  int rc = 0;
  if (resp.status >= 400) {
    char *m = resp_error_message(&resp);
    fprintf(stderr, "%sError response from daemon: %s\n", prog, m);
    rc = exit_code_for_start_error(m);
    free(m);
  }
  http_resp_free(&resp);
  return rc;
}

static int read_wait_status(int fd) {
  size_t n;
  char *body = raw_read_body(fd, &n);
  json_t *j = json_loadb(body, n, 0, NULL);
  free(body);
  int code = j ? (int)json_integer_value(json_object_get(j, "StatusCode")) : 125;
  const char *em = json_string_value(json_object_get(json_object_get(j, "Error"), "Message"));
  (void)em;
  json_decref(j);
  return code;
}

int cmd_run(int argc, char **argv) {
  struct run_opts o = {.sig_proxy = true, .stop_timeout = NO_TIMEOUT, .memory_swappiness = -1};
  const struct flag flags[] = {RUN_FLAGS(o), {0}};
  flags_stop_at_positional = true;
  PARSE("berth run [OPTIONS] IMAGE [COMMAND] [ARG...]", flags);
  if (!need_args("run", "berth run [OPTIONS] IMAGE [COMMAND] [ARG...]", npos, 1, -1)) return 125;
  o.stop_timeout_set = o.stop_timeout != NO_TIMEOUT;
  if (o.tty && !o.detach && o.interactive && !isatty(0)) {
    fprintf(stderr, "the input device is not a TTY\n");
    return 1;
  }
  json_t *body = build_create_body(&o, pos[0], npos - 1, pos + 1);
  if (!body) return 125;
  cleanup_free char *id = create_container(&o, body, pos[0]);
  json_t *cfg = json_incref(body);
  json_decref(body);
  free(pos);
  if (!id) {
    json_decref(cfg);
    return 125;
  }
  if (o.detach) {
    json_decref(cfg);
    int rc = start_container(id, "berth: ");
    if (rc) return rc;
    printf("%s\n", id);
    return 0;
  }
  bool a_in = json_is_true(json_object_get(cfg, "AttachStdin"));
  bool a_out = json_is_true(json_object_get(cfg, "AttachStdout"));
  bool a_err = json_is_true(json_object_get(cfg, "AttachStderr"));
  json_decref(cfg);
  /* attach and register the wait (both sent at once: two round trips in
   * one), then start */
  int afd = raw_connect(), wfd = afd < 0 ? -1 : raw_connect();
  if (wfd < 0) {
    if (afd >= 0) close(afd);
    return 125;
  }
  cleanup_free char *dk = o.detach_keys ? esc(o.detach_keys) : NULL;
  cleanup_free char *apath =
      xasprintf("/containers/%s/attach?stream=1&stdin=%d&stdout=%d&stderr=%d%s%s", id, a_in, a_out,
                a_err, dk ? "&detachKeys=" : "", dk ? dk : "");
  cleanup_free char *wpath =
      xasprintf("/containers/%s/wait?condition=%s", id, o.rm ? "removed" : "next-exit");
  bool asent = raw_send(afd, "POST", apath, NULL, true) == 0;
  bool wsent = raw_send(wfd, "POST", wpath, NULL, false) == 0;
  int st = asent ? raw_status(afd) : -1;
  if (st != 101 && st != 200) {
    size_t n;
    char *b = raw_read_body(afd, &n);
    json_t *j = json_loadb(b, n, 0, NULL);
    fprintf(stderr, "berth: Error response from daemon: %s\n",
            json_string_value(json_object_get(j, "message")) ?: b);
    json_decref(j);
    free(b);
    close(afd);
    close(wfd);
    return 125;
  }
  if (!wsent || raw_status(wfd) != 200) {
    fprintf(stderr, "berth: cannot wait for container %s\n", id);
    close(afd);
    close(wfd);
    return 125;
  }
  int rc = start_container(id, "berth: ");
  if (rc) {
    close(afd);
    close(wfd);
    return rc;
  }
  cleanup_free char *rpath = xasprintf("/containers/%s/resize", id);
  cleanup_free char *kpath = xasprintf("/containers/%s/kill", id);
  if (o.tty) send_resize(rpath);
  struct stream_opts so = {.tty = o.tty,
                           .send_stdin = a_in,
                           .detach_keys = o.detach_keys,
                           .resize_path = rpath,
                           .kill_path = o.sig_proxy ? kpath : NULL};
  int r = stream_hijacked(afd, &so);
  close(afd);
  if (r == 1) {
    close(wfd);
    return 0;
  }
  rc = read_wait_status(wfd);
  close(wfd);
  return rc;
}

/* ---------------- simple verbs over many containers ---------------- */

/* For each name: METHOD path; prints the name on success, docker's error
 * otherwise.  Exit 1 when any failed. */
/* one request per container, as the docker CLI's parallelOperation makes
 * them: up to 16 at once, the results printed in the order given */
struct each_job {
  const char *method;
  char **paths;
  long *status;
  char **msgs;
  int n, next;
  bool conn_failed;
  pthread_mutex_t mu;
};

static void *each_worker(void *arg) {
  struct each_job *j = arg;
  for (;;) {
    pthread_mutex_lock(&j->mu);
    int i = j->conn_failed || j->next >= j->n ? j->n : j->next++;
    pthread_mutex_unlock(&j->mu);
    if (i >= j->n) return NULL;
    struct http_req req = {.method = j->method, .path = j->paths[i], .upload_fd = -1};
    struct http_resp resp;
    if (http_do(&req, &resp) < 0) {
      pthread_mutex_lock(&j->mu);
      j->conn_failed = true;
      pthread_mutex_unlock(&j->mu);
      return NULL;
    }
    j->status[i] = resp.status;
    if (resp.status >= 400) j->msgs[i] = resp_error_message(&resp);
    http_resp_free(&resp);
  }
}

static int for_each_n(int npos, char **pos, const char *method, const char *fmt, const char *query,
                      int max_par) {
  struct each_job j = {method,
                       xcalloc((size_t)npos, sizeof(char *)),
                       xcalloc((size_t)npos, sizeof(long)),
                       xcalloc((size_t)npos, sizeof(char *)),
                       npos,
                       0,
                       false,
                       PTHREAD_MUTEX_INITIALIZER};
  for (int i = 0; i < npos; i++) {
    cleanup_free char *e = esc(pos[i]);
    j.paths[i] = xasprintf(fmt, e, query ? query : "");
  }
  pthread_t t[16]; /* max_par <= 16 */
  int nt = npos < max_par ? npos : max_par, started = 0;
  /* the first alone: a daemon that is not there is said once */
  j.n = 1;
  each_worker(&j);
  j.n = npos;
  for (int k = 1; k < nt && !j.conn_failed; k++)
    if (pthread_create(&t[started], NULL, each_worker, &j) == 0) started++;
  each_worker(&j);
  for (int k = 0; k < started; k++)
    pthread_join(t[k], NULL);
  int rc = j.conn_failed;
  for (int i = 0; i < npos; i++) { /* those done before a lost connection too */
    if (j.msgs[i]) {
      fprintf(stderr, "Error response from daemon: %s\n", j.msgs[i]);
      rc = 1;
    } else if (j.status[i]) {
      printf("%s\n", pos[i]);
    }
  }
  for (int i = 0; i < npos; i++) {
    free(j.paths[i]);
    free(j.msgs[i]);
  }
  free(j.paths);
  free(j.status);
  free(j.msgs);
  free(pos);
  return rc;
}

static int for_each(int npos, char **pos, const char *method, const char *fmt, const char *query) {
  return for_each_n(npos, pos, method, fmt, query, 16);
}

int cmd_start(int argc, char **argv) {
  bool attach = false, interactive = false;
  const char *detach_keys = NULL;
  const struct flag flags[] = {
      {"attach", 'a', F_BOOL, &attach, "Attach STDOUT/STDERR and forward signals"},
      {"interactive", 'i', F_BOOL, &interactive, "Attach container's STDIN"},
      {"detach-keys", 0, F_STRING, &detach_keys,
       "Override the key sequence for detaching a container"},
      {0}};
  PARSE("berth start [OPTIONS] CONTAINER [CONTAINER...]", flags);
  if (!need_args("start", "berth start [OPTIONS] CONTAINER [CONTAINER...]", npos, 1, -1)) return 1;
  /* in the order given, one after another, as docker's start */
  if (!attach && !interactive)
    return for_each_n(npos, pos, "POST", "/containers/%s/start%s", NULL, 1);
  if (npos > 1) {
    fprintf(stderr, "you cannot start and attach multiple containers at once\n");
    return 1;
  }
  cleanup_free char *e = esc(pos[0]);
  free(pos);
  cleanup_free char *ip = xasprintf("/containers/%s/json", e);
  json_t *info = NULL;
  if (api_call("GET", ip, NULL, &info, NULL) < 0) return 1;
  bool tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
  cleanup_free char *id = xstrdup(json_string_value(json_object_get(info, "Id")));
  json_decref(info);
  int afd = raw_connect();
  cleanup_free char *apath =
      xasprintf("/containers/%s/attach?stream=1&stdin=%d&stdout=1&stderr=1", id, interactive);
  if (afd < 0 || raw_request(afd, "POST", apath, NULL, true) != 101) return 1;
  int wfd = raw_connect();
  cleanup_free char *wpath = xasprintf("/containers/%s/wait?condition=next-exit", id);
  if (wfd < 0 || raw_request(wfd, "POST", wpath, NULL, false) != 200) return 1;
  int rc = start_container(id, "");
  if (rc) return rc;
  cleanup_free char *rpath = xasprintf("/containers/%s/resize", id);
  cleanup_free char *kpath = xasprintf("/containers/%s/kill", id);
  if (tty) send_resize(rpath);
  struct stream_opts so = {.tty = tty,
                           .send_stdin = interactive,
                           .detach_keys = detach_keys,
                           .resize_path = rpath,
                           .kill_path = kpath};
  int r = stream_hijacked(afd, &so);
  close(afd);
  if (r == 1) return 0;
  rc = read_wait_status(wfd);
  close(wfd);
  return rc;
}

int cmd_stop(int argc, char **argv) {
  long t = -1;
  const char *sig = NULL;
  const struct flag flags[] = {
      {"time", 't', F_INT, &t, "Seconds to wait before killing the container"},
      {"signal", 's', F_STRING, &sig, "Signal to send to the container"},
      {0}};
  PARSE("berth stop [OPTIONS] CONTAINER [CONTAINER...]", flags);
  if (!need_args("stop", "berth stop [OPTIONS] CONTAINER [CONTAINER...]", npos, 1, -1)) return 1;
  cleanup_free char *es = sig ? esc(sig) : NULL;
  char q[128] = "";
  if (t >= 0 && es)
    snprintf(q, sizeof q, "?t=%ld&signal=%s", t, es);
  else if (t >= 0)
    snprintf(q, sizeof q, "?t=%ld", t);
  else if (es)
    snprintf(q, sizeof q, "?signal=%s", es);
  return for_each(npos, pos, "POST", "/containers/%s/stop%s", q);
}

int cmd_restart(int argc, char **argv) {
  long t = -1;
  const char *sig = NULL;
  const struct flag flags[] = {
      {"time", 't', F_INT, &t, "Seconds to wait before killing the container"},
      {"signal", 's', F_STRING, &sig, "Signal to send to the container"},
      {0}};
  PARSE("berth restart [OPTIONS] CONTAINER [CONTAINER...]", flags);
  if (!need_args("restart", "berth restart [OPTIONS] CONTAINER [CONTAINER...]", npos, 1, -1))
    return 1;
  char q[64] = "";
  if (t >= 0) snprintf(q, sizeof q, "?t=%ld", t);
  return for_each(npos, pos, "POST", "/containers/%s/restart%s", q);
}

int cmd_kill(int argc, char **argv) {
  const char *sig = NULL;
  const struct flag flags[] = {
      {"signal", 's', F_STRING, &sig, "Signal to send to the container (default \"KILL\")"}, {0}};
  PARSE("berth kill [OPTIONS] CONTAINER [CONTAINER...]", flags);
  if (!need_args("kill", "berth kill [OPTIONS] CONTAINER [CONTAINER...]", npos, 1, -1)) return 1;
  cleanup_free char *es = sig ? esc(sig) : NULL;
  cleanup_free char *q = es ? xasprintf("?signal=%s", es) : xstrdup("");
  return for_each(npos, pos, "POST", "/containers/%s/kill%s", q);
}

int cmd_pause(int argc, char **argv) {
  const struct flag flags[] = {{0}};
  PARSE("berth pause CONTAINER [CONTAINER...]", flags);
  if (!need_args("pause", "berth pause CONTAINER [CONTAINER...]", npos, 1, -1)) return 1;
  return for_each(npos, pos, "POST", "/containers/%s/pause%s", NULL);
}

int cmd_unpause(int argc, char **argv) {
  const struct flag flags[] = {{0}};
  PARSE("berth unpause CONTAINER [CONTAINER...]", flags);
  if (!need_args("unpause", "berth unpause CONTAINER [CONTAINER...]", npos, 1, -1)) return 1;
  return for_each(npos, pos, "POST", "/containers/%s/unpause%s", NULL);
}

int cmd_rm(int argc, char **argv) {
  bool force = false, volumes = false, link = false;
  const struct flag flags[] = {
      {"force", 'f', F_BOOL, &force, "Force the removal of a running container (uses SIGKILL)"},
      {"volumes", 'v', F_BOOL, &volumes, "Remove anonymous volumes associated with the container"},
      {"link", 'l', F_BOOL, &link, "Remove the specified link"},
      {0}};
  PARSE("berth rm [OPTIONS] CONTAINER [CONTAINER...]", flags);
  if (!need_args("rm", "berth rm [OPTIONS] CONTAINER [CONTAINER...]", npos, 1, -1)) return 1;
  char q[64];
  snprintf(q, sizeof q, "?force=%d&v=%d", force, volumes);
  return for_each(npos, pos, "DELETE", "/containers/%s%s", q);
}

int cmd_rename(int argc, char **argv) {
  const struct flag flags[] = {{0}};
  PARSE("berth rename CONTAINER NEW_NAME", flags);
  if (!need_args("rename", "berth rename CONTAINER NEW_NAME", npos, 2, 2)) return 1;
  cleanup_free char *e = esc(pos[0]);
  cleanup_free char *n = esc(pos[1]);
  cleanup_free char *p = xasprintf("/containers/%s/rename?name=%s", e, n);
  free(pos);
  return api_call("POST", p, NULL, NULL, NULL) < 0 ? 1 : 0;
}

int cmd_wait(int argc, char **argv) {
  const struct flag flags[] = {{0}};
  PARSE("berth wait CONTAINER [CONTAINER...]", flags);
  if (!need_args("wait", "berth wait CONTAINER [CONTAINER...]", npos, 1, -1)) return 1;
  int rc = 0;
  for (int i = 0; i < npos; i++) {
    cleanup_free char *e = esc(pos[i]);
    cleanup_free char *p = xasprintf("/containers/%s/wait", e);
    json_t *j = NULL;
    if (api_call("POST", p, NULL, &j, NULL) < 0) {
      rc = 1;
      continue;
    }
    printf("%lld\n", (long long)json_integer_value(json_object_get(j, "StatusCode")));
    fflush(stdout);
    json_decref(j);
  }
  free(pos);
  return rc;
}

/* ---------------- ps ---------------- */

/* s added to the list in *out, after sep unless it is the first */
static void list_add(char **out, const char *sep, const char *s) {
  char *joined = **out ? xasprintf("%s%s%s", *out, sep, s) : xstrdup(s);
  free(*out);
  *out = joined;
}

/* a host address as the docker CLI prints it beside a port: IPv6 in [] */
static const char *host_addr(const char *ip, char *buf, size_t len) {
  if (!ip || !*ip) return "0.0.0.0";
  if (!strchr(ip, ':')) return ip;
  snprintf(buf, len, "[%s]", ip);
  return buf;
}

static char *ports_string(json_t *ports) {
  size_t n = json_array_size(ports);
  char *out = xstrdup("");
  for (size_t i = 0; i < n; i++) {
    json_t *p = json_array_get(ports, i);
    const char *ip = json_string_value(json_object_get(p, "IP"));
    json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));
    json_int_t priv = json_integer_value(json_object_get(p, "PrivatePort"));
    const char *type = json_string_value(json_object_get(p, "Type")) ?: "tcp";
    char ab[64];
    char *one = pub ? xasprintf("%s:%lld->%lld/%s", host_addr(ip, ab, sizeof ab), (long long)pub,
                                (long long)priv, type)
                    : xasprintf("%lld/%s", (long long)priv, type);
    list_add(&out, ", ", one);
    free(one);
  }
  return out;
}

/* docker's Ellipsis: at most n display characters, the last one "…" */
static char *ellipsis(const char *s, size_t n) {
  size_t chars = 0, i = 0, cut = 0;
  for (; s[i]; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) {
      if (chars == n - 1) cut = i;
      chars++;
    }
  if (chars <= n) return xstrdup(s);
  return xasprintf("%.*s…", (int)cut, s);
}

/* docker's ps Mounts: each mount's volume name, or its source, joined by
 * "," (cut to 15 characters unless --no-trunc) */
static char *mount_names(json_t *mounts, bool no_trunc) {
  char *out = xstrdup("");
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    const char *name = json_string_value(json_object_get(m, "Name"));
    if (!name || !*name) name = json_string_value(json_object_get(m, "Source")) ?: "";
    cleanup_free char *n = no_trunc ? xstrdup(name) : ellipsis(name, 15);
    list_add(&out, ",", n);
  }
  return out;
}

/* docker's ps Networks: the names of the networks, joined by "," */
static char *joined_keys(json_t *obj) {
  char *out = xstrdup("");
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) list_add(&out, ",", k);
  return out;
}

/* the fields the template print_rows will render names; NULL: all of
 * them (json, or the whole row) */
static const char *named_fields(const char *format, const char *def) {
  bool table;
  const char *fmt = row_template(format, def, &table);
  return strstr(fmt, "json") || strstr(fmt, "{{.}}") || strstr(fmt, "{{ . }}") ? NULL : fmt;
}

static bool shows(const char *fields, const char *field) {
  return !fields || strstr(fields, field);
}

static void set_str(json_t *row, const char *k, const char *v) {
  json_object_set_new_nocheck(row, k, json_string(v ? v : ""));
}

/* One container of GET /containers/json as ps shows it; only the fields
 * named are made (named_fields; for 1,000 containers the rest was half of
 * ps). */
static json_t *ps_row(json_t *c, const char *fields, time_t now, bool no_trunc, bool size) {
  json_t *row = json_object();
  cleanup_free char *sid = short_id(json_string_value(json_object_get(c, "Id")), no_trunc);
  set_str(row, "ID", sid);
  if (shows(fields, "Image")) {
    const char *image = json_string_value(json_object_get(c, "Image")) ?: "";
    cleanup_free char *img =
        (!no_trunc && str_has_prefix(image, "sha256:")) ? short_id(image, false) : xstrdup(image);
    set_str(row, "Image", img);
  }
  if (shows(fields, "Command")) {
    const char *cmd = json_string_value(json_object_get(c, "Command")) ?: "";
    cleanup_free char *cmd_t = no_trunc ? xstrdup(cmd) : ellipsis(cmd, 20);
    cleanup_free char *cmd_q = xasprintf("\"%s\"", cmd_t);
    set_str(row, "Command", cmd_q);
  }
  json_int_t created = json_integer_value(json_object_get(c, "Created"));
  if (shows(fields, "RunningFor")) {
    char since[64];
    human_duration(now - created, since, sizeof since);
    strcat(since, " ago");
    set_str(row, "RunningFor", since);
  }
  if (shows(fields, "CreatedAt")) {
    char created_at[64];
    go_time_string((int64_t)created * 1000000000, created_at, sizeof created_at);
    set_str(row, "CreatedAt", created_at);
  }
  if (shows(fields, "Names")) {
    cleanup_free char *names = xstrdup("");
    size_t k;
    json_t *nm;
    json_array_foreach(json_object_get(c, "Names"), k, nm) {
      const char *s = json_string_value(nm);
      if (s[0] == '/') s++;
      if (!no_trunc && strchr(s, '/')) continue; /* link names */
      list_add(&names, ",", s);
    }
    set_str(row, "Names", names);
  }
  if (shows(fields, "Ports")) {
    cleanup_free char *ports = ports_string(json_object_get(c, "Ports"));
    set_str(row, "Ports", ports);
  }
  if (shows(fields, "Size")) {
    char sz[96] = "", rw[32], rootfs[32];
    if (size) {
      human_size((double)json_integer_value(json_object_get(c, "SizeRw")), rw, sizeof rw);
      human_size((double)json_integer_value(json_object_get(c, "SizeRootFs")), rootfs,
                 sizeof rootfs);
      snprintf(sz, sizeof sz, "%s (virtual %s)", rw, rootfs);
    }
    set_str(row, "Size", sz);
  }
  if (shows(fields, "Label")) /* .Labels, and .Label "key" */
    json_object_set_new_nocheck(row, "Labels", labels_joined(json_object_get(c, "Labels")));
  if (shows(fields, "State")) set_str(row, "State", json_string_value(json_object_get(c, "State")));
  if (shows(fields, "Status"))
    set_str(row, "Status", json_string_value(json_object_get(c, "Status")));
  if (shows(fields, "Mounts")) {
    cleanup_free char *mounts = mount_names(json_object_get(c, "Mounts"), no_trunc);
    set_str(row, "Mounts", mounts);
  }
  if (shows(fields, "Networks")) {
    cleanup_free char *nets =
        joined_keys(json_object_get(json_object_get(c, "NetworkSettings"), "Networks"));
    set_str(row, "Networks", nets);
  }
  return row;
}

/* the members of GET /containers/json that ps_row reads for these fields */
static void ps_keep(const char *fields, bool size, const char **keep) {
  static const struct {
    const char *field, *member;
  } from[] = {{"Names", "Names"},        {"Image", "Image"},       {"Command", "Command"},
              {"RunningFor", "Created"}, {"CreatedAt", "Created"}, {"Ports", "Ports"},
              {"Label", "Labels"}, /* .Labels and .Label "key" */
              {"State", "State"},        {"Status", "Status"},     {"Size", "SizeRw"},
              {"Size", "SizeRootFs"},    {"Mounts", "Mounts"},     {"Networks", "NetworkSettings"}};
  size_t n = 0;
  keep[n++] = "Id";
  for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
    if (!shows(fields, from[i].field) || (!size && !strcmp(from[i].field, "Size"))) continue;
    if (n > 1 && !strcmp(keep[n - 1], from[i].member)) continue; /* Created twice */
    keep[n++] = from[i].member;
  }
  keep[n] = NULL;
}

int cmd_ps(int argc, char **argv) {
  bool all = false, quiet = false, no_trunc = false, latest = false, size = false;
  long last = -1;
  const char *format = NULL;
  struct strlist filt = {0};
  const struct flag flags[] = {
      {"all", 'a', F_BOOL, &all, "Show all containers (default shows just running)"},
      {"quiet", 'q', F_BOOL, &quiet, "Only display container IDs"},
      {"no-trunc", 0, F_BOOL, &no_trunc, "Don't truncate output"},
      {"latest", 'l', F_BOOL, &latest, "Show the latest created container (includes all states)"},
      {"last", 'n', F_INT, &last, "Show n last created containers (includes all states)"},
      {"size", 's', F_BOOL, &size, "Display total file sizes"},
      {"filter", 'f', F_LIST, &filt, "Filter output based on conditions provided"},
      {"format", 0, F_STRING, &format, "Pretty-print containers using a Go template"},
      {0}};
  PARSE("berth ps [OPTIONS]", flags);
  free(pos);
  if (npos) {
    die_usage("berth ps [OPTIONS]", "\"berth ps\" accepts no arguments.");
    return 1;
  }
  json_t *filters = json_object();
  for (size_t i = 0; i < filt.n; i++) {
    if (!strchr(filt.v[i], '=')) {
      fprintf(stderr,
              "invalid argument \"%s\" for \"-f, --filter\" flag: bad format of filter (expected "
              "name=value)\n",
              filt.v[i]);
      json_decref(filters);
      return 125;
    }
    add_filter(filters, filt.v[i]);
  }
  free(filt.v);
  if (latest) last = 1;
  cleanup_free char *fq = query_filters(filters);
  json_decref(filters);
  cleanup_free char *path =
      xasprintf("/containers/json?all=%d&size=%d%s%s", all, size, fq, last > 0 ? "" : "");
  cleanup_free char *path2 = last > 0 ? xasprintf("%s&limit=%ld", path, last) : xstrdup(path);
  static const char *const headers[][2] = {{"ID", "CONTAINER ID"},    {"Image", "IMAGE"},
                                           {"Command", "COMMAND"},    {"CreatedAt", "CREATED AT"},
                                           {"RunningFor", "CREATED"}, {"Ports", "PORTS"},
                                           {"State", "STATE"},        {"Status", "STATUS"},
                                           {"Size", "SIZE"},          {"Names", "NAMES"},
                                           {"Labels", "LABELS"},      {"Mounts", "MOUNTS"},
                                           {"Networks", "NETWORKS"},  {NULL, NULL}};
  const char *def = size ? "table "
                           "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{."
                           "Ports}}\t{{.Names}}\t{{.Size}}"
                         : "table "
                           "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{."
                           "Ports}}\t{{.Names}}";
  const char *fields = named_fields(quiet ? "{{.ID}}" : format, def);
  const char *keep[20];
  ps_keep(fields, size, keep);
  json_t *list = NULL;
  json_arena_begin();
  if (api_get_list(path2, keep, &list) < 0) {
    json_arena_end();
    return 1;
  }
  json_t *rows = json_array();
  time_t now = time(NULL);
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c)
      json_array_append_new(rows, ps_row(c, fields, now, no_trunc, size));
  json_arena_end();
  print_rows(rows, quiet ? "{{.ID}}" : format, def, headers, false);
  FREE_AT_EXIT(json_decref(rows));
  FREE_AT_EXIT(json_decref(list));
  return 0;
}

/* ---------------- inspect ---------------- */

int cmd_inspect(int argc, char **argv) {
  const char *format = NULL, *type = NULL;
  bool size = false;
  const struct flag flags[] = {
      {"format", 'f', F_STRING, &format, "Format output using a custom template"},
      {"size", 's', F_BOOL, &size, "Display total file sizes if the type is container"},
      {"type", 0, F_STRING, &type, "Return JSON for specified type"},
      {0}};
  PARSE("berth inspect [OPTIONS] NAME|ID [NAME|ID...]", flags);
  if (!need_args("inspect", "berth inspect [OPTIONS] NAME|ID [NAME|ID...]", npos, 1, -1)) return 1;
  json_t *out = json_array();
  int rc = 0;
  for (int i = 0; i < npos; i++) {
    cleanup_free char *e = esc(pos[i]);
    const char *kinds[2] = {"containers", "images"};
    bool found = false;
    for (int k = 0; k < 2 && !found; k++) {
      if (type && ((k == 0 && strcmp(type, "container")) || (k == 1 && strcmp(type, "image"))))
        continue;
      cleanup_free char *p = xasprintf("/%s/%s/json%s", kinds[k], k == 0 ? e : pos[i],
                                       k == 0 && size ? "?size=1" : "");
      struct http_req req = {.method = "GET", .path = p, .upload_fd = -1};
      struct http_resp resp;
      if (http_do(&req, &resp) < 0) return 1;
      if (resp.status == 200) {
        json_array_append_new(out, json_loadb(resp.body, resp.len, 0, NULL));
        found = true;
      }
      http_resp_free(&resp);
    }
    if (!found) {
      fprintf(stderr, "Error: No such %s: %s\n", type ? type : "object", pos[i]);
      rc = 1;
    }
  }
  free(pos);
  print_inspect(out, format);
  json_decref(out);
  return rc;
}

static int cmd_container_inspect(int argc, char **argv) {
  const char *format = NULL;
  bool size = false;
  const struct flag flags[] = {
      {"format", 'f', F_STRING, &format, "Format output using a custom template"},
      {"size", 's', F_BOOL, &size, "Display total file sizes"},
      {0}};
  PARSE("berth container inspect [OPTIONS] CONTAINER [CONTAINER...]", flags);
  if (!need_args("container inspect", "berth container inspect [OPTIONS] CONTAINER [CONTAINER...]",
                 npos, 1, -1))
    return 1;
  json_t *out = json_array();
  int rc = 0;
  for (int i = 0; i < npos; i++) {
    cleanup_free char *e = esc(pos[i]);
    cleanup_free char *p = xasprintf("/containers/%s/json%s", e, size ? "?size=1" : "");
    json_t *j = NULL;
    struct http_req req = {.method = "GET", .path = p, .upload_fd = -1};
    struct http_resp resp;
    if (http_do(&req, &resp) < 0) return 1;
    if (resp.status == 200)
      j = json_loadb(resp.body, resp.len, 0, NULL);
    else {
      fprintf(stderr, "Error: No such container: %s\n", pos[i]);
      rc = 1;
    }
    http_resp_free(&resp);
    if (j) json_array_append_new(out, j);
  }
  free(pos);
  print_inspect(out, format);
  json_decref(out);
  return rc;
}

/* ---------------- top, port, update ---------------- */

int cmd_top(int argc, char **argv) {
  const struct flag flags[] = {{0}};
  flags_stop_at_positional = true;
  PARSE("berth top CONTAINER [ps OPTIONS]", flags);
  if (!need_args("top", "berth top CONTAINER [ps OPTIONS]", npos, 1, -1)) return 1;
  cleanup_free char *e = esc(pos[0]);
  char *args = xstrdup("");
  for (int i = 1; i < npos; i++) {
    char *j = *args ? xasprintf("%s %s", args, pos[i]) : xstrdup(pos[i]);
    free(args);
    args = j;
  }
  cleanup_free char *ea = esc(args);
  free(args);
  cleanup_free char *p = npos > 1 ? xasprintf("/containers/%s/top?ps_args=%s", e, ea)
                                  : xasprintf("/containers/%s/top", e);
  free(pos);
  json_t *j = NULL;
  if (api_call("GET", p, NULL, &j, NULL) < 0) return 1;
  json_t *titles = json_object_get(j, "Titles"), *procs = json_object_get(j, "Processes");
  /* docker prints through tabwriter(minwidth 20, padding 3) */
  size_t nt = json_array_size(titles);
  size_t *w = xcalloc(nt ? nt : 1, sizeof *w);
  for (size_t c = 0; c < nt; c++)
    w[c] = strlen(json_string_value(json_array_get(titles, c)));
  size_t r;
  json_t *row;
  json_array_foreach(procs, r, row) for (size_t c = 0; c < nt; c++) {
    size_t l = strlen(json_string_value(json_array_get(row, c)) ?: "");
    if (l > w[c]) w[c] = l;
  }
  for (size_t c = 0; c < nt; c++)
    w[c] = w[c] + 3 < 20 ? 20 : w[c] + 3;
  for (size_t c = 0; c < nt; c++) {
    const char *t = json_string_value(json_array_get(titles, c));
    if (c + 1 < nt)
      printf("%-*s", (int)w[c], t);
    else
      printf("%s\n", t);
  }
  json_array_foreach(procs, r, row) for (size_t c = 0; c < nt; c++) {
    const char *t = json_string_value(json_array_get(row, c)) ?: "";
    if (c + 1 < nt)
      printf("%-*s", (int)w[c], t);
    else
      printf("%s\n", t);
  }
  free(w);
  json_decref(j);
  return 0;
}

int cmd_commit(int argc, char **argv) {
  const char *author = NULL, *message = NULL;
  bool pause = true;
  struct strlist changes = {0};
  const struct flag flags[] = {
      {"author", 'a', F_STRING, &author,
       "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")"},
      {"change", 'c', F_LIST, &changes, "Apply Dockerfile instruction to the created image"},
      {"message", 'm', F_STRING, &message, "Commit message"},
      {"pause", 'p', F_BOOL, &pause, "Pause container during commit (default true)"},
      {0}};
  PARSE("berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", flags);
  if (!need_args("commit", "berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", npos, 1, 2))
    return 1;
  cleanup_free char *e = esc(pos[0]);
  cleanup_free char *q = xasprintf("/commit?container=%s&pause=%d", e, pause);
  if (npos == 2) { /* repo[:tag]: the tag after the last ':' that follows the last '/' */
    cleanup_free char *repo = xstrdup(pos[1]);
    char *colon = strrchr(repo, ':');
    if (colon && strchr(colon, '/')) colon = NULL;
    if (colon) *colon++ = 0;
    cleanup_free char *er = esc(repo);
    cleanup_free char *et = colon ? esc(colon) : xstrdup("");
    char *t = xasprintf("%s&repo=%s&tag=%s", q, er, et);
    free(q), q = t;
  }
  const char *kv[][2] = {{"author", author}, {"comment", message}};
  for (size_t i = 0; i < 2; i++)
    if (kv[i][1]) {
      cleanup_free char *ev = esc(kv[i][1]);
      char *t = xasprintf("%s&%s=%s", q, kv[i][0], ev);
      free(q), q = t;
    }
  for (size_t i = 0; i < changes.n; i++) {
    cleanup_free char *ev = esc(changes.v[i]);
    char *t = xasprintf("%s&changes=%s", q, ev);
    free(q), q = t;
  }
  free(pos);
  json_t *out = NULL;
  if (api_call("POST", q, NULL, &out, NULL) < 0) return 1;
  printf("%s\n", json_string_value(json_object_get(out, "Id")) ?: "");
  json_decref(out);
  return 0;
}

int cmd_export(int argc, char **argv) {
  const char *output = NULL;
  const struct flag flags[] = {
      {"output", 'o', F_STRING, &output, "Write to a file, instead of STDOUT"}, {0}};
  PARSE("berth export [OPTIONS] CONTAINER", flags);
  if (!need_args("export", "berth export [OPTIONS] CONTAINER", npos, 1, 1)) return 1;
  if (!output && isatty(1)) {
    fprintf(stderr, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
    free(pos);
    return 1;
  }
  cleanup_free char *e = esc(pos[0]);
  cleanup_free char *p = xasprintf("/containers/%s/export", e);
  free(pos);
  return download_to(p, output, "export container");
}

int cmd_diff(int argc, char **argv) {
  const struct flag flags[] = {{0}};
  PARSE("berth diff CONTAINER", flags);
  if (!need_args("diff", "berth diff CONTAINER", npos, 1, 1)) return 1;
  cleanup_free char *e = esc(pos[0]);
  cleanup_free char *p = xasprintf("/containers/%s/changes", e);
  free(pos);
  json_t *j = NULL;
  if (api_call("GET", p, NULL, &j, NULL) < 0) return 1;
  size_t i;
  json_t *c;
  json_array_foreach(j, i, c) {
    json_int_t k = json_integer_value(json_object_get(c, "Kind"));
    printf("%c %s\n",
           k == 1   ? 'A'
           : k == 2 ? 'D'
                    : 'C',
           json_string_value(json_object_get(c, "Path")) ?: "");
  }
  json_decref(j);
  return 0;
}

int cmd_port(int argc, char **argv) {
  const struct flag flags[] = {{0}};
  PARSE("berth port CONTAINER [PRIVATE_PORT[/PROTO]]", flags);
  if (!need_args("port", "berth port CONTAINER [PRIVATE_PORT[/PROTO]]", npos, 1, 2)) return 1;
  cleanup_free char *e = esc(pos[0]);
  cleanup_free char *p = xasprintf("/containers/%s/json", e);
  json_t *j = NULL;
  if (api_call("GET", p, NULL, &j, NULL) < 0) {
    free(pos);
    return 1;
  }
  json_t *ports = json_object_get(json_object_get(j, "NetworkSettings"), "Ports");
  if (!json_object_size(ports))
    ports = json_object_get(json_object_get(j, "HostConfig"), "PortBindings");
  cleanup_free char *want =
      npos == 2 ? (strchr(pos[1], '/') ? xstrdup(pos[1]) : xasprintf("%s/tcp", pos[1])) : NULL;
  const char *k;
  json_t *v;
  int rc = 0;
  bool found = false;
  json_object_foreach(ports, k, v) {
    if (want && strcmp(want, k)) continue;
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b) {
      char ab[64];
      const char *ip = host_addr(json_string_value(json_object_get(b, "HostIp")), ab, sizeof ab);
      const char *hp = json_string_value(json_object_get(b, "HostPort"));
      if (want)
        printf("%s:%s\n", ip, hp ? hp : "");
      else
        printf("%s -> %s:%s\n", k, ip, hp ? hp : "");
      found = true;
    }
  }
  if (want && !found) {
    fprintf(stderr, "Error: No public port '%s' published for %s\n", want, pos[0]);
    rc = 1;
  }
  free(pos);
  json_decref(j);
  return rc;
}

int cmd_update(int argc, char **argv) {
  const char *memory = NULL, *swap = NULL, *cpus = NULL, *cpuset = NULL, *restart = NULL;
  const char *reservation = NULL, *mems = NULL;
  long shares = 0, pids = 0, weight = 0;
  const struct flag flags[] = {
      {"memory", 'm', F_STRING, &memory, "Memory limit"},
      {"memory-swap", 0, F_STRING, &swap, "Swap limit equal to memory plus swap"},
      {"cpus", 0, F_STRING, &cpus, "Number of CPUs"},
      {"cpu-shares", 'c', F_INT, &shares, "CPU shares (relative weight)"},
      {"cpuset-cpus", 0, F_STRING, &cpuset, "CPUs in which to allow execution (0-3, 0,1)"},
      {"pids-limit", 0, F_INT, &pids, "Tune container pids limit (set -1 for unlimited)"},
      {"memory-reservation", 0, F_STRING, &reservation, "Memory soft limit"},
      {"cpuset-mems", 0, F_STRING, &mems, "MEMs in which to allow execution (0-3, 0,1)"},
      {"blkio-weight", 0, F_INT, &weight,
       "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)"},
      {"restart", 0, F_STRING, &restart, "Restart policy to apply when a container exits"},
      {0}};
  PARSE("berth update [OPTIONS] CONTAINER [CONTAINER...]", flags);
  if (!need_args("update", "berth update [OPTIONS] CONTAINER [CONTAINER...]", npos, 1, -1))
    return 1;
  json_t *body = json_object();
  if (memory) json_object_set_new(body, "Memory", json_integer(parse_bytes(memory)));
  if (swap)
    json_object_set_new(body, "MemorySwap",
                        json_integer(!strcmp(swap, "-1") ? -1 : parse_bytes(swap)));
  if (cpus)
    json_object_set_new(body, "NanoCpus",
                        json_integer((json_int_t)(strtod(cpus, NULL) * 1e9 + 0.5)));
  if (shares) json_object_set_new(body, "CpuShares", json_integer(shares));
  if (cpuset) json_object_set_new(body, "CpusetCpus", json_string(cpuset));
  if (pids) json_object_set_new(body, "PidsLimit", json_integer(pids));
  if (reservation)
    json_object_set_new(body, "MemoryReservation", json_integer(parse_bytes(reservation)));
  if (mems) json_object_set_new(body, "CpusetMems", json_string(mems));
  if (weight) json_object_set_new(body, "BlkioWeight", json_integer(weight));
  if (restart) {
    cleanup_free char *rn = xstrdup(restart);
    char *colon = strchr(rn, ':');
    long n = 0;
    if (colon) {
      *colon = 0;
      n = strtol(colon + 1, NULL, 10);
    }
    json_object_set_new(body, "RestartPolicy",
                        json_pack("{s:s,s:I}", "Name", rn, "MaximumRetryCount", (json_int_t)n));
  }
  int rc = 0;
  for (int i = 0; i < npos; i++) {
    cleanup_free char *e = esc(pos[i]);
    cleanup_free char *p = xasprintf("/containers/%s/update", e);
    json_t *resp = NULL;
    if (api_call("POST", p, body, &resp, NULL) < 0) {
      rc = 1;
      continue;
    }
    size_t k;
    json_t *w;
    json_array_foreach(json_object_get(resp, "Warnings"), k, w)
        fprintf(stderr, "%s\n", json_string_value(w) ?: "");
    json_decref(resp);
    printf("%s\n", pos[i]);
  }
  json_decref(body);
  free(pos);
  return rc;
}

/* ---------------- logs ---------------- */

struct logs_sink {
  struct http_resp *resp;
  bool checked, mux;
  unsigned char hdr[8];
  size_t hdr_got;
  uint32_t left;
  int fd;            /* -1: a daemon error frame (stream 3), kept in syserr */
  char syserr[1024]; /* what the daemon said went wrong mid-stream */
};

static int logs_write(const char *data, size_t len, void *ctx) {
  struct logs_sink *s = ctx;
  if (!s->checked) {
    s->mux = s->resp->content_type && strstr(s->resp->content_type, "multiplexed");
    s->checked = true;
  }
  if (!s->mux) return write_all_fd(1, data, len) < 0 ? -1 : 0;
  while (len) {
    if (!s->left) {
      size_t take = 8 - s->hdr_got < len ? 8 - s->hdr_got : len;
      memcpy(s->hdr + s->hdr_got, data, take);
      s->hdr_got += take;
      data += take;
      len -= take;
      if (s->hdr_got < 8) return 0;
      s->hdr_got = 0;
      s->left = (uint32_t)s->hdr[4] << 24 | (uint32_t)s->hdr[5] << 16 | (uint32_t)s->hdr[6] << 8 |
                s->hdr[7];
      s->fd = s->hdr[0] == 3 ? -1 : s->hdr[0] == 2 ? 2 : 1;
      continue;
    }
    size_t take = s->left < len ? s->left : len;
    if (s->fd < 0) {
      size_t have = strlen(s->syserr), room = sizeof s->syserr - 1 - have;
      memcpy(s->syserr + have, data, take < room ? take : room);
    } else if (write_all_fd(s->fd, data, take) < 0) {
      return -1;
    }
    s->left -= (uint32_t)take;
    data += take;
    len -= take;
  }
  return 0;
}

int cmd_logs(int argc, char **argv) {
  bool follow = false, ts = false, details = false;
  const char *tail = NULL, *since = NULL, *until = NULL;
  const struct flag flags[] = {
      {"follow", 'f', F_BOOL, &follow, "Follow log output"},
      {"timestamps", 't', F_BOOL, &ts, "Show timestamps"},
      {"tail", 'n', F_STRING, &tail,
       "Number of lines to show from the end of the logs (default \"all\")"},
      {"since", 0, F_STRING, &since,
       "Show logs since timestamp or relative (e.g. 42m for 42 minutes)"},
      {"until", 0, F_STRING, &until,
       "Show logs before a timestamp or relative (e.g. 42m for 42 minutes)"},
      {"details", 0, F_BOOL, &details, "Show extra details provided to logs"},
      {0}};
  PARSE("berth logs [OPTIONS] CONTAINER", flags);
  if (!need_args("logs", "berth logs [OPTIONS] CONTAINER", npos, 1, 1)) return 1;
  cleanup_free char *e = esc(pos[0]);
  free(pos);
  cleanup_free char *s = timestamp_arg(since);
  cleanup_free char *u = timestamp_arg(until);
  if ((since && !s) || (until && !u)) {
    fprintf(stderr, "invalid value for \"%s\": %s\n", since && !s ? "since" : "until",
            since && !s ? since : until);
    return 1;
  }
  cleanup_free char *et = esc(tail ? tail : "all");
  cleanup_free char *p = xasprintf(
      "/containers/%s/logs?stdout=1&stderr=1&follow=%d&timestamps=%d&details=%d&tail=%s%s%s%s%s", e,
      follow, ts, details, et, s ? "&since=" : "", s ? s : "", u ? "&until=" : "", u ? u : "");
  struct http_resp resp;
  struct logs_sink ls = {.resp = &resp, .fd = 1};
  struct http_req req = {
      .method = "GET", .path = p, .upload_fd = -1, .sink = logs_write, .sink_ctx = &ls};
  if (http_do(&req, &resp) < 0) return 1;
  int rc = 0;
  if (resp.status >= 400) {
    char *m = resp_error_message(&resp);
    fprintf(stderr, "Error response from daemon: %s\n", m);
    free(m);
    rc = 1;
  } else if (ls.syserr[0]) {
    fprintf(stderr, "error from daemon in stream: %s\n", ls.syserr);
    rc = 1;
  }
  http_resp_free(&resp);
  return rc;
}

/* ---------------- attach, exec ---------------- */

int cmd_attach(int argc, char **argv) {
  bool no_stdin = false, sig_proxy = true;
  const char *detach_keys = NULL;
  const struct flag flags[] = {{"no-stdin", 0, F_BOOL, &no_stdin, "Do not attach STDIN"},
                               {"sig-proxy", 0, F_BOOL, &sig_proxy,
                                "Proxy all received signals to the process (default true)"},
                               {"detach-keys", 0, F_STRING, &detach_keys,
                                "Override the key sequence for detaching a container"},
                               {0}};
  PARSE("berth attach [OPTIONS] CONTAINER", flags);
  if (!need_args("attach", "berth attach [OPTIONS] CONTAINER", npos, 1, 1)) return 1;
  cleanup_free char *e = esc(pos[0]);
  free(pos);
  cleanup_free char *ip = xasprintf("/containers/%s/json", e);
  json_t *info = NULL;
  if (api_call("GET", ip, NULL, &info, NULL) < 0) return 1;
  json_t *cfg = json_object_get(info, "Config"), *state = json_object_get(info, "State");
  bool tty = json_is_true(json_object_get(cfg, "Tty"));
  bool open_stdin = json_is_true(json_object_get(cfg, "OpenStdin")) && !no_stdin;
  cleanup_free char *id = xstrdup(json_string_value(json_object_get(info, "Id")));
  if (!json_is_true(json_object_get(state, "Running"))) {
    fprintf(stderr, "You cannot attach to a stopped container, start it first\n");
    json_decref(info);
    return 1;
  }
  if (json_is_true(json_object_get(state, "Paused"))) {
    fprintf(stderr, "You cannot attach to a paused container, unpause it first\n");
    json_decref(info);
    return 1;
  }
  json_decref(info);
  if (tty && open_stdin && !isatty(0)) {
    fprintf(stderr, "the input device is not a TTY\n");
    return 1;
  }
  int afd = raw_connect();
  cleanup_free char *dk = detach_keys ? esc(detach_keys) : NULL;
  cleanup_free char *apath =
      xasprintf("/containers/%s/attach?stream=1&stdin=%d&stdout=1&stderr=1%s%s", id, open_stdin,
                dk ? "&detachKeys=" : "", dk ? dk : "");
  if (afd < 0) return 1;
  int st = raw_request(afd, "POST", apath, NULL, true);
  if (st != 101 && st != 200) {
    size_t n;
    char *b = raw_read_body(afd, &n);
    json_t *j = json_loadb(b, n, 0, NULL);
    fprintf(stderr, "Error response from daemon: %s\n",
            json_string_value(json_object_get(j, "message")) ?: b);
    json_decref(j);
    free(b);
    return 1;
  }
  /* the container's status is the exit code, as with docker attach */
  int wfd = raw_connect();
  cleanup_free char *wpath = xasprintf("/containers/%s/wait?condition=not-running", id);
  if (wfd < 0 || raw_request(wfd, "POST", wpath, NULL, false) != 200) return 1;
  cleanup_free char *rpath = xasprintf("/containers/%s/resize", id);
  cleanup_free char *kpath = xasprintf("/containers/%s/kill", id);
  if (tty) send_resize(rpath);
  struct stream_opts so = {.tty = tty,
                           .send_stdin = open_stdin,
                           .detach_keys = detach_keys,
                           .resize_path = rpath,
                           .kill_path = sig_proxy ? kpath : NULL};
  int r = stream_hijacked(afd, &so);
  close(afd);
  if (r == 1) {
    close(wfd);
    fprintf(stderr, "read escape sequence\n");
    return 0;
  }
  int rc = read_wait_status(wfd);
  close(wfd);
  return rc;
}

int cmd_exec(int argc, char **argv) {
  bool detach = false, interactive = false, tty = false, privileged = false;
  const char *workdir = NULL, *user = NULL, *detach_keys = NULL;
  struct strlist env = {0}, env_file = {0};
  const struct flag flags[] = {
      {"detach", 'd', F_BOOL, &detach, "Detached mode: run command in the background"},
      {"interactive", 'i', F_BOOL, &interactive, "Keep STDIN open even if not attached"},
      {"tty", 't', F_BOOL, &tty, "Allocate a pseudo-TTY"},
      {"env", 'e', F_LIST, &env, "Set environment variables"},
      {"env-file", 0, F_LIST, &env_file, "Read in a file of environment variables"},
      {"workdir", 'w', F_STRING, &workdir, "Working directory inside the container"},
      {"user", 'u', F_STRING, &user, "Username or UID (format: <name|uid>[:<group|gid>])"},
      {"privileged", 0, F_BOOL, &privileged, "Give extended privileges to the command"},
      {"detach-keys", 0, F_STRING, &detach_keys,
       "Override the key sequence for detaching a container"},
      {0}};
  flags_stop_at_positional = true;
  PARSE("berth exec [OPTIONS] CONTAINER COMMAND [ARG...]", flags);
  if (!need_args("exec", "berth exec [OPTIONS] CONTAINER COMMAND [ARG...]", npos, 2, -1)) return 1;
  if (tty && interactive && !detach && !isatty(0)) {
    fprintf(stderr, "the input device is not a TTY\n");
    return 1;
  }
  json_t *envj = str_array(&env);
  for (size_t i = 0; i < env_file.n; i++)
    if (read_env_file(env_file.v[i], envj) < 0) return 1;
  free(env.v);
  free(env_file.v);
  json_t *cmd = json_array();
  for (int i = 1; i < npos; i++)
    json_array_append_new(cmd, json_string(pos[i]));
  json_t *body = json_pack("{s:b,s:b,s:b,s:b,s:o,s:o,s:b,s:s,s:s}", "AttachStdin",
                           interactive && !detach, "AttachStdout", !detach, "AttachStderr", !detach,
                           "Tty", tty, "Cmd", cmd, "Env", envj, "Privileged", privileged,
                           "WorkingDir", workdir ? workdir : "", "User", user ? user : "");
  if (detach_keys) json_object_set_new(body, "DetachKeys", json_string(detach_keys));
  cleanup_free char *e = esc(pos[0]);
  free(pos);
  cleanup_free char *cp = xasprintf("/containers/%s/exec", e);
  json_t *created = NULL;
  int r = api_call("POST", cp, body, &created, NULL);
  json_decref(body);
  if (r < 0) return 1; /* docker's exit for a refused exec (paused, not running) */
  cleanup_free char *eid = xstrdup(json_string_value(json_object_get(created, "Id")) ?: "");
  json_decref(created);
  cleanup_free char *sp = xasprintf("/exec/%s/start", eid);
  json_t *sb = json_pack("{s:b,s:b}", "Detach", detach, "Tty", tty);
  if (detach) {
    r = api_call("POST", sp, sb, NULL, NULL);
    json_decref(sb);
    return r < 0 ? 1 : 0;
  }
  int fd = raw_connect();
  if (fd < 0) {
    json_decref(sb);
    return 1;
  }
  int st = raw_request(fd, "POST", sp, sb, true);
  json_decref(sb);
  if (st != 101 && st != 200) {
    size_t n;
    char *b = raw_read_body(fd, &n);
    json_t *j = json_loadb(b, n, 0, NULL);
    fprintf(stderr, "Error response from daemon: %s\n",
            json_string_value(json_object_get(j, "message")) ?: b);
    json_decref(j);
    free(b);
    close(fd);
    return 126;
  }
  cleanup_free char *rpath = xasprintf("/exec/%s/resize", eid);
  if (tty) send_resize(rpath);
  struct stream_opts so = {
      .tty = tty, .send_stdin = interactive, .detach_keys = detach_keys, .resize_path = rpath};
  int sr = stream_hijacked(fd, &so);
  close(fd);
  if (sr == 1) return 0;
  cleanup_free char *ip = xasprintf("/exec/%s/json", eid);
  json_t *info = NULL;
  if (api_call("GET", ip, NULL, &info, NULL) < 0) return 1;
  int rc = (int)json_integer_value(json_object_get(info, "ExitCode"));
  json_decref(info);
  return rc;
}

/* ---------------- stats ---------------- */

struct stat_sample {
  char *id, *name;
  json_t *prev; /* previous sample, for streaming deltas */
  json_t *cur;
};

static double cpu_percent(json_t *s, json_t *prev) {
  json_t *cs = json_object_get(s, "cpu_stats"),
         *pcs = prev ? json_object_get(prev, "cpu_stats") : json_object_get(s, "precpu_stats");
  double total =
      (double)json_integer_value(json_object_get(json_object_get(cs, "cpu_usage"), "total_usage"));
  double ptotal =
      (double)json_integer_value(json_object_get(json_object_get(pcs, "cpu_usage"), "total_usage"));
  double sys = (double)json_integer_value(json_object_get(cs, "system_cpu_usage"));
  double psys = (double)json_integer_value(json_object_get(pcs, "system_cpu_usage"));
  double ncpu = (double)json_integer_value(json_object_get(cs, "online_cpus"));
  if (ncpu == 0)
    ncpu =
        (double)json_array_size(json_object_get(json_object_get(cs, "cpu_usage"), "percpu_usage"));
  if (ncpu == 0) ncpu = 1;
  if (sys - psys <= 0 || total - ptotal < 0 || ptotal == 0) return 0;
  return (total - ptotal) / (sys - psys) * ncpu * 100.0;
}

static json_t *stats_row(struct stat_sample *s, bool no_trunc) {
  json_t *j = s->cur;
  json_t *mem = json_object_get(j, "memory_stats");
  double usage = (double)json_integer_value(json_object_get(mem, "usage"));
  json_t *ms = json_object_get(mem, "stats");
  /* docker subtracts the page cache (v1: total_inactive_file, v2: inactive_file) */
  json_t *inact = json_object_get(ms, "total_inactive_file");
  if (!inact) inact = json_object_get(ms, "inactive_file");
  if (inact && (double)json_integer_value(inact) < usage)
    usage -= (double)json_integer_value(inact);
  double limit = (double)json_integer_value(json_object_get(mem, "limit"));
  char cpu[32], memu[96], memp[32], net[64] = "0B / 0B", blk[64] = "0B / 0B", pids[32];
  snprintf(cpu, sizeof cpu, "%.2f%%", cpu_percent(j, s->prev));
  char u[32], l[32];
  human_size(usage, u, sizeof u);
  human_size(limit, l, sizeof l);
  /* docker's stats use binary units (KiB, MiB, GiB) */
  char ub[32], lb[32];
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double a = usage, b = limit;
  int ia = 0, ib = 0;
  while (a >= 1024 && ia < 6)
    a /= 1024, ia++;
  while (b >= 1024 && ib < 6)
    b /= 1024, ib++;
  snprintf(ub, sizeof ub, ia ? "%.4g%s" : "%.0f%s", a, units[ia]);
  snprintf(lb, sizeof lb, ib ? "%.4g%s" : "%.0f%s", b, units[ib]);
  (void)u;
  (void)l;
  snprintf(memu, sizeof memu, "%s / %s", ub, lb);
  snprintf(memp, sizeof memp, "%.2f%%", limit > 0 ? usage / limit * 100 : 0);
  json_t *netw = json_object_get(j, "networks");
  if (json_object_size(netw)) {
    double rx = 0, tx = 0;
    const char *k;
    json_t *v;
    json_object_foreach(netw, k, v) {
      rx += (double)json_integer_value(json_object_get(v, "rx_bytes"));
      tx += (double)json_integer_value(json_object_get(v, "tx_bytes"));
    }
    char r1[32], t1[32];
    human_size(rx, r1, sizeof r1);
    human_size(tx, t1, sizeof t1);
    snprintf(net, sizeof net, "%s / %s", r1, t1);
  }
  json_t *bio = json_object_get(json_object_get(j, "blkio_stats"), "io_service_bytes_recursive");
  if (json_array_size(bio)) {
    double rd = 0, wr = 0;
    size_t i;
    json_t *e;
    json_array_foreach(bio, i, e) {
      const char *op = json_string_value(json_object_get(e, "op")) ?: "";
      if (!strcasecmp(op, "read")) rd += (double)json_integer_value(json_object_get(e, "value"));
      if (!strcasecmp(op, "write")) wr += (double)json_integer_value(json_object_get(e, "value"));
    }
    char r1[32], w1[32];
    human_size(rd, r1, sizeof r1);
    human_size(wr, w1, sizeof w1);
    snprintf(blk, sizeof blk, "%s / %s", r1, w1);
  }
  snprintf(
      pids, sizeof pids, "%lld",
      (long long)json_integer_value(json_object_get(json_object_get(j, "pids_stats"), "current")));
  cleanup_free char *sid = short_id(s->id, no_trunc);
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", sid, "Container", sid, "Name",
                   s->name, "CPUPerc", cpu, "MemUsage", memu, "MemPerc", memp, "NetIO", net,
                   "BlockIO", blk, "PIDs", pids);
}

int cmd_stats(int argc, char **argv) {
  bool all = false, no_stream = false, no_trunc = false;
  const char *format = NULL;
  const struct flag flags[] = {
      {"all", 'a', F_BOOL, &all, "Show all containers (default shows just running)"},
      {"no-stream", 0, F_BOOL, &no_stream,
       "Disable streaming stats and only pull the first result"},
      {"no-trunc", 0, F_BOOL, &no_trunc, "Do not truncate output"},
      {"format", 0, F_STRING, &format, "Pretty-print images using a Go template"},
      {0}};
  PARSE("berth stats [OPTIONS] [CONTAINER...]", flags);
  size_t n = 0;
  struct stat_sample *ss = NULL;
  int rc = 0;
  if (npos) {
    ss = xcalloc((size_t)npos, sizeof *ss);
    for (int i = 0; i < npos; i++) {
      cleanup_free char *e = esc(pos[i]);
      cleanup_free char *p = xasprintf("/containers/%s/json", e);
      json_t *j = NULL;
      if (api_call("GET", p, NULL, &j, NULL) < 0) {
        rc = 1;
        continue;
      }
      const char *nm = json_string_value(json_object_get(j, "Name")) ?: "";
      ss[n].id = xstrdup(json_string_value(json_object_get(j, "Id")));
      ss[n++].name = xstrdup(nm[0] == '/' ? nm + 1 : nm);
      json_decref(j);
    }
  } else {
    json_t *list = NULL;
    cleanup_free char *p = xasprintf("/containers/json?all=%d", all);
    if (api_call("GET", p, NULL, &list, NULL) < 0) return 1;
    ss = xcalloc(json_array_size(list) + 1, sizeof *ss);
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
      const char *nm = json_string_value(json_array_get(json_object_get(c, "Names"), 0)) ?: "";
      ss[n].id = xstrdup(json_string_value(json_object_get(c, "Id")));
      ss[n++].name = xstrdup(nm[0] == '/' ? nm + 1 : nm);
    }
    json_decref(list);
  }
  free(pos);
  if (rc) no_stream = true;
  static const char *const headers[][2] = {{"ID", "CONTAINER ID"},
                                           {"Container", "CONTAINER"},
                                           {"Name", "NAME"},
                                           {"CPUPerc", "CPU %"},
                                           {"MemUsage", "MEM USAGE / LIMIT"},
                                           {"MemPerc", "MEM %"},
                                           {"NetIO", "NET I/O"},
                                           {"BlockIO", "BLOCK I/O"},
                                           {"PIDs", "PIDS"},
                                           {NULL, NULL}};
  const char *def = "table "
                    "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{."
                    "BlockIO}}\t{{.PIDs}}";
  for (int round = 0;; round++) {
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
      /* the first (or only) sample: the daemon measures precpu itself;
       * later ones: deltas against our previous sample */
      cleanup_free char *p =
          xasprintf("/containers/%s/stats?stream=0%s", ss[i].id, round ? "&one-shot=1" : "");
      json_t *j = NULL;
      struct http_req req = {.method = "GET", .path = p, .upload_fd = -1};
      struct http_resp resp;
      if (http_do(&req, &resp) < 0) return 1;
      if (resp.status == 200) j = json_loadb(resp.body, resp.len, 0, NULL);
      http_resp_free(&resp);
      if (!j) continue;
      json_decref(ss[i].prev);
      ss[i].prev = round ? ss[i].cur : NULL;
      if (!round) json_decref(ss[i].cur);
      ss[i].cur = j;
      json_array_append_new(rows, stats_row(&ss[i], no_trunc));
    }
    if (!no_stream) printf("\033[2J\033[H");
    print_rows(rows, format, def, headers, false);
    fflush(stdout);
    json_decref(rows);
    if (no_stream) break;
    sleep(1);
  }
  for (size_t i = 0; i < n; i++) {
    free(ss[i].id);
    free(ss[i].name);
    json_decref(ss[i].prev);
    json_decref(ss[i].cur);
  }
  free(ss);
  return rc;
}

/* ---------------- `berth container SUBCOMMAND` ---------------- */

int cmd_container(int argc, char **argv) {
  static const struct command sub[] = {
      {"create", cmd_create, NULL},
      {"run", cmd_run, NULL},
      {"start", cmd_start, NULL},
      {"ls", cmd_ps, NULL},
      {"list", cmd_ps, NULL},
      {"ps", cmd_ps, NULL},
      {"stop", cmd_stop, NULL},
      {"kill", cmd_kill, NULL},
      {"restart", cmd_restart, NULL},
      {"pause", cmd_pause, NULL},
      {"unpause", cmd_unpause, NULL},
      {"rm", cmd_rm, NULL},
      {"remove", cmd_rm, NULL},
      {"rename", cmd_rename, NULL},
      {"wait", cmd_wait, NULL},
      {"top", cmd_top, NULL},
      {"stats", cmd_stats, NULL},
      {"update", cmd_update, NULL},
      {"port", cmd_port, NULL},
      {"diff", cmd_diff, NULL},
      {"commit", cmd_commit, NULL},
      {"export", cmd_export, NULL},
      {"cp", cmd_cp, NULL},
      {"prune", cmd_container_prune, "Remove all stopped containers"},
      {"logs", cmd_logs, NULL},
      {"attach", cmd_attach, NULL},
      {"exec", cmd_exec, NULL},
      {"inspect", cmd_container_inspect, "Display detailed information on one or more containers"},
  };
  return run_subcommand("container", sub, ARRAY_SIZE(sub), NULL, argc, argv);
}
