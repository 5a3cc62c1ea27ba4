#include "config.h"

#include "../network/ipam.h"

#include <ctype.h>
#include <ftw.h>
#include <signal.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../runtime/runtime.h"
#include "container.h"

static char **strv_of(json_t *a, size_t *n) {
  *n = 0;
  char **v = xcalloc(json_array_size(a) + 1, sizeof *v);
  size_t i;
  json_t *e;
  json_array_foreach(a, i, e) if (json_is_string(e)) v[(*n)++] = xstrdup(json_string_value(e));
  return v;
}

static char *str_of(json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return xstrdup(s ? s : "");
}

static bool flag(json_t *obj, const char *key) {
  return json_is_true(json_object_get(obj, key));
}

static int64_t num(json_t *obj, const char *key) {
  return json_integer_value(json_object_get(obj, key));
}

const char *ctr_restart_name(enum ctr_restart r) {
  static const char *const names[] = {"no", "always", "unless-stopped", "on-failure"};
  return names[r];
}

/* ---- Config ---- */

static int parse_config(json_t *cfg, struct ctr_opts *o, struct berth_err *err) {
  o->image = str_of(cfg, "Image");
  o->hostname = str_of(cfg, "Hostname");
  o->domainname = str_of(cfg, "Domainname");
  o->user = str_of(cfg, "User");
  o->workdir = str_of(cfg, "WorkingDir");
  if (*o->workdir && *o->workdir != '/')
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "the working directory '%s' is invalid, it needs to be an absolute path",
                         o->workdir);
  if (strlen(o->hostname) > 63)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "invalid hostname format: %.64s...: longer than 63 characters",
                         o->hostname);
  /* "FOO" without a value is dropped, as docker does */
  json_t *env = json_array();
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(cfg, "Env"), i, e) if (strchr(json_string_value(e) ?: "", '='))
      json_array_append(env, e);
  o->env = strv_of(env, &o->n_env);
  json_decref(env);
  o->entrypoint = strv_of(json_object_get(cfg, "Entrypoint"), &o->n_entrypoint);
  o->cmd = strv_of(json_object_get(cfg, "Cmd"), &o->n_cmd);
  o->tty = flag(cfg, "Tty");
  o->open_stdin = flag(cfg, "OpenStdin");
  o->stdin_once = flag(cfg, "StdinOnce");
  json_t *labels = json_object_get(cfg, "Labels");
  o->labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
  const char *sig = json_string_value(json_object_get(cfg, "StopSignal"));
  o->stop_signal = sig && *sig ? parse_signal(sig) : SIGTERM;
  if (o->stop_signal < 0) return berth_err_set(err, BERTH_EINVAL, 0, "Invalid signal: %s", sig);
  json_t *st = json_object_get(cfg, "StopTimeout");
  o->stop_timeout = json_is_integer(st) ? (int)json_integer_value(st) : -1;
  return 0;
}

/* Config.Healthcheck: docker's checks (verifyContainerSettings), its
 * defaults (30 s, 30 s, 0, 3), CMD or CMD-SHELL (through Config.Shell) */
static int parse_health(json_t *cfg, struct ctr_opts *o, struct berth_err *err) {
  json_t *sh = json_object_get(cfg, "Shell");
  json_t *def = json_pack("[s,s]", "/bin/sh", "-c");
  o->shell = strv_of(json_array_size(sh) ? sh : def, &o->n_shell);
  json_decref(def);
  json_t *h = json_object_get(cfg, "Healthcheck");
  static const char *const durs[] = {"Interval", "Timeout", "StartPeriod"};
  int64_t *dst[] = {&o->health_interval, &o->health_timeout, &o->health_start};
  static const int64_t defs[] = {30000000000LL, 30000000000LL, 0};
  for (size_t i = 0; i < ARRAY_SIZE(durs); i++) {
    int64_t v = num(h, durs[i]);
    if (v && v < 1000000)
      return berth_err_set(err, BERTH_EINVAL, 0, "%s in Healthcheck cannot be less than 1ms",
                           durs[i]);
    *dst[i] = v ? v : defs[i];
  }
  int64_t retries = num(h, "Retries");
  if (retries < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "Retries in Healthcheck cannot be negative");
  o->health_retries = retries ? (int)retries : 3;
  json_t *test = json_object_get(h, "Test");
  const char *kind = json_string_value(json_array_get(test, 0));
  if (!kind || !strcmp(kind, "NONE")) return 0;
  json_t *argv = json_array();
  if (!strcmp(kind, "CMD-SHELL") && json_array_size(test) == 2) {
    for (size_t i = 0; i < o->n_shell; i++)
      json_array_append_new(argv, json_string(o->shell[i]));
    json_array_append(argv, json_array_get(test, 1));
  } else if (!strcmp(kind, "CMD") && json_array_size(test) > 1) {
    for (size_t i = 1; i < json_array_size(test); i++)
      json_array_append(argv, json_array_get(test, i));
  } else {
    json_decref(argv);
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "unknown Healthcheck Test %s (want NONE, CMD or CMD-SHELL)", kind);
  }
  o->health_cmd = strv_of(argv, &o->n_health_cmd);
  json_decref(argv);
  return 0;
}

/* ---- ShmSize, Ulimits, OomScoreAdj, Sysctls ---- */

static int rlimit_of(const char *name) {
  static const struct {
    const char *name;
    int res;
  } names[] = {
      {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
      {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
      {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
      {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
      {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
      {"stack", RLIMIT_STACK}};
  for (size_t i = 0; name && i < ARRAY_SIZE(names); i++)
    if (!strcmp(name, names[i].name)) return names[i].res;
  return -1;
}

static int parse_ulimits(json_t *hc, json_t *limits, struct berth_err *err) {
  json_t *rl = json_array();
  json_object_set_new(limits, "rlimits", rl);
  size_t i;
  json_t *u;
  json_array_foreach(json_object_get(hc, "Ulimits"), i, u) {
    const char *name = json_string_value(json_object_get(u, "Name"));
    int res = rlimit_of(name);
    json_int_t soft = json_integer_value(json_object_get(u, "Soft"));
    json_int_t hard = json_integer_value(json_object_get(u, "Hard"));
    if (res < 0) return berth_err_set(err, BERTH_EINVAL, 0, "invalid ulimit type: %s", name ?: "");
    if (soft > hard)
      return berth_err_set(
          err, BERTH_EINVAL, 0,
          "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
          (long long)soft, (long long)hard);
    json_array_append_new(rl, json_pack("[i,I,I]", res, soft, hard));
  }
  return 0;
}

/* "container:<ref>" of a namespace mode: the ref, or NULL */
static char *mode_container(json_t *hc, const char *key) {
  const char *m = json_string_value(json_object_get(hc, key));
  return m && str_has_prefix(m, "container:") ? xstrdup(m + strlen("container:")) : NULL;
}

/* docker's rule: only sysctls of a namespace the container has of its own */
static int check_sysctl(const char *k, const char *netmode, const struct ctr_opts *o,
                        struct berth_err *err) {
  static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                    "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                    "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (const char *p = k; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid sysctl key %s", k);
  if (strstr(k, "..") || *k == '.')
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid sysctl key %s", k);
  bool of_ipc = str_has_prefix(k, "fs.mqueue.");
  for (size_t i = 0; i < ARRAY_SIZE(ipc); i++)
    of_ipc |= !strcmp(k, ipc[i]);
  if (of_ipc && o->ipc_host)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "sysctl \"%s\" is not allowed in the hosts ipc namespace", k);
  if (of_ipc) return 0;
  if (str_has_prefix(k, "net.")) {
    if (!strcmp(netmode, "host") || str_has_prefix(netmode, "container:"))
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "sysctl \"%s\" not allowed in host network namespace", k);
    return 0;
  }
  return berth_err_set(err, BERTH_EINVAL, 0, "sysctl \"%s\" is not in a separate kernel namespace",
                       k);
}

static int parse_limits(json_t *hc, struct ctr_opts *o, struct berth_err *err) {
  json_int_t shm = json_integer_value(json_object_get(hc, "ShmSize"));
  json_t *oom = json_object_get(hc, "OomScoreAdj"), *sys = json_object_get(hc, "Sysctls");
  if (shm < 0) return berth_err_set(err, BERTH_EINVAL, 0, "SHM size can not be less than 0");
  json_int_t adj = json_integer_value(oom);
  if (adj < -1000 || adj > 1000)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Invalid value %lld, range for oom score adj is [-1000, 1000]",
                         (long long)adj);
  if (!shm && !adj && !json_array_size(json_object_get(hc, "Ulimits")) && !json_object_size(sys))
    return 0;
  o->limits = json_object();
  if (shm) json_object_set_new(o->limits, "shm_size", json_integer(shm));
  if (adj) json_object_set_new(o->limits, "oom_score_adj", json_integer(adj));
  int r = parse_ulimits(hc, o->limits, err);
  const char *k;
  json_t *v;
  json_object_foreach(sys, k, v) {
    if (r == 0) r = check_sysctl(k, o->network_mode, o, err);
  }
  if (r == 0 && json_object_size(sys)) json_object_set(o->limits, "sysctls", sys);
  return r;
}

/* ---- devices (--device, --device-cgroup-rule) ---- */

/* docker's rule syntax: "c 1:3 rwm", "b *:* m", "a 7:* r" */
static json_t *cgroup_rule(const char *s, struct berth_err *err) {
  char type, maj[16], min[16], acc[8];
  int used = 0;
  if (sscanf(s, "%c %15[0-9*]:%15[0-9*] %7s%n", &type, maj, min, acc, &used) != 4 || s[used] ||
      !strchr("acb", type) || !device_access_valid(acc) || (strchr(maj, '*') && strcmp(maj, "*")) ||
      (strchr(min, '*') && strcmp(min, "*"))) {
    berth_err_set(err, BERTH_EINVAL, 0, "invalid device cgroup format '%s'", s);
    return NULL;
  }
  return json_pack("{s:s#,s:i,s:i,s:s}", "type", &type, (size_t)1, "major",
                   *maj == '*' ? -1 : atoi(maj), "minor", *min == '*' ? -1 : atoi(min), "access",
                   acc);
}

/* one device node of the host, where the container sees it, with its rule */
static void add_device(json_t *devs, json_t *rules, const char *host, const char *in,
                       const struct stat *st, const char *access) {
  char type = S_ISBLK(st->st_mode) ? 'b' : 'c';
  /* host: what a container in a user namespace gets bound (mknod is refused there) */
  json_array_append_new(devs, json_pack("{s:s,s:s,s:s#,s:i,s:i,s:i,s:i,s:i}", "path", in, "host",
                                        host, "type", &type, (size_t)1, "major",
                                        (int)major(st->st_rdev), "minor", (int)minor(st->st_rdev),
                                        "mode", (int)(st->st_mode & 07777), "uid", (int)st->st_uid,
                                        "gid", (int)st->st_gid));
  json_array_append_new(rules, json_pack("{s:s#,s:i,s:i,s:s}", "type", &type, (size_t)1, "major",
                                         (int)major(st->st_rdev), "minor", (int)minor(st->st_rdev),
                                         "access", access));
}

/* a directory given to --device: every node under it (as docker walks it) */
static struct {
  json_t *devs, *rules;
  const char *host, *in, *access;
} walk;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)f;
  if (flag != FTW_F || !(S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))) return 0;
  cleanup_free char *in = xasprintf("%s%s", walk.in, path + strlen(walk.host));
  add_device(walk.devs, walk.rules, path, in, st, walk.access);
  return 0;
}

static pthread_mutex_t walk_mu = PTHREAD_MUTEX_INITIALIZER;

static int one_device(json_t *d, json_t *devs, json_t *rules, struct berth_err *err) {
  const char *host = json_string_value(json_object_get(d, "PathOnHost")) ?: "";
  const char *in = json_string_value(json_object_get(d, "PathInContainer")) ?: "";
  const char *acc = json_string_value(json_object_get(d, "CgroupPermissions")) ?: "";
  if (!*in) in = host;
  if (!*acc) acc = "rwm";
  if (!device_access_valid(acc))
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid device mode: %s", acc);
  if (in[0] != '/') return berth_err_set(err, BERTH_EINVAL, 0, "%s is not an absolute path", in);
  struct stat st;
  char why[128]; /* Go's errno text: the docker CLI reads "no such file" as 127 */
  if (stat(host, &st) < 0)
    return berth_err_set(err, BERTH_EINVAL, errno,
                         "error gathering device information while adding custom device \"%s\": "
                         "%s",
                         host, go_errstr(errno, why, sizeof why));
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    add_device(devs, rules, host, in, &st, acc);
    return 0;
  }
  if (!S_ISDIR(st.st_mode))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "error gathering device information while adding custom device \"%s\": "
                         "not a device node",
                         host);
  pthread_mutex_lock(&walk_mu);
  walk.devs = devs, walk.rules = rules, walk.host = host, walk.in = in, walk.access = acc;
  nftw(host, walk_one, 16, FTW_PHYS);
  pthread_mutex_unlock(&walk_mu);
  return 0;
}

/* HostConfig.Devices and DeviceCgroupRules: the nodes made in the
 * container and the rules its device cgroup gets besides docker's */
static int parse_devices(json_t *hc, struct ctr_opts *o, struct berth_err *err) {
  json_t *list = json_object_get(hc, "Devices"), *crules = json_object_get(hc, "DeviceCgroupRules");
  if (!json_array_size(list) && !json_array_size(crules)) return 0;
  json_t *devs = json_array(), *rules = json_array();
  int r = 0;
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    if (r == 0) r = one_device(v, devs, rules, err);
  }
  json_array_foreach(crules, i, v) {
    json_t *rule = r == 0 ? cgroup_rule(json_string_value(v) ?: "", err) : NULL;
    if (r == 0 && !rule) r = -err->code;
    if (rule) json_array_append_new(rules, rule);
  }
  if (r == 0) {
    if (!o->limits) o->limits = json_object();
    json_object_set(o->limits, "devices", devs);
    json_object_set(o->limits, "device_rules", rules);
  }
  json_decref(devs);
  json_decref(rules);
  return r;
}

/* ---- HostConfig ---- */

static int parse_network_restart(json_t *hc, struct ctr_opts *o, struct berth_err *err) {
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
  o->network_mode = xstrdup(mode && strcmp(mode, "default") ? mode : "");
  o->volume_driver = xstrdup(json_string_value(json_object_get(hc, "VolumeDriver")) ?: "");
  mode = o->network_mode;
  /* a network's name or container:<name|id>: the daemon checks it at start */
  if (!strcmp(mode, "container:"))
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid container format container:<name|id>");
  json_t *rp = json_object_get(hc, "RestartPolicy");
  const char *pn = json_string_value(json_object_get(rp, "Name"));
  if (!pn || !*pn || !strcmp(pn, "no"))
    o->restart = RESTART_NO;
  else if (!strcmp(pn, "always"))
    o->restart = RESTART_ALWAYS;
  else if (!strcmp(pn, "unless-stopped"))
    o->restart = RESTART_UNLESS_STOPPED;
  else if (!strcmp(pn, "on-failure"))
    o->restart = RESTART_ON_FAILURE;
  else
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid restart policy '%s'", pn);
  int64_t max = num(rp, "MaximumRetryCount");
  if (max < 0) return berth_err_set(err, BERTH_EINVAL, 0, "maximum retry count cannot be negative");
  if (max > 0 && o->restart != RESTART_ON_FAILURE)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "maximum retry count cannot be used with restart policy '%s'", pn);
  o->restart_max = (int)max;
  o->auto_remove = flag(hc, "AutoRemove");
  if (o->auto_remove && o->restart != RESTART_NO)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "can't create 'AutoRemove' container with restart policy");
  return 0;
}

/* a -v mode word's kind (docker's: rw, label, propagation, copy,
 * consistency), -1 for a word docker does not know */
enum { MODE_RW, MODE_LABEL, MODE_PROPAGATION, MODE_COPY, MODE_CONSISTENCY, MODE_KINDS };
static int mode_word_kind(const char *w) {
  static const struct {
    const char *word;
    int kind;
  } words[] = {{"ro", MODE_RW},
               {"rw", MODE_RW},
               {"z", MODE_LABEL},
               {"Z", MODE_LABEL},
               {"nocopy", MODE_COPY},
               {"consistent", MODE_CONSISTENCY},
               {"cached", MODE_CONSISTENCY},
               {"delegated", MODE_CONSISTENCY}};
  for (size_t i = 0; i < ARRAY_SIZE(words); i++)
    if (!strcmp(w, words[i].word)) return words[i].kind;
  return rt_propagation_flags(w) ? MODE_PROPAGATION : -1; /* the runtime's six words */
}

/* one -v: SRC:DST[:MODE], SRC an absolute host path or a volume name;
 * MODE's words: ro, rw, z, Z, nocopy and the propagations */
static int parse_bind(const char *s, struct ctr_bind *m, struct berth_err *err) {
  const char *colon = strchr(s, ':');
  if (!colon || !colon[1])
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid volume specification: '%s'", s);
  const char *opt = strchr(colon + 1, ':');
  m->source = strndup(s, (size_t)(colon - s));
  m->target = opt ? strndup(colon + 1, (size_t)(opt - colon - 1)) : xstrdup(colon + 1);
  m->mode = xstrdup(opt ? opt + 1 : "");
  m->volume = m->source[0] != '/';
  if (m->target[0] != '/')
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "invalid volume specification: '%s': invalid mount config for type "
                         "\"%s\": invalid mount path: '%s' mount path must be absolute",
                         s, m->volume ? "volume" : "bind", m->target);
  if (!strcmp(m->target, "/"))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "invalid volume specification: '%s': invalid mount config for type "
                         "\"%s\": invalid specification: destination can't be '/'",
                         s, m->volume ? "volume" : "bind");
  /* dockerd's ValidMountMode: known words, at most one of each kind */
  int seen[MODE_KINDS] = {0};
  cleanup_free char *words = xstrdup(m->mode);
  char *save = NULL; /* strtok_r: containers are created on several threads at once */
  for (char *w = strtok_r(words, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    int kind = mode_word_kind(w);
    if (kind < 0 || ++seen[kind] > 1)
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid mode: %s", m->mode);
    if (!strcmp(w, "ro")) m->readonly = true;
    if (kind == MODE_PROPAGATION) m->propagation = xstrdup(w);
  }
  if (m->volume && m->propagation)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "invalid volume specification: '%s': invalid mount config for type "
                         "\"volume\": field BindOptions must not be specified",
                         s);
  return 0;
}

/* --tmpfs's options as dockerd checks them at create (ParseTmpfsOptions):
 * mount(8)'s flags, and data of the keys tmpfs takes */
static int check_tmpfs_options(const char *options, struct berth_err *err) {
  static const char *const flags[] = {
      "defaults",   "ro",          "rw",         "suid",        "nosuid",       "dev",     "nodev",
      "exec",       "noexec",      "sync",       "async",       "dirsync",      "remount", "mand",
      "nomand",     "atime",       "noatime",    "diratime",    "nodiratime",   "bind",    "rbind",
      "unbindable", "runbindable", "private",    "rprivate",    "shared",       "rshared", "slave",
      "rslave",     "relatime",    "norelatime", "strictatime", "nostrictatime"};
  static const char *const keys[] = {"size",      "mode",      "uid", "gid",
                                     "nr_inodes", "nr_blocks", "mpol"};
  cleanup_free char *copy = xstrdup(options);
  char *save = NULL;
  for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    bool ok = false;
    for (size_t i = 0; i < ARRAY_SIZE(flags) && !ok; i++)
      ok = !strcmp(w, flags[i]);
    char *eq = strchr(w, '=');
    for (size_t i = 0; i < ARRAY_SIZE(keys) && !ok && eq; i++)
      ok = strlen(keys[i]) == (size_t)(eq - w) && !strncmp(w, keys[i], (size_t)(eq - w));
    if (ok) continue;
    if (eq) /* Go's %q of the []string it split: ["k" "v"] */
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid tmpfs option [\"%.*s\" \"%s\"]",
                           (int)(eq - w), w, eq + 1);
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid tmpfs option [\"%s\"]", w);
  }
  return 0;
}

static int add_tmpfs(struct ctr_opts *o, const char *target, const char *options);

/* one HostConfig.Mounts entry (--mount) of type bind or volume */
static int mount_bind(json_t *m, const char *type, struct ctr_bind *b, struct berth_err *err) {
  const char *src = json_string_value(json_object_get(m, "Source")) ?: "";
  const char *dst = json_string_value(json_object_get(m, "Target")) ?: "";
  b->volume = !strcmp(type, "volume");
  b->source = xstrdup(src);
  b->target = xstrdup(dst);
  b->readonly = json_is_true(json_object_get(m, "ReadOnly"));
  json_t *vo = json_object_get(m, "VolumeOptions"), *dc = json_object_get(vo, "DriverConfig");
  bool nocopy = json_is_true(json_object_get(vo, "NoCopy"));
  b->driver = xstrdup(json_string_value(json_object_get(dc, "Name")) ?: "");
  json_t *dopts = json_object_get(dc, "Options"), *labels = json_object_get(vo, "Labels");
  b->driver_opts = json_is_object(dopts) ? json_incref(dopts) : NULL;
  b->labels = json_is_object(labels) ? json_incref(labels) : NULL;
  b->mode = xstrdup(nocopy ? "nocopy" : "");
  b->must_exist = !b->volume;
  json_t *bo = json_object_get(m, "BindOptions");
  const char *prop = json_string_value(json_object_get(bo, "Propagation"));
  if (b->volume && json_is_object(bo))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "invalid mount config for type \"volume\": field BindOptions must not be "
                         "specified");
  if (prop && *prop && mode_word_kind(prop) != MODE_PROPAGATION)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "invalid mount config for type \"%s\": invalid propagation mode: %s", type,
                         prop);
  if (prop && *prop) b->propagation = xstrdup(prop);
  if (!b->volume && src[0] != '/')
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "invalid mount config for type \"bind\": invalid mount path: '%s' mount "
                         "path must be absolute",
                         src);
  if (dst[0] != '/')
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "invalid mount config for type \"%s\": invalid mount path: '%s' mount "
                         "path must be absolute",
                         type, dst);
  return 0;
}

/* HostConfig.Mounts: bind and volume as -v does them, tmpfs as --tmpfs;
 * then no target twice among all of them (-v's and --mount's) */
static int parse_mounts(json_t *hc, struct ctr_opts *o, struct berth_err *err) {
  json_t *mounts = json_object_get(hc, "Mounts");
  o->binds = xrealloc(o->binds, (o->n_binds + json_array_size(mounts) + 1) * sizeof *o->binds);
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    const char *type = json_string_value(json_object_get(m, "Type")) ?: "";
    const char *dst = json_string_value(json_object_get(m, "Target")) ?: "";
    int r = 0;
    if (!strcmp(type, "bind") || !strcmp(type, "volume")) {
      struct ctr_bind *b = &o->binds[o->n_binds++];
      memset(b, 0, sizeof *b);
      r = mount_bind(m, type, b, err);
    } else if (!strcmp(type, "tmpfs")) {
      json_t *t = json_object_get(m, "TmpfsOptions");
      json_int_t size = json_integer_value(json_object_get(t, "SizeBytes"));
      json_int_t mode = json_integer_value(json_object_get(t, "Mode"));
      char opts[64] = "";
      snprintf(opts, sizeof opts, "mode=%04o", mode ? (unsigned)mode : 01777);
      if (size > 0)
        snprintf(opts + strlen(opts), sizeof opts - strlen(opts), ",size=%lld", (long long)size);
      r = dst[0] == '/' ? add_tmpfs(o, dst, opts)
                        : berth_err_set(err, BERTH_EINVAL, 0,
                                        "invalid mount config for type \"tmpfs\": invalid mount "
                                        "path: '%s' mount path must be absolute",
                                        dst);
    } else {
      r = berth_err_set(err, BERTH_EINVAL, 0,
                        "invalid mount config for type \"%s\": mount type unknown", type);
    }
    if (r < 0) return r;
  }
  for (size_t a = 0; a < o->n_binds; a++)
    for (size_t b = a + 1; b < o->n_binds; b++)
      if (!strcmp(o->binds[a].target, o->binds[b].target))
        return berth_err_set(err, BERTH_EINVAL, 0, "Duplicate mount point: %s", o->binds[a].target);
  return 0;
}

static int parse_binds(json_t *hc, struct ctr_opts *o, struct berth_err *err) {
  json_t *binds = json_object_get(hc, "Binds");
  o->binds = xcalloc(json_array_size(binds) + 1, sizeof *o->binds);
  size_t i;
  json_t *b;
  json_array_foreach(binds, i, b) {
    const char *s = json_string_value(b);
    struct ctr_bind *m = &o->binds[o->n_binds++];
    int r = parse_bind(s ? s : "", m, err);
    if (r < 0) return r;
  }
  json_t *tmpfs = json_object_get(hc, "Tmpfs");
  const char *k;
  json_t *v;
  json_object_foreach(tmpfs, k, v) {
    if (k[0] != '/')
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "invalid mount path: '%s' mount path must be absolute", k);
    if (check_tmpfs_options(json_string_value(v) ?: "", err) < 0) return -err->code;
    add_tmpfs(o, k, json_string_value(v) ?: "");
  }
  return parse_mounts(hc, o, err);
}

static int add_tmpfs(struct ctr_opts *o, const char *target, const char *options) {
  o->tmpfs = xrealloc(o->tmpfs, (o->n_tmpfs + 2) * sizeof *o->tmpfs);
  o->tmpfs[o->n_tmpfs++] = (struct ctr_tmpfs){xstrdup(target), xstrdup(options)};
  return 0;
}

static int check_caps(char **caps, size_t n, const char *what, struct berth_err *err) {
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(caps[i], "ALL") && rt_cap_from_name(caps[i]) < 0)
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid %s: unknown capability: \"%s\"", what,
                           caps[i]);
  return 0;
}

/* SecurityOpt, read exactly one way for create, start and exec */
static int parse_security(json_t *hc, struct ctr_opts *o, struct berth_err *err) {
  o->cap_add = strv_of(json_object_get(hc, "CapAdd"), &o->n_cap_add);
  o->group_add = strv_of(json_object_get(hc, "GroupAdd"), &o->n_group_add);
  o->cap_drop = strv_of(json_object_get(hc, "CapDrop"), &o->n_cap_drop);
  int r = check_caps(o->cap_add, o->n_cap_add, "CapAdd", err);
  if (r == 0) r = check_caps(o->cap_drop, o->n_cap_drop, "CapDrop", err);
  if (r < 0) return r;
  o->privileged = flag(hc, "Privileged");
  o->userns_host = !strcmp(json_string_value(json_object_get(hc, "UsernsMode")) ?: "", "host");
  o->ipc_host = !strcmp(json_string_value(json_object_get(hc, "IpcMode")) ?: "", "host");
  o->uts_host = !strcmp(json_string_value(json_object_get(hc, "UTSMode")) ?: "", "host");
  o->pid_host = !strcmp(json_string_value(json_object_get(hc, "PidMode")) ?: "", "host");
  o->pid_of = mode_container(hc, "PidMode");
  const char *ipc = json_string_value(json_object_get(hc, "IpcMode")) ?: "";
  o->ipc_of = mode_container(hc, "IpcMode");
  o->ipc_shareable = !strcmp(ipc, "shareable");
  o->ipc_none = !strcmp(ipc, "none");
  o->readonly_rootfs = flag(hc, "ReadonlyRootfs");
  o->init = flag(hc, "Init");
  o->seccomp = true;
  size_t i;
  json_t *so;
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, so) {
    const char *s = json_string_value(so) ?: "";
    if (!strcmp(s, "seccomp=unconfined") || !strcmp(s, "seccomp:unconfined")) {
      o->seccomp = false;
    } else if (!strcmp(s, "no-new-privileges") || !strcmp(s, "no-new-privileges:true") ||
               !strcmp(s, "no-new-privileges=true")) {
      o->no_new_privs = true;
    } else if (!strcmp(s, "no-new-privileges:false") || !strcmp(s, "no-new-privileges=false")) {
      o->no_new_privs = false;
    } else if (str_has_prefix(s, "seccomp=")) {
      /* the client sends the profile's content, as the docker CLI does */
      if (rt_seccomp_check_profile(s + 8, err) < 0) return -err->code;
      free(o->seccomp_profile);
      o->seccomp_profile = xstrdup(s + 8);
    } else if (str_has_prefix(s, "label=") || str_has_prefix(s, "label:")) {
      /* docker with SELinux off accepts and ignores labels; with it on,
       * berth would ignore what docker applies */
      if (rt_selinux_enabled())
        return berth_err_set(err, BERTH_EINVAL, 0,
                             "--security-opt %s: berth does not apply SELinux labels", s);
    } else if (str_has_prefix(s, "apparmor=") || str_has_prefix(s, "apparmor:")) {
      if (rt_apparmor_enabled() && strcmp(s + 9, "unconfined"))
        return berth_err_set(err, BERTH_EINVAL, 0,
                             "--security-opt %s: berth does not apply AppArmor profiles", s);
    } else {
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid --security-opt: %s", s);
    }
  }
  return 0;
}

/* "80/tcp" -> 80, "tcp" */
static int port_key(const char *k, struct ctr_port *p, struct berth_err *err) {
  char *end;
  long v = strtol(k, &end, 10);
  const char *proto = *end == '/' ? end + 1 : *end ? "?" : "tcp";
  if (end == k || v < 1 || v > 65535 ||
      (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")))
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid port specification: \"%s\"", k);
  p->cport = (uint16_t)v;
  snprintf(p->proto, sizeof p->proto, "%s", proto);
  return 0;
}

/* "", "0": any; "8080"; "8000-8010" */
static int host_port(const char *s, struct ctr_port *p, struct berth_err *err) {
  char *end;
  if (!s || !*s) return 0;
  long lo = strtol(s, &end, 10), hi = lo;
  if (*end == '-') hi = strtol(end + 1, &end, 10);
  if (*end || lo < 0 || hi > 65535 || hi < lo || (lo == 0 && hi != 0))
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid port specification: \"%s\"", s);
  p->hlo = (uint16_t)lo, p->hhi = (uint16_t)hi;
  return 0;
}

static void add_port(struct ctr_opts *o, const struct ctr_port *p) {
  o->ports = xrealloc(o->ports, (o->n_ports + 1) * sizeof *o->ports);
  o->ports[o->n_ports++] = *p;
}

static int parse_ports(json_t *cfg, json_t *hc, struct ctr_opts *o, struct berth_err *err) {
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(hc, "PortBindings"), k, v) {
    struct ctr_port p = {0};
    int r = port_key(k, &p, err);
    if (r < 0) return r;
    size_t i;
    json_t *b;
    if (!json_array_size(v)) add_port(o, &p);
    json_array_foreach(v, i, b) {
      struct ctr_port q = p;
      snprintf(q.host_ip, sizeof q.host_ip, "%s",
               json_string_value(json_object_get(b, "HostIp")) ?: "");
      uint32_t ip;
      if (q.host_ip[0] && !strchr(q.host_ip, ':') && ip4_parse(q.host_ip, &ip) < 0)
        return berth_err_set(err, BERTH_EINVAL, 0, "invalid IP address: %s", q.host_ip);
      if ((r = host_port(json_string_value(json_object_get(b, "HostPort")), &q, err)) < 0) return r;
      add_port(o, &q);
    }
  }
  if (!json_is_true(json_object_get(hc, "PublishAllPorts"))) return 0;
  json_object_foreach(json_object_get(cfg, "ExposedPorts"), k, v) {
    struct ctr_port p = {0};
    int r = port_key(k, &p, err);
    if (r < 0) return r;
    bool bound = false;
    for (size_t i = 0; i < o->n_ports; i++)
      bound |= o->ports[i].cport == p.cport && !strcmp(o->ports[i].proto, p.proto);
    if (!bound) add_port(o, &p);
  }
  return 0;
}

/* --link: "name:alias", "name" (the alias is the name) or docker's stored
 * form "/name:/ctr/alias"; kept as "name:alias" */
static int parse_links(json_t *hc, struct ctr_opts *o, struct berth_err *err) {
  char **v = strv_of(json_object_get(hc, "Links"), &o->n_links);
  o->links = v;
  for (size_t i = 0; i < o->n_links; i++) {
    const char *s = v[i] + (v[i][0] == '/'), *colon = strchr(s, ':');
    size_t nl = colon ? (size_t)(colon - s) : strlen(s);
    const char *alias = colon ? colon + 1 : s;
    if (strrchr(alias, '/')) alias = strrchr(alias, '/') + 1;
    if (!nl || !*alias || memchr(s, '/', nl))
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid link format: %s", v[i]);
    char *t = xasprintf("%.*s:%s", (int)nl, s, alias);
    free(v[i]);
    v[i] = t;
  }
  return 0;
}

/* Config.MacAddress: six hex pairs */
static int parse_mac(json_t *cfg, struct ctr_opts *o, struct berth_err *err) {
  const char *m = json_string_value(json_object_get(cfg, "MacAddress"));
  if (!m || !*m) return 0;
  unsigned b[6];
  char extra;
  if (strlen(m) != 17 ||
      sscanf(m, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &extra) != 6)
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid MAC address: %s", m);
  if (b[0] & 1)
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid MAC address: %s: a multicast address", m);
  snprintf(o->mac, sizeof o->mac, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
           b[5]);
  return 0;
}

/* --dns, --dns-search, --dns-option, --add-host (HOST:IP, or
 * HOST:host-gateway), checked as docker checks them */
static int parse_dns(json_t *hc, struct ctr_opts *o, struct berth_err *err) {
  o->dns = strv_of(json_object_get(hc, "Dns"), &o->n_dns);
  o->dns_search = strv_of(json_object_get(hc, "DnsSearch"), &o->n_dns_search);
  o->dns_options = strv_of(json_object_get(hc, "DnsOptions"), &o->n_dns_options);
  o->extra_hosts = strv_of(json_object_get(hc, "ExtraHosts"), &o->n_extra_hosts);
  int r = parse_links(hc, o, err);
  if (r < 0) return r;
  uint32_t ip;
  for (size_t i = 0; i < o->n_dns; i++)
    if (ip4_parse(o->dns[i], &ip) < 0)
      return berth_err_set(err, BERTH_EINVAL, 0, "%s is not an ip address", o->dns[i]);
  for (size_t i = 0; i < o->n_extra_hosts; i++) {
    const char *h = o->extra_hosts[i], *c = strchr(h, ':');
    if (!c || c == h || (strcmp(c + 1, "host-gateway") && ip4_parse(c + 1, &ip) < 0))
      return berth_err_set(err, BERTH_EINVAL, 0, "invalid IP address in add-host: \"%s\"",
                           c ? c + 1 : h);
  }
  return 0;
}

struct ctr_opts *ctr_opts_parse(json_t *cfg, json_t *hc, struct berth_err *err) {
  struct ctr_opts *o = xcalloc(1, sizeof *o);
  o->refs = 1;
  int r = parse_config(cfg, o, err);
  if (r == 0) r = parse_health(cfg, o, err);
  if (r == 0) r = parse_network_restart(hc, o, err);
  if (r == 0) r = parse_binds(hc, o, err);
  if (r == 0) r = parse_security(hc, o, err);
  if (r == 0) r = parse_ports(cfg, hc, o, err);
  if (r == 0) r = parse_dns(hc, o, err);
  if (r == 0) r = parse_mac(cfg, o, err);
  if (r == 0) r = parse_limits(hc, o, err);
  if (r == 0) r = parse_devices(hc, o, err);
  if (r == 0) r = ctr_resources_parse(hc, &o->res, err);
  json_t *log = json_object_get(hc, "LogConfig");
  o->log_type = str_of(log, "Type");
  json_t *lc = json_object_get(log, "Config");
  o->log_config = json_is_object(lc) ? json_deep_copy(lc) : json_object();
  if (r < 0) {
    ctr_opts_put(o);
    return NULL;
  }
  return o;
}

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void ctr_opts_put(struct ctr_opts *o) {
  if (!o || __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
  free(o->image);
  free(o->hostname);
  free(o->domainname);
  free(o->user);
  free(o->workdir);
  free(o->pid_of);
  free(o->ipc_of);
  strv_free(o->env, o->n_env);
  strv_free(o->entrypoint, o->n_entrypoint);
  strv_free(o->cmd, o->n_cmd);
  strv_free(o->health_cmd, o->n_health_cmd);
  strv_free(o->shell, o->n_shell);
  json_decref(o->limits);
  json_decref(o->labels);
  free(o->network_mode);
  free(o->volume_driver);
  free(o->log_type);
  json_decref(o->log_config);
  for (size_t i = 0; o->binds && i < o->n_binds; i++)
    free(o->binds[i].source), free(o->binds[i].target), free(o->binds[i].mode),
        free(o->binds[i].propagation), free(o->binds[i].driver),
        json_decref(o->binds[i].driver_opts), json_decref(o->binds[i].labels);
  free(o->binds);
  for (size_t i = 0; o->tmpfs && i < o->n_tmpfs; i++)
    free(o->tmpfs[i].target), free(o->tmpfs[i].options);
  free(o->tmpfs);
  strv_free(o->cap_add, o->n_cap_add);
  strv_free(o->group_add, o->n_group_add);
  strv_free(o->cap_drop, o->n_cap_drop);
  free(o->ports);
  strv_free(o->dns, o->n_dns);
  strv_free(o->dns_search, o->n_dns_search);
  strv_free(o->dns_options, o->n_dns_options);
  strv_free(o->extra_hosts, o->n_extra_hosts);
  strv_free(o->links, o->n_links);
  free(o->seccomp_profile);
  ctr_resources_free(&o->res);
  free(o);
}

struct ctr_opts *ctr_opts_get(struct container *c) {
  ctr_lock();
  struct ctr_opts *o = c->opts;
  if (o) __atomic_add_fetch(&o->refs, 1, __ATOMIC_ACQ_REL);
  ctr_unlock();
  return o;
}

void ctr_opts_set(struct container *c, struct ctr_opts *o) {
  ctr_lock();
  struct ctr_opts *old = c->opts;
  c->opts = o;
  ctr_unlock();
  ctr_opts_put(old);
}

/* what docker's update changes (daemon/update.go): a zero value is "not given" */
json_t *ctr_hostconfig_update(json_t *hc, json_t *body, struct berth_err *err) {
  static const struct {
    const char *key;
    json_type type;
  } keys[] = {{"Memory", JSON_INTEGER},
              {"MemorySwap", JSON_INTEGER},
              {"MemoryReservation", JSON_INTEGER},
              {"NanoCpus", JSON_INTEGER},
              {"CpuShares", JSON_INTEGER},
              {"CpusetCpus", JSON_STRING},
              {"CpusetMems", JSON_STRING},
              {"PidsLimit", JSON_INTEGER},
              {"RestartPolicy", JSON_OBJECT},
              {"CpuQuota", JSON_INTEGER},
              {"CpuPeriod", JSON_INTEGER},
              {"BlkioWeight", JSON_INTEGER}};
  json_t *out = json_deep_copy(hc);
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
    json_t *v = json_object_get(body, keys[i].key);
    if (!v || json_is_null(v)) continue; /* Go's pointers: the docker CLI sends PidsLimit null */
    if (json_is_integer(v) && json_integer_value(v) == 0) continue;
    if (json_is_string(v) && !*json_string_value(v)) continue;
    if (keys[i].type != JSON_OBJECT && json_typeof(v) != keys[i].type) {
      json_decref(out);
      berth_err_set(err, BERTH_EINVAL, 0,
                    "json: cannot unmarshal %s into Go struct field UpdateConfig.%s of type %s",
                    json_is_string(v)    ? "string"
                    : json_is_integer(v) ? "number"
                                         : "value",
                    keys[i].key, keys[i].type == JSON_STRING ? "string" : "int64");
      return NULL;
    }
    json_object_set_new(out, keys[i].key, json_deep_copy(v));
  }
  return out;
}

static json_int_t int_of(const json_t *o, const char *key) {
  return json_integer_value(json_object_get(o, key));
}

/* What dockerd's update refuses given what the container has
 * (UpdateContainer, container/container_unix.go), in its words into msg:
 * false when the update fits.  hc: the container's HostConfig; body: the
 * update's (a zero is "not given"). */
bool ctr_update_conflict(const json_t *hc, const json_t *body, char *msg, size_t len) {
  static const struct {
    const char *given, *has, *msg;
  } cpu[] = {
      {"NanoCpus", "CpuPeriod", "Nano CPUs cannot be updated as CPU Period has already been set"},
      {"NanoCpus", "CpuQuota", "Nano CPUs cannot be updated as CPU Quota has already been set"},
      {"CpuPeriod", "NanoCpus", "CPU Period cannot be updated as NanoCPUs has already been set"},
      {"CpuQuota", "NanoCpus", "CPU Quota cannot be updated as NanoCPUs has already been set"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cpu); i++)
    if (int_of(body, cpu[i].given) > 0 && int_of(hc, cpu[i].has) > 0)
      return snprintf(msg, len, "Conflicting options: %s", cpu[i].msg), true;
  json_int_t mem = int_of(body, "Memory");
  if (mem != 0 && int_of(body, "MemorySwap") == 0 && mem > int_of(hc, "MemorySwap"))
    return snprintf(msg, len, "%s",
                    "Memory limit should be smaller than already set memoryswap limit, update "
                    "the memoryswap at the same time"),
           true;
  const char *policy =
      json_string_value(json_object_get(json_object_get(body, "RestartPolicy"), "Name"));
  if (policy && *policy && strcmp(policy, "no") && json_is_true(json_object_get(hc, "AutoRemove")))
    return snprintf(msg, len, "%s",
                    "Restart policy cannot be updated because AutoRemove is enabled for the "
                    "container"),
           true;
  return false;
}

/* ---- the process environment ---- */

struct envb {
  char **v;
  size_t n;
  json_t *where; /* name -> index */
};

static void env_put(struct envb *b, const char *kv, bool replace) {
  cleanup_free char *key = strndup(kv, strcspn(kv, "="));
  json_t *at = json_object_get(b->where, key);
  if (at && !replace) return;
  if (at) {
    size_t i = (size_t)json_integer_value(at);
    free(b->v[i]);
    b->v[i] = xstrdup(kv);
    return;
  }
  b->v = xrealloc(b->v, (b->n + 2) * sizeof *b->v);
  json_object_set_new(b->where, key, json_integer((json_int_t)b->n));
  b->v[b->n++] = xstrdup(kv);
  b->v[b->n] = NULL;
}

/* docker's order (CreateDaemonEnvironment, then runc): PATH, HOSTNAME and
 * with a tty TERM first, each replaced in place by Config.Env's and then
 * an exec's own, which append the rest; HOME last when no one set it */
char **ctr_env(const struct ctr_opts *o, char *const *extra, size_t n_extra, const char *home,
               bool tty, size_t *n) {
  struct envb b = {xcalloc(1, sizeof(char *)), 0, json_object()};
  env_put(&b, "PATH=" RT_DEFAULT_PATH, true);
  cleanup_free char *hn = xasprintf("HOSTNAME=%s", o->hostname);
  env_put(&b, hn, true);
  if (tty) env_put(&b, "TERM=xterm", true);
  for (size_t i = 0; i < o->n_env; i++)
    env_put(&b, o->env[i], true);
  for (size_t i = 0; i < n_extra; i++)
    if (strchr(extra[i], '=')) env_put(&b, extra[i], true);
  cleanup_free char *hm = xasprintf("HOME=%s", home && *home ? home : "/");
  env_put(&b, hm, false);
  json_decref(b.where);
  *n = b.n;
  return b.v;
}

void ctr_env_free(char **env, size_t n) {
  strv_free(env, n);
}
