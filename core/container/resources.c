/* HostConfig's resources (docker's container.Resources): parsed once into
 * struct ctr_resources, checked as dockerd checks them, fitted to what this
 * host's cgroups can hold (a limit it cannot hold is discarded with
 * docker's warning, as dockerd's verifyPlatformContainerResources does) and
 * turned into the cgroup limits of a shim's spec or of an update. */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../runtime/cgroup.h"
#include "config.h"

/* the per-device fields: HostConfig's name, the spec's kind, the entry's
 * number, and docker's warning where the host has no file for it */
static const struct {
  const char *field, *kind, *value;
  enum cg_feature needs;
  const char *warning;
} blkio_fields[] = {
    {"BlkioWeightDevice", "weight", "Weight", CG_BLKIO_WEIGHT_DEVICE,
     "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. "
     "Weight-device discarded."},
    {"BlkioDeviceReadBps", "read_bps", "Rate", CG_BLKIO_THROTTLE,
     "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block "
     "I/O BPS read limit discarded."},
    {"BlkioDeviceWriteBps", "write_bps", "Rate", CG_BLKIO_THROTTLE,
     "Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block "
     "I/O BPS write limit discarded."},
    {"BlkioDeviceReadIOps", "read_iops", "Rate", CG_BLKIO_THROTTLE,
     "Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O "
     "IOPS read limit discarded."},
    {"BlkioDeviceWriteIOps", "write_iops", "Rate", CG_BLKIO_THROTTLE,
     "Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O "
     "IOPS write limit discarded."},
};

static int64_t num(json_t *obj, const char *key) {
  return json_integer_value(json_object_get(obj, key));
}

static char *str_of(json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return xstrdup(s ? s : "");
}

static void warn(json_t *warnings, const char *msg) {
  if (warnings) json_array_append_new(warnings, json_string(msg));
}

/* ---- fitting a HostConfig to the host (create and update) ---- */

static void fit_memory(json_t *hc, const struct cgroup_ops *cg, json_t *warnings) {
  json_t *sw = json_object_get(hc, "MemorySwappiness");
  if (json_is_integer(sw) && json_integer_value(sw) >= 0 && !cg->has(CG_MEMORY_SWAPPINESS)) {
    warn(warnings, "Your kernel does not support memory swappiness capabilities or the cgroup is "
                   "not mounted. Memory swappiness discarded.");
    json_object_set_new(hc, "MemorySwappiness", json_null());
  }
  if (num(hc, "MemoryReservation") > 0 && !cg->has(CG_MEMORY_RESERVATION)) {
    warn(warnings, "Your kernel does not support memory soft limit capabilities or the cgroup is "
                   "not mounted. Limitation discarded.");
    json_object_set_new(hc, "MemoryReservation", json_integer(0));
  }
  bool oom_off = json_is_true(json_object_get(hc, "OomKillDisable"));
  if (oom_off && !cg->has(CG_OOM_KILL_DISABLE)) {
    warn(warnings, "Your kernel does not support OomKillDisable. OomKillDisable discarded.");
    json_object_set_new(hc, "OomKillDisable", json_false());
  } else if (oom_off && num(hc, "Memory") == 0) {
    warn(warnings, "OOM killer is disabled for the container, but no memory limit is set, this "
                   "can result in the system running out of resources.");
  }
}

/* the base limits: discarded (set to none: 0, or null for PidsLimit)
 * where this host's cgroups have no file for them, with dockerd's warning */
static const struct {
  const char *field;
  enum cg_feature needs;
  const char *warning;
  bool to_null;
} base_fields[] = {
    {"Memory", CG_MEMORY,
     "Your kernel does not support memory limit capabilities or the cgroup is not mounted. "
     "Limitation discarded.",
     false},
    {"PidsLimit", CG_PIDS,
     "Your kernel does not support pids limit capabilities or the cgroup is not mounted. PIDs "
     "limit discarded.",
     true},
    {"CpuShares", CG_CPU_SHARES,
     "Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.",
     false},
    {"CpuPeriod", CG_CPU_CFS,
     "Your kernel does not support CPU cfs period or the cgroup is not mounted. Period "
     "discarded.",
     false},
    {"CpuQuota", CG_CPU_CFS,
     "Your kernel does not support CPU cfs quota or the cgroup is not mounted. Quota discarded.",
     false},
};

static int fit_base(json_t *hc, const struct cgroup_ops *cg, json_t *warnings,
                    struct berth_err *err) {
  if (num(hc, "NanoCpus") > 0 && !cg->has(CG_CPU_CFS))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "NanoCPUs can not be set, as your kernel does not support CPU CFS "
                         "scheduler or the cgroup is not mounted");
  for (size_t i = 0; i < ARRAY_SIZE(base_fields); i++) {
    json_t *v = json_object_get(hc, base_fields[i].field);
    if (!json_is_integer(v) || json_integer_value(v) == 0 || cg->has(base_fields[i].needs))
      continue;
    if (json_integer_value(v) > 0) warn(warnings, base_fields[i].warning);
    json_object_set_new(hc, base_fields[i].field,
                        base_fields[i].to_null ? json_null() : json_integer(0));
    if (base_fields[i].needs == CG_MEMORY) /* no memory limit: no swap limit either */
      json_object_set_new(hc, "MemorySwap", json_integer(-1));
  }
  int64_t swap = num(hc, "MemorySwap");
  if (num(hc, "Memory") > 0 && swap != -1 && !cg->has(CG_MEMORY_SWAP)) {
    warn(warnings, "Your kernel does not support swap limit capabilities or the cgroup is not "
                   "mounted. Memory limited without swap.");
    json_object_set_new(hc, "MemorySwap", json_integer(-1));
  } else if (num(hc, "Memory") > 0 && swap == 0) { /* dockerd's default: twice the memory */
    json_object_set_new(hc, "MemorySwap", json_integer(2 * num(hc, "Memory")));
  }
  const char *cpus = json_string_value(json_object_get(hc, "CpusetCpus"));
  const char *mems = json_string_value(json_object_get(hc, "CpusetMems"));
  if (((cpus && *cpus) || (mems && *mems)) && !cg->has(CG_CPUSET)) {
    warn(warnings,
         "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.");
    json_object_set_new(hc, "CpusetCpus", json_string(""));
    json_object_set_new(hc, "CpusetMems", json_string(""));
  }
  return 0;
}

int ctr_resources_fit(json_t *hc, json_t *warnings, struct berth_err *err) {
  const struct cgroup_ops *cg = cgroup_ops();
  int r = fit_base(hc, cg, warnings, err);
  if (r < 0) return r;
  fit_memory(hc, cg, warnings);
  if (num(hc, "BlkioWeight") > 0 && !cg->has(CG_BLKIO_WEIGHT)) {
    warn(warnings, "Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                   "Weight discarded.");
    json_object_set_new(hc, "BlkioWeight", json_integer(0));
  }
  for (size_t i = 0; i < ARRAY_SIZE(blkio_fields); i++) {
    json_t *v = json_object_get(hc, blkio_fields[i].field);
    if (json_array_size(v) == 0 || cg->has(blkio_fields[i].needs)) continue;
    warn(warnings, blkio_fields[i].warning);
    json_object_set_new(hc, blkio_fields[i].field, json_array());
  }
  return 0;
}

/* ---- parsing and checking ---- */

static void blkio_free(struct ctr_resources *r) {
  for (size_t i = 0; i < r->n_blkio; i++)
    free(r->blkio[i].path);
  free(r->blkio);
  r->blkio = NULL;
  r->n_blkio = 0;
}

static int parse_blkio(json_t *hc, struct ctr_resources *r, struct berth_err *err) {
  for (size_t f = 0; f < ARRAY_SIZE(blkio_fields); f++) {
    json_t *a = json_object_get(hc, blkio_fields[f].field);
    if (!a || json_is_null(a)) continue;
    size_t i;
    json_t *e;
    if (!json_is_array(a))
      return berth_err_set(err, BERTH_EINVAL, 0, "HostConfig.%s: want a list of {\"Path\", \"%s\"}",
                           blkio_fields[f].field, blkio_fields[f].value);
    json_array_foreach(a, i, e) {
      const char *path = json_string_value(json_object_get(e, "Path"));
      json_t *v = json_object_get(e, blkio_fields[f].value);
      if (!path || !*path || !json_is_integer(v) || json_integer_value(v) < 0)
        return berth_err_set(err, BERTH_EINVAL, 0,
                             "HostConfig.%s: entry %zu wants a \"Path\" and a \"%s\" of 0 or more",
                             blkio_fields[f].field, i, blkio_fields[f].value);
      r->blkio = xrealloc(r->blkio, (r->n_blkio + 1) * sizeof *r->blkio);
      r->blkio[r->n_blkio++] =
          (struct ctr_blkio){xstrdup(path), blkio_fields[f].kind, json_integer_value(v)};
    }
  }
  return 0;
}

/* a cpuset list ("0-2,4") against the host's ("0-1"): 0 all there, 1 not,
 * -1 not a list (docker's parsers.ParseUintList) */
static int list_within(const char *want, const char *have) {
  enum { MAX = 8192 };
  cleanup_free unsigned char *ok = xcalloc(MAX, 1);
  for (int pass = 0; pass < 2; pass++) {
    const char *s = pass ? want : have;
    while (s && *s && *s != '\n') {
      char *end;
      unsigned long lo = strtoul(s, &end, 10), hi = lo;
      if (end == s) return -1;
      if (*end == '-') {
        const char *h = end + 1;
        hi = strtoul(h, &end, 10);
        if (end == h || hi < lo) return -1;
      }
      if (*end && *end != ',' && *end != '\n') return -1;
      for (unsigned long n = lo; n <= hi; n++) {
        if (n >= MAX) return pass ? 1 : 0;
        if (!pass)
          ok[n] = 1;
        else if (!ok[n])
          return 1;
      }
      s = *end == ',' ? end + 1 : end;
    }
  }
  return 0;
}

static int check_cpuset(const char *want, const char *what, const char *sys_file, const char *noun,
                        struct berth_err *err) {
  if (!want || !*want) return 0;
  cleanup_free char *have = read_file(sys_file, NULL);
  if (!have) have = xstrdup("0");
  have[strcspn(have, "\n")] = 0;
  int r = list_within(want, have);
  if (r < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "Invalid value %s for cpuset %s: invalid format: %s",
                         want, what, want);
  if (r > 0)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Requested %s are not available - requested %s, "
                         "available: %s",
                         noun, want, have);
  return 0;
}

static int check_resources(const struct ctr_resources *r, struct berth_err *err) {
  if (r->memory != 0 && r->memory < 6 * 1024 * 1024)
    return berth_err_set(err, BERTH_EINVAL, 0, "Minimum memory limit allowed is 6MB");
  if (r->memory_swap > 0 && r->memory > 0 && r->memory_swap < r->memory)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Minimum memoryswap limit should be larger than memory limit, see usage");
  if (r->memory_swappiness < -1 || r->memory_swappiness > 100)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Invalid value: %lld, valid memory swappiness range is 0-100",
                         (long long)r->memory_swappiness);
  if (r->memory_reservation > 0 && r->memory_reservation < 6 * 1024 * 1024)
    return berth_err_set(err, BERTH_EINVAL, 0, "Minimum memory reservation allowed is 6MB");
  if (r->memory > 0 && r->memory_reservation > 0 && r->memory < r->memory_reservation)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Minimum memory limit can not be less than memory reservation limit, "
                         "see usage");
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (r->nano_cpus < 0 || r->nano_cpus > (int64_t)ncpu * 1000000000)
    return berth_err_set(
        err, BERTH_EINVAL, 0,
        "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs available", ncpu, ncpu);
  if (r->cpu_shares < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid CPU shares: must be a positive number");
  if (r->nano_cpus > 0 && (r->cpu_period > 0 || r->cpu_quota > 0))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Conflicting options: Nano CPUs and CPU %s cannot both be set",
                         r->cpu_period > 0 ? "Period" : "Quota");
  int e = check_cpuset(r->cpuset_cpus, "cpus", "/sys/devices/system/cpu/online", "CPUs", err);
  if (e == 0)
    e = check_cpuset(r->cpuset_mems, "mems", "/sys/devices/system/node/online", "memory nodes",
                     err);
  if (e < 0) return e;
  if (r->blkio_weight > 0 && (r->blkio_weight < 10 || r->blkio_weight > 1000))
    return berth_err_set(err, BERTH_EINVAL, 0, "Range of blkio weight is from 10 to 1000");
  return 0;
}

int ctr_resources_parse(json_t *hc, struct ctr_resources *r, struct berth_err *err) {
  r->memory = num(hc, "Memory");
  r->memory_swap = num(hc, "MemorySwap");
  r->memory_reservation = num(hc, "MemoryReservation");
  json_t *sw = json_object_get(hc, "MemorySwappiness");
  r->memory_swappiness = json_is_integer(sw) ? json_integer_value(sw) : -1;
  r->oom_kill_disable = json_is_true(json_object_get(hc, "OomKillDisable"));
  r->nano_cpus = num(hc, "NanoCpus");
  r->cpu_shares = num(hc, "CpuShares");
  r->cpu_quota = num(hc, "CpuQuota");
  r->cpu_period = num(hc, "CpuPeriod");
  r->pids_limit = num(hc, "PidsLimit");
  r->cpuset_cpus = str_of(hc, "CpusetCpus");
  r->cpuset_mems = str_of(hc, "CpusetMems");
  r->blkio_weight = num(hc, "BlkioWeight");
  int e = parse_blkio(hc, r, err);
  return e < 0 ? e : check_resources(r, err);
}

void ctr_resources_free(struct ctr_resources *r) {
  free(r->cpuset_cpus);
  free(r->cpuset_mems);
  blkio_free(r);
}

/* ---- the cgroup limits ---- */

/* each device by its number, as dockerd resolves them when it starts the
 * container (a path that is gone by then fails the start) */
static json_t *blkio_devices(const struct ctr_resources *r, struct berth_err *err) {
  json_t *a = json_array();
  for (size_t i = 0; i < r->n_blkio; i++) {
    struct stat st;
    if (stat(r->blkio[i].path, &st) < 0) {
      json_decref(a);
      err_sys(err, BERTH_EINVAL, "stat %s", r->blkio[i].path);
      return NULL;
    }
    if (!S_ISBLK(st.st_mode)) {
      json_decref(a);
      berth_err_set(err, BERTH_EINVAL, 0, "%s is not a block device", r->blkio[i].path);
      return NULL;
    }
    json_array_append_new(a, json_pack("{s:s,s:I,s:I,s:I}", "kind", r->blkio[i].kind, "major",
                                       (json_int_t)major(st.st_rdev), "minor",
                                       (json_int_t)minor(st.st_rdev), "value",
                                       (json_int_t)r->blkio[i].value));
  }
  return a;
}

json_t *ctr_cg_limits(const struct ctr_resources *r, struct cg_limits *l, struct berth_err *err) {
  json_t *devs = blkio_devices(r, err);
  if (!devs) return NULL;
  int64_t cpus = r->nano_cpus;
  if (!cpus && r->cpu_quota > 0)
    cpus = r->cpu_quota * 1000000000LL / (r->cpu_period > 0 ? r->cpu_period : 100000);
  *l = (struct cg_limits){.memory = r->memory,
                          .memory_swap = r->memory_swap,
                          .nano_cpus = cpus,
                          .cpu_shares = r->cpu_shares,
                          .cpuset_cpus = r->cpuset_cpus,
                          .pids_limit = r->pids_limit,
                          .memory_reservation = r->memory_reservation,
                          .memory_swappiness = r->memory_swappiness,
                          .oom_kill_disable = r->oom_kill_disable,
                          .cpuset_mems = r->cpuset_mems,
                          .blkio_weight = r->blkio_weight,
                          .blkio_devices = devs};
  return devs;
}

json_t *ctr_cgroup_json(const struct ctr_resources *r, struct berth_err *err) {
  struct cg_limits l;
  json_t *devs = ctr_cg_limits(r, &l, err);
  if (!devs) return NULL;
  json_t *j = cgroup_limits_json(&l);
  json_decref(devs);
  return j;
}
