/* The container table, records on disk, names, lookups and JSON views. */
#include "container.h"
#include "netctr.h"

#include <ctype.h>
#include <signal.h>
#include <sys/stat.h>

#include "../daemon.h"
#include "../driver.h"
#include "../events/events.h"
#include "../runtime/cgroup.h"
#include "../runtime/runtime.h"
#include "../shim/client.h"
#include "../shim/launch.h"
#include "config.h"
#include "exec.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static struct container **table;
static size_t n_table;

void ctr_lock(void) {
  pthread_mutex_lock(&lock);
}
void ctr_unlock(void) {
  pthread_mutex_unlock(&lock);
}
void ctr_broadcast(void) {
  pthread_cond_broadcast(&cond);
}

volatile bool ctr_stopping;

void ctr_shutdown(void) {
  ctr_lock();
  ctr_stopping = true;
  ctr_broadcast();
  ctr_unlock();
  shim_spare_stop();
}

bool ctr_wait(int timeout_ms) {
  if (timeout_ms < 0) {
    pthread_cond_wait(&cond, &lock);
    return true;
  }
  struct timespec ts = deadline_after_ms(CLOCK_MONOTONIC, timeout_ms);
  return pthread_cond_timedwait(&cond, &lock, &ts) == 0;
}

char *ctr_dir(struct daemon *d, const char *id) {
  return xasprintf("%s/containers/%s", d->cfg.data_root, id);
}
char *ctr_socket(struct daemon *d, const char *id) {
  return xasprintf("%s/c/%.32s.sock", d->cfg.exec_root, id);
}
char *ctr_log_path(struct daemon *d, const char *id) {
  return xasprintf("%s/containers/%s/%s-json.log", d->cfg.data_root, id, id);
}

static void ctr_free(struct container *c) {
  free(c->summary);
  ctr_opts_put(c->opts);
  free(c->name);
  json_decref(c->config);
  json_decref(c->host_config);
  json_decref(c->net_config);
  json_decref(c->mounts);
  json_decref(c->ports);
  json_decref(c->health);
  free(c->eps);
  free(c->parent_sid);
  free(c->rootfs);
  free(c);
}

/* ps's Ports: the published ones, then the exposed ones not published;
 * docker fills them in at the start and empties them at the exit, so an
 * exposed one shows only while the container runs */
static json_t *summary_ports(const struct container *c) {
  json_t *a = json_array();
  if (!ctr_is_running(c)) return a;
  const char *k;
  json_t *v;
  json_object_foreach(c->ports, k, v) {
    unsigned cport = 0;
    char proto[8] = "tcp";
    sscanf(k, "%u/%7s", &cport, proto);
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b) {
      json_array_append_new(
          a, json_pack(
                 "{s:s,s:i,s:i,s:s}", "IP", json_string_value(json_object_get(b, "HostIp")) ?: "",
                 "PrivatePort", (int)cport, "PublicPort",
                 atoi(json_string_value(json_object_get(b, "HostPort")) ?: "0"), "Type", proto));
    }
  }
  json_object_foreach(json_object_get(c->config, "ExposedPorts"), k, v) {
    if (json_object_get(c->ports, k)) continue;
    unsigned cport = 0;
    char proto[8] = "tcp";
    sscanf(k, "%u/%7s", &cport, proto);
    json_array_append_new(a, json_pack("{s:i,s:s}", "PrivatePort", (int)cport, "Type", proto));
  }
  return a;
}

void ctr_put(struct container *c) {
  if (!c) return;
  ctr_lock();
  bool gone = --c->refs == 0 && c->removed;
  ctr_unlock();
  if (gone) ctr_free(c);
}

static struct container *find_locked(const char *ref) {
  if (!ref || !*ref) return NULL;
  const char *name = ref[0] == '/' ? ref + 1 : ref;
  for (size_t i = 0; i < n_table; i++)
    if (!strcmp(table[i]->id, ref) || !strcmp(table[i]->name + 1, name)) return table[i];
  size_t n = strlen(ref);
  struct container *found = NULL;
  int matches = 0;
  if (is_hex(ref, n))
    for (size_t i = 0; i < n_table; i++)
      if (!strncmp(table[i]->id, ref, n)) {
        found = table[i];
        matches++;
      }
  return matches == 1 ? found : NULL;
}

struct container *ctr_get(const char *ref) {
  ctr_lock();
  struct container *c = find_locked(ref);
  if (c) c->refs++;
  ctr_unlock();
  return c;
}

pid_t ctr_running_pid(struct container *c) {
  ctr_lock();
  pid_t pid = ctr_is_running(c) ? c->pid : 0;
  ctr_unlock();
  return pid > 0 ? pid : 0;
}

struct container **ctr_list(size_t *n) {
  ctr_lock();
  struct container **v = xcalloc(n_table + 1, sizeof *v);
  for (size_t i = 0; i < n_table; i++) {
    v[i] = table[i];
    v[i]->refs++;
  }
  *n = n_table;
  ctr_unlock();
  return v;
}

bool ctr_layer_owned(const char *sid) {
  bool owned = false;
  ctr_lock();
  for (size_t i = 0; i < n_table && !owned; i++)
    owned = !strcmp(table[i]->rw_id, sid);
  ctr_unlock();
  return owned;
}

void ctr_table_add_locked(struct container *c) {
  table = xrealloc(table, (n_table + 1) * sizeof *table);
  table[n_table++] = c;
  c->refs++;
}

void ctr_table_add(struct container *c) {
  ctr_lock();
  ctr_table_add_locked(c);
  ctr_unlock();
}

/* Names taken by creates still in progress (not yet in the table). */
static char **reserved;
static size_t n_reserved;

void ctr_name_reserve_locked(const char *name) {
  reserved = xrealloc(reserved, (n_reserved + 1) * sizeof *reserved);
  reserved[n_reserved++] = xstrdup(name);
}

void ctr_name_release_locked(const char *name) {
  for (size_t i = 0; i < n_reserved; i++)
    if (!strcmp(reserved[i], name)) {
      free(reserved[i]);
      reserved[i] = reserved[--n_reserved];
      return;
    }
}

/* with ctr_lock held */
void ctr_table_remove_locked(struct container *c) {
  for (size_t i = 0; i < n_table; i++)
    if (table[i] == c) {
      table[i] = table[--n_table];
      c->removed = true;
      c->refs--;
      break;
    }
}

bool ctr_name_taken_locked(const char *name, const struct container *except, char id_out[65]) {
  for (size_t i = 0; i < n_reserved; i++)
    if (!strcmp(reserved[i], name)) {
      if (id_out) snprintf(id_out, 65, "%s", "(being created)");
      return true;
    }
  for (size_t i = 0; i < n_table; i++)
    if (table[i] != except && !strcmp(table[i]->name, name)) {
      if (id_out) memcpy(id_out, table[i]->id, 65);
      return true;
    }
  return false;
}

const char *ctr_status_name(enum ctr_status s) {
  static const char *names[] = {"created",  "running", "paused", "restarting",
                                "removing", "exited",  "dead"};
  return names[s];
}

char *ctr_status_text(const struct container *c) {
  char d[64];
  int64_t now = now_ns();
  switch (c->status) {
  case CTR_RUNNING: {
    human_duration((now - c->started_ns) / 1000000000LL, d, sizeof d);
    const char *h = ctr_health_locked(c);
    if (!strcmp(h, "none")) return xasprintf("Up %s", d);
    return xasprintf("Up %s (%s%s)", d, strcmp(h, "starting") ? "" : "health: ", h);
  }
  case CTR_PAUSED:
    human_duration((now - c->started_ns) / 1000000000LL, d, sizeof d);
    return xasprintf("Up %s (Paused)", d);
  case CTR_RESTARTING:
    human_duration((now - c->finished_ns) / 1000000000LL, d, sizeof d);
    return xasprintf("Restarting (%d) %s ago", c->exit_code, d);
  case CTR_EXITED:
    human_duration((now - c->finished_ns) / 1000000000LL, d, sizeof d);
    return xasprintf("Exited (%d) %s ago", c->exit_code, d);
  case CTR_REMOVING: return xstrdup("Removal In Progress");
  case CTR_DEAD: return xstrdup("Dead");
  default: return xstrdup("Created");
  }
}

/* ---------------- persistence ---------------- */

/* SizeRw: what the container wrote (the storage driver's diff_size of its
 * read-write layer); SizeRootFs: that plus the image. */
static void add_sizes(struct daemon *d, struct container *c, json_t *j) {
  uint64_t rw = 0;
  struct berth_err e = {0};
  if (drv_storage_diff_size(d->storage, c->rw_id, c->parent_sid, &rw, &e) < 0) rw = 0;
  uint64_t img = 0;
  pthread_mutex_lock(&d->images.lock);
  struct image *im = store_lookup_locked(&d->images, c->image_id);
  if (im) img = im->size;
  pthread_mutex_unlock(&d->images.lock);
  json_object_set_new(j, "SizeRw", json_integer((json_int_t)rw));
  json_object_set_new(j, "SizeRootFs", json_integer((json_int_t)(rw + img)));
}

static json_t *state_json(const struct container *c) {
  char started[64] = "0001-01-01T00:00:00Z", finished[64] = "0001-01-01T00:00:00Z";
  if (c->started_ns) format_rfc3339(c->started_ns, started, sizeof started);
  if (c->finished_ns) format_rfc3339(c->finished_ns, finished, sizeof finished);
  bool running = ctr_is_running(c) || c->status == CTR_RESTARTING;
  json_t *j =
      json_pack("{s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:s,s:s}", "Status",
                ctr_status_name(c->status), "Running", running, "Paused", c->status == CTR_PAUSED,
                "Restarting", c->status == CTR_RESTARTING, "OOMKilled", c->oom_killed, "Dead",
                c->status == CTR_DEAD, "Pid", running ? (int)c->pid : 0, "ExitCode", c->exit_code,
                "Error", c->error, "StartedAt", started, "FinishedAt", finished);
  if (c->health) json_object_set_new(j, "Health", json_deep_copy(c->health));
  return j;
}

int ctr_save(struct daemon *d, struct container *c) {
  return ctr_save_record(d, c, true);
}

int ctr_save_record(struct daemon *d, struct container *c, bool durable) {
  ctr_summaries_changed(); /* whatever changed is in the record */
  ctr_lock();
  json_t *j =
      json_pack("{s:s,s:s,s:O,s:O,s:O,s:s,s:I,s:s,s:s?,s:o,s:i,s:b,s:s}", "Id", c->id, "Name",
                c->name, "Config", c->config, "HostConfig", c->host_config, "NetworkingConfig",
                c->net_config ? c->net_config : json_null(), "Image", c->image_id, "CreatedNs",
                (json_int_t)c->created_ns, "RWLayer", c->rw_id, "ParentLayer", c->parent_sid,
                "State", state_json(c), "RestartCount", c->restart_count, "StoppedByUser",
                c->stopped_by_user, "Rootfs", c->mounted && c->rootfs ? c->rootfs : "");
  if (c->n_eps) json_object_set_new(j, "Endpoints", ctrnet_to_json(c));
  if (c->mounts) json_object_set(j, "MountPoints", c->mounts);
  if (c->ports) json_object_set(j, "Ports", c->ports);
  bool removed = c->removed;
  ctr_unlock();
  if (removed) {
    json_decref(j);
    return 0;
  }
  cleanup_free char *dir = ctr_dir(d, c->id);
  cleanup_free char *path = xasprintf("%s/config.v2.json", dir);
  char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  int r = durable ? write_file_atomic(path, text, strlen(text), 0600)
                  : write_file_derived(path, text, strlen(text), 0600);
  free(text);
  ctr_lock();
  bool was = c->unsaved;
  c->unsaved = r < 0;
  ctr_unlock();
  if (r < 0 && !was)
    log_error("container %.12s: cannot save its record (tried again every 10 s): %s", c->id,
              strerror(-r));
  if (r == 0 && was) log_info("container %.12s: its record is saved again", c->id);
  return r;
}

void ctr_save_unsaved(struct daemon *d) {
  size_t n;
  struct container **v = ctr_list(&n);
  for (size_t i = 0; i < n; i++) {
    ctr_lock();
    bool again = v[i]->unsaved && !v[i]->removed;
    ctr_unlock();
    if (again) ctr_save(d, v[i]);
    ctr_put(v[i]);
  }
  free(v);
}

static enum ctr_status status_from(const char *s) {
  static const char *names[] = {"created",  "running", "paused", "restarting",
                                "removing", "exited",  "dead"};
  for (int i = 0; i < 7; i++)
    if (s && !strcmp(s, names[i])) return (enum ctr_status)i;
  return CTR_DEAD;
}

static struct container *load_one(const char *path) {
  json_t *j = json_load_file(path, 0, NULL);
  const char *id = json_string_value(json_object_get(j, "Id"));
  const char *name = json_string_value(json_object_get(j, "Name"));
  if (!j || !id || strlen(id) != 64 || !name) {
    json_decref(j);
    return NULL;
  }
  struct container *c = xcalloc(1, sizeof *c);
  memcpy(c->id, id, 65);
  c->name = xstrdup(name);
  c->config = json_incref(json_object_get(j, "Config"));
  c->host_config = json_incref(json_object_get(j, "HostConfig"));
  struct berth_err e = {0};
  c->opts = ctr_opts_parse(c->config, c->host_config, &e);
  if (!c->opts) {
    /* written by an older berthd with other rules: keep the container,
     * with defaults for its HostConfig */
    log_warn("container %.12s: %s; its HostConfig is ignored", id, e.msg);
    c->opts = ctr_opts_parse(c->config, NULL, &e);
  }
  if (!c->opts) {
    log_warn("container %.12s: %s", id, e.msg);
    json_decref(j);
    ctr_free(c);
    return NULL;
  }
  json_t *nc = json_object_get(j, "NetworkingConfig");
  c->net_config = json_is_null(nc) ? NULL : json_incref(nc);
  ctrnet_from_json(c, j);
  json_t *mp = json_object_get(j, "MountPoints");
  c->mounts = json_is_array(mp) ? json_incref(mp) : json_array();
  json_t *pj = json_object_get(j, "Ports");
  c->ports = json_is_object(pj) ? json_incref(pj) : NULL;
  snprintf(c->image_id, sizeof c->image_id, "%s",
           json_string_value(json_object_get(j, "Image")) ?: "");
  c->created_ns = json_integer_value(json_object_get(j, "CreatedNs"));
  snprintf(c->rw_id, sizeof c->rw_id, "%s", json_string_value(json_object_get(j, "RWLayer")) ?: "");
  const char *ps = json_string_value(json_object_get(j, "ParentLayer"));
  c->parent_sid = ps ? xstrdup(ps) : NULL;
  json_t *st = json_object_get(j, "State");
  c->status = status_from(json_string_value(json_object_get(st, "Status")));
  c->pid = (pid_t)json_integer_value(json_object_get(st, "Pid"));
  c->exit_code = (int)json_integer_value(json_object_get(st, "ExitCode"));
  c->oom_killed = json_is_true(json_object_get(st, "OOMKilled"));
  json_t *health = json_object_get(st, "Health");
  if (json_is_object(health)) c->health = json_deep_copy(health);
  snprintf(c->error, sizeof c->error, "%s", json_string_value(json_object_get(st, "Error")) ?: "");
  const char *sa = json_string_value(json_object_get(st, "StartedAt"));
  const char *fa = json_string_value(json_object_get(st, "FinishedAt"));
  int64_t t;
  if (sa && (t = parse_rfc3339(sa)) != INT64_MIN && t > 0) c->started_ns = t;
  if (fa && (t = parse_rfc3339(fa)) != INT64_MIN && t > 0) c->finished_ns = t;
  c->restart_count = (int)json_integer_value(json_object_get(j, "RestartCount"));
  c->stopped_by_user = json_is_true(json_object_get(j, "StoppedByUser"));
  const char *rootfs = json_string_value(json_object_get(j, "Rootfs"));
  if (rootfs && *rootfs) {
    free(c->rootfs);
    c->rootfs = xstrdup(rootfs);
    c->mounted = true;
  }
  json_decref(j);
  return c;
}

void ctr_init(struct daemon *d) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(&cond, &a);
  shim_reaper_start();
  shim_spare_start();
  cleanup_free char *dir = xasprintf("%s/containers", d->cfg.data_root);
  mkdir_p(dir, 0700);
  rm_rf_sweep(dir); /* removals a crash or a stop cut short */
  cleanup_free char *sdir = xasprintf("%s/c", d->cfg.exec_root);
  mkdir_p(sdir, 0700);
  cleanup_dir DIR *dp = opendir(dir);
  struct dirent *de;
  while (dp && (de = readdir(dp))) {
    if (strlen(de->d_name) != 64) continue;
    cleanup_free char *path = xasprintf("%s/%s/config.v2.json", dir, de->d_name);
    struct container *c = load_one(path);
    if (!c) {
      log_warn("containers: ignoring unreadable record %s", path);
      continue;
    }
    ctr_table_add(c);
  }
  log_info("containers: %zu loaded", n_table);
}

/* ---------------- JSON views ---------------- */

static const char *hc_string(json_t *hc, const char *k, const char *def) {
  const char *s = json_string_value(json_object_get(hc, k));
  return s && *s ? s : def;
}

/* a running exec's helper waits in the container's cgroup: berth's, not
 * the container's (docker counts no runc) */
json_t *ctr_cgroup_stats(struct container *c) {
  json_t *s = cgroup_ops()->stats(c->id);
  json_t *pids = json_object_get(s, "pids_stats");
  json_int_t cur = json_integer_value(json_object_get(pids, "current"));
  json_int_t helpers = (json_int_t)exec_helpers_running(c);
  if (helpers && cur > 0)
    json_object_set_new(pids, "current", json_integer(cur > helpers ? cur - helpers : 0));
  struct ctr_opts *o = ctr_opts_get(c);
  ctr_lock();
  pid_t pid = c->pid;
  ctr_unlock();
  json_t *net = o ? ctrnet_stats(o, pid) : NULL;
  ctr_opts_put(o);
  if (net) json_object_set_new(s, "networks", net);
  return s;
}

/* HostConfig's members with the value docker reports for one a client
 * left out: docker's is a Go struct, every member always there, and
 * docker-py and compose send only what they set but read the rest */
enum hc_zero { HC_NULL, HC_STR, HC_INT, HC_FALSE };
static const struct {
  const char *name;
  enum hc_zero zero;
} hc_members[] = {
    {"Binds", HC_NULL},
    {"ContainerIDFile", HC_STR},
    {"PortBindings", HC_NULL},
    {"AutoRemove", HC_FALSE},
    {"VolumeDriver", HC_STR},
    {"VolumesFrom", HC_NULL},
    {"CapAdd", HC_NULL},
    {"CapDrop", HC_NULL},
    {"Dns", HC_NULL},
    {"DnsOptions", HC_NULL},
    {"DnsSearch", HC_NULL},
    {"ExtraHosts", HC_NULL},
    {"GroupAdd", HC_NULL},
    {"Cgroup", HC_STR},
    {"Links", HC_NULL},
    {"OomScoreAdj", HC_INT},
    {"PidMode", HC_STR},
    {"Privileged", HC_FALSE},
    {"PublishAllPorts", HC_FALSE},
    {"ReadonlyRootfs", HC_FALSE},
    {"SecurityOpt", HC_NULL},
    {"UTSMode", HC_STR},
    {"UsernsMode", HC_STR},
    {"Isolation", HC_STR},
    {"CpuShares", HC_INT},
    {"Memory", HC_INT},
    {"NanoCpus", HC_INT},
    {"CgroupParent", HC_STR},
    {"BlkioWeight", HC_INT},
    {"BlkioWeightDevice", HC_NULL},
    {"BlkioDeviceReadBps", HC_NULL},
    {"BlkioDeviceWriteBps", HC_NULL},
    {"BlkioDeviceReadIOps", HC_NULL},
    {"BlkioDeviceWriteIOps", HC_NULL},
    {"CpuPeriod", HC_INT},
    {"CpuQuota", HC_INT},
    {"CpuRealtimePeriod", HC_INT},
    {"CpuRealtimeRuntime", HC_INT},
    {"CpusetCpus", HC_STR},
    {"CpusetMems", HC_STR},
    {"Devices", HC_NULL},
    {"DeviceCgroupRules", HC_NULL},
    {"DeviceRequests", HC_NULL},
    {"KernelMemory", HC_INT},
    {"KernelMemoryTCP", HC_INT},
    {"MemoryReservation", HC_INT},
    {"MemorySwap", HC_INT},
    {"MemorySwappiness", HC_NULL},
    {"OomKillDisable", HC_FALSE},
    {"PidsLimit", HC_NULL},
    {"Ulimits", HC_NULL},
    {"CpuCount", HC_INT},
    {"CpuPercent", HC_INT},
    {"IOMaximumIOps", HC_INT},
    {"IOMaximumBandwidth", HC_INT},
};

static json_t *string_list(const char *const *v) {
  json_t *a = json_array();
  for (size_t i = 0; v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

/* what berth applies where docker reports its effective value: the log
 * driver, no restart, 64 MiB of /dev/shm, private ipc and cgroup
 * namespaces, the paths masked unless privileged; a PidsLimit of 0 or -1
 * and a MemorySwappiness of -1 (what the docker CLI sends) are "unset",
 * null as docker shows them */
static void hc_docker_view(json_t *hc, const char *log_driver) {
  json_t *log = json_object_get(hc, "LogConfig");
  if (!json_is_object(log)) json_object_set_new(hc, "LogConfig", log = json_object());
  if (!hc_string(log, "Type", NULL)) json_object_set_new(log, "Type", json_string(log_driver));
  if (!json_object_get(log, "Config")) json_object_set_new(log, "Config", json_object());
  if (!json_object_get(hc, "RestartPolicy"))
    json_object_set_new(hc, "RestartPolicy",
                        json_pack("{s:s,s:i}", "Name", "no", "MaximumRetryCount", 0));
  static const char *const modes[][2] = {
      {"NetworkMode", "default"}, {"IpcMode", "private"}, {"CgroupnsMode", "private"}};
  for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
    if (!hc_string(hc, modes[i][0], NULL))
      json_object_set_new(hc, modes[i][0], json_string(modes[i][1]));
  if (json_integer_value(json_object_get(hc, "ShmSize")) <= 0)
    json_object_set_new(hc, "ShmSize", json_integer(64 << 20));
  if (!json_is_array(json_object_get(hc, "ConsoleSize")))
    json_object_set_new(hc, "ConsoleSize", json_pack("[i,i]", 0, 0));
  if (json_integer_value(json_object_get(hc, "PidsLimit")) <= 0)
    json_object_set_new(hc, "PidsLimit", json_null());
  if (json_integer_value(json_object_get(hc, "MemorySwappiness")) < 0)
    json_object_set_new(hc, "MemorySwappiness", json_null());
  for (size_t i = 0; i < ARRAY_SIZE(hc_members); i++) {
    if (json_object_get(hc, hc_members[i].name)) continue;
    enum hc_zero z = hc_members[i].zero;
    json_object_set_new(hc, hc_members[i].name,
                        z == HC_STR     ? json_string("")
                        : z == HC_INT   ? json_integer(0)
                        : z == HC_FALSE ? json_false()
                                        : json_null());
  }
  bool privileged = json_is_true(json_object_get(hc, "Privileged"));
  if (!json_is_array(json_object_get(hc, "MaskedPaths")))
    json_object_set_new(hc, "MaskedPaths", privileged ? json_null() : string_list(rt_masked_paths));
  if (!json_is_array(json_object_get(hc, "ReadonlyPaths")))
    json_object_set_new(hc, "ReadonlyPaths",
                        privileged ? json_null() : string_list(rt_readonly_paths));
}

json_t *ctr_inspect_json(struct daemon *d, struct container *c, bool size) {
  ctr_lock();
  char created[64];
  format_rfc3339(c->created_ns, created, sizeof created);
  json_t *cfg = json_deep_copy(c->config);
  json_t *hc = json_deep_copy(c->host_config);
  json_t *ep = json_array_get(json_object_get(cfg, "Entrypoint"), 0);
  json_t *cmd = json_object_get(cfg, "Cmd");
  json_t *args = json_array();
  const char *path = "";
  if (json_array_size(json_object_get(cfg, "Entrypoint"))) {
    path = json_string_value(ep);
    json_t *e = json_object_get(cfg, "Entrypoint");
    for (size_t i = 1; i < json_array_size(e); i++)
      json_array_append(args, json_array_get(e, i));
    size_t i;
    json_t *x;
    json_array_foreach(cmd, i, x) json_array_append(args, x);
  } else if (json_array_size(cmd)) {
    path = json_string_value(json_array_get(cmd, 0));
    for (size_t i = 1; i < json_array_size(cmd); i++)
      json_array_append(args, json_array_get(cmd, i));
  }
  struct net_endpoint nep; /* docker's top-level fields: the default bridge's */
  json_t *networks = ctrnet_networks_json(d, c, &nep);
  bool legacy = nep.net_name[0] != 0;
  hc_docker_view(hc, d->logger->name);
  cleanup_free char *dir = ctr_dir(d, c->id);
  cleanup_free char *logp = ctr_log_path(d, c->id);
  json_t *mounts = c->mounts ? json_deep_copy(c->mounts) : json_array();
  json_t *j = json_object();
  json_object_set_new(j, "Id", json_string(c->id));
  json_object_set_new(j, "Created", json_string(created));
  json_object_set_new(j, "Path", json_string(path ? path : ""));
  json_object_set_new(j, "Args", args);
  json_object_set_new(j, "State", state_json(c));
  json_object_set_new(j, "Image", json_string(c->image_id));
  json_object_set_new(j, "ResolvConfPath", json_sprintf("%s/resolv.conf", dir));
  json_object_set_new(j, "HostnamePath", json_sprintf("%s/hostname", dir));
  json_object_set_new(j, "HostsPath", json_sprintf("%s/hosts", dir));
  /* docker's LogPath is the json-file driver's file, "" for the others */
  const char *log_type =
      json_string_value(json_object_get(json_object_get(hc, "LogConfig"), "Type")) ?: "";
  json_object_set_new(j, "LogPath", json_string(strcmp(log_type, "json-file") ? "" : logp));
  json_object_set_new(j, "Name", json_string(c->name));
  json_object_set_new(j, "RestartCount", json_integer(c->restart_count));
  json_object_set_new(j, "Driver", json_string(d->storage->name));
  json_object_set_new(j, "Platform", json_string("linux"));
  json_object_set_new(j, "MountLabel", json_string(""));
  json_object_set_new(j, "ProcessLabel", json_string(""));
  json_object_set_new(j, "AppArmorProfile", json_string(""));
  json_object_set_new(j, "ExecIDs", json_null());
  json_object_set_new(j, "HostConfig", hc);
  json_object_set_new(j, "GraphDriver",
                      json_pack("{s:s,s:o}", "Name", d->storage->name, "Data",
                                store_graph_data(&d->images, c->rw_id)));
  json_object_set_new(j, "Mounts", mounts);
  json_object_set_new(j, "Config", cfg);
  if (!json_is_object(json_object_get(cfg, "Labels")))
    json_object_set_new(cfg, "Labels", json_object()); /* docker's create makes it {} */
  /* what `nsenter --net=<SandboxKey>` wants while it runs: its process's
   * namespace (docker's is a file of its own; another container's network:
   * none, as docker's) */
  char sandbox[64] = "";
  const char *nmode = json_string_value(json_object_get(hc, "NetworkMode")) ?: "";
  if (ctr_is_running(c) && c->pid > 0 && !str_has_prefix(nmode, "container:"))
    snprintf(sandbox, sizeof sandbox, "/proc/%d/ns/net", (int)c->pid);
  json_t *ns =
      json_pack("{s:s,s:s,s:b,s:s,s:i,s:{},s:s,s:n,s:n,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s,s:o}",
                "Bridge", "", "SandboxID", "", "HairpinMode", 0, "LinkLocalIPv6Address", "",
                "LinkLocalIPv6PrefixLen", 0, "Ports", "SandboxKey", sandbox, "SecondaryIPAddresses",
                "SecondaryIPv6Addresses", "EndpointID", legacy ? nep.ep_id : "", "Gateway",
                legacy ? nep.gateway : "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0,
                "IPAddress", legacy ? nep.ip : "", "IPPrefixLen", legacy ? nep.prefix : 0,
                "IPv6Gateway", "", "MacAddress", legacy ? nep.mac : "", "Networks", networks);
  json_object_set_new(j, "NetworkSettings", ns);
  json_t *ports = json_object_get(json_object_get(j, "NetworkSettings"), "Ports");
  const char *pk;
  json_t *pv;
  if (ctr_is_running(c)) {
    json_object_foreach(json_object_get(cfg, "ExposedPorts"), pk, pv)
        json_object_set_new(ports, pk, json_null());
    json_object_foreach(c->ports, pk, pv) json_object_set(ports, pk, pv);
  }
  ctr_unlock();
  if (size) add_sizes(d, c, j);
  return j;
}

/* ps's COMMAND as docker's: the path, then each argument, one with a
 * space in single quotes (sh -c 'echo hi') */
static char *command_string(json_t *cfg) {
  struct strbuf b = {0};
  strbuf_add(&b, "", 0);
  const char *keys[] = {"Entrypoint", "Cmd"};
  for (int k = 0; k < 2; k++) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(cfg, keys[k]), i, e) {
      const char *a = json_string_value(e) ?: "";
      bool quote = b.len && strchr(a, ' ');
      if (b.len) strbuf_str(&b, " ");
      if (quote) strbuf_str(&b, "'");
      strbuf_str(&b, a);
      if (quote) strbuf_str(&b, "'");
    }
  }
  return b.s;
}

json_t *ctr_summary_json(struct daemon *d, struct container *c, bool size) {
  ctr_lock();
  cleanup_free char *status = ctr_status_text(c);
  cleanup_free char *cmd = command_string(c->config);
  const char *image = json_string_value(json_object_get(c->config, "Image"));
  json_t *labels = json_object_get(c->config, "Labels");
  const char *mode = hc_string(c->host_config, "NetworkMode", "default");
  struct net_endpoint bridge;
  json_t *networks = ctrnet_networks_json(d, c, &bridge);
  json_t *label_obj = json_is_object(labels) ? json_incref(labels) : json_object();
  json_t *mounts = c->mounts ? json_deep_copy(c->mounts) : json_array();
  json_t *j = json_pack(
      "{s:s,s:[s],s:s,s:s,s:s,s:I,s:[],s:o,s:s,s:s,s:{s:s},s:{s:o},s:o}", "Id", c->id, "Names",
      c->name, "Image", image ? image : c->image_id, "ImageID", c->image_id, "Command", cmd,
      "Created", (json_int_t)(c->created_ns / 1000000000LL), "Ports", "Labels", label_obj, "State",
      ctr_status_name(c->status), "Status", status, "HostConfig", "NetworkMode", mode,
      "NetworkSettings", "Networks", networks, "Mounts", mounts);
  json_object_set_new(j, "Ports", summary_ports(c));
  ctr_unlock();
  if (size) add_sizes(d, c, j);
  return j;
}

static uint64_t summaries_gen = 1;

void ctr_summaries_changed(void) {
  __atomic_add_fetch(&summaries_gen, 1, __ATOMIC_ACQ_REL);
}

/* the buffer's size is a function of its length (the power of two above
 * it, 4 KiB at least): grown by doubling, never told its capacity */
static size_t room_for(size_t len) {
  size_t r = 4096;
  while (r < len + 1)
    r *= 2;
  return r;
}

static void append(char **buf, size_t *len, const char *s, size_t n) {
  if (room_for(*len + n) != room_for(*len) || *len == 0) *buf = xrealloc(*buf, room_for(*len + n));
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = 0;
}

void ctr_append_text(char **buf, size_t *len, const char *s) {
  append(buf, len, s, strlen(s));
}

/* s as a JSON string ("…", with '"', '\' and control characters escaped) */
static void append_json_string(char **buf, size_t *len, const char *s) {
  append(buf, len, "\"", 1);
  while (*s) {
    size_t run = 0; /* what needs no escape, appended at once */
    while (s[run] && s[run] != '"' && s[run] != '\\' && (unsigned char)s[run] >= 0x20)
      run++;
    append(buf, len, s, run);
    s += run;
    if (!*s) break;
    char esc[8];
    int n = *s == '"' || *s == '\\' ? snprintf(esc, sizeof esc, "\\%c", *s)
                                    : snprintf(esc, sizeof esc, "\\u%04x", (unsigned char)*s);
    append(buf, len, esc, (size_t)n);
    s++;
  }
  append(buf, len, "\"", 1);
}

/* ,"State":"…","Status":"…"} (made at every listing: through jansson,
 * a pack and a dump each, they were a third of a cached listing's time) */
static void append_state(struct container *c, char **buf, size_t *len) {
  cleanup_free char *text = ctr_status_text(c);
  append(buf, len, ",\"State\":", 9);
  append_json_string(buf, len, ctr_status_name(c->status));
  append(buf, len, ",\"Status\":", 10);
  append_json_string(buf, len, text);
  append(buf, len, "}", 1);
}

void ctr_summary_append(struct daemon *d, struct container *c, char **buf, size_t *len) {
  uint64_t gen = __atomic_load_n(&summaries_gen, __ATOMIC_ACQUIRE), net = net_generation();
  ctr_lock();
  bool fresh = c->summary && c->summary_gen == gen && c->summary_net == net;
  if (fresh) {
    append(buf, len, c->summary, strlen(c->summary));
    append_state(c, buf, len);
  }
  ctr_unlock();
  if (fresh) return;
  json_t *j = ctr_summary_json(d, c, false);
  json_object_del(j, "State");
  json_object_del(j, "Status");
  char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  text[strlen(text) - 1] = 0; /* open: State and Status follow */
  ctr_lock();
  free(c->summary);
  c->summary = text;
  c->summary_gen = gen; /* a change meanwhile made a newer generation */
  c->summary_net = net;
  append(buf, len, text, strlen(text));
  append_state(c, buf, len);
  ctr_unlock();
}

const char *ctr_enotdir_hint(const char *msg) {
  return strstr(msg, "not a directory") ? ": Are you trying to mount a directory onto a file (or "
                                          "vice-versa)? Check if the specified host path exists "
                                          "and is the expected type"
                                        : "";
}

/* ---------------- events ---------------- */

void ctr_event(struct container *c, const char *action, json_t *extra) {
  struct ctr_opts *o = ctr_opts_get(c);
  json_t *attrs = o ? json_deep_copy(o->labels) : json_object();
  if (o) json_object_set_new(attrs, "image", json_string(o->image));
  ctr_opts_put(o);
  ctr_lock();
  json_object_set_new(attrs, "name", json_string(c->name + 1));
  ctr_unlock();
  if (extra) json_object_update(attrs, extra);
  json_decref(extra);
  ev_emit("container", action, c->id, attrs);
}
