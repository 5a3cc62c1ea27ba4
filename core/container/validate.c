/* The create body, checked before anything is made: docker decodes it into
 * typed Go structs and refuses a field of the wrong type with a 400; so do
 * we, with the same wording, instead of ignoring it or failing at start. */
#include <unistd.h>

#include "../runtime/runtime.h"
#include "container.h"

enum ftype {
  F_STR,      /* string */
  F_BOOL,     /* true/false */
  F_INT,      /* integer */
  F_STRS,     /* array of strings */
  F_STRSLICE, /* a string or an array of strings (docker's strslice) */
  F_OBJ,      /* object */
  F_STRMAP,   /* object of strings */
};

struct field {
  const char *name;
  enum ftype type;
};

static const struct field config_fields[] = {
    {"Hostname", F_STR},     {"Domainname", F_STR},       {"User", F_STR},
    {"AttachStdin", F_BOOL}, {"AttachStdout", F_BOOL},    {"AttachStderr", F_BOOL},
    {"Tty", F_BOOL},         {"OpenStdin", F_BOOL},       {"StdinOnce", F_BOOL},
    {"Env", F_STRS},         {"Cmd", F_STRSLICE},         {"Entrypoint", F_STRSLICE},
    {"Image", F_STR},        {"WorkingDir", F_STR},       {"Labels", F_STRMAP},
    {"StopSignal", F_STR},   {"StopTimeout", F_INT},      {"ExposedPorts", F_OBJ},
    {"Volumes", F_OBJ},      {"NetworkDisabled", F_BOOL}, {"MacAddress", F_STR},
    {"OnBuild", F_STRS},     {"Shell", F_STRS},           {"Healthcheck", F_OBJ},
    {"ArgsEscaped", F_BOOL},
};

static const struct field host_fields[] = {
    {"Binds", F_STRS},
    {"NetworkMode", F_STR},
    {"PortBindings", F_OBJ},
    {"RestartPolicy", F_OBJ},
    {"AutoRemove", F_BOOL},
    {"VolumeDriver", F_STR},
    {"VolumesFrom", F_STRS},
    {"CapAdd", F_STRS},
    {"CapDrop", F_STRS},
    {"Dns", F_STRS},
    {"DnsOptions", F_STRS},
    {"DnsSearch", F_STRS},
    {"ExtraHosts", F_STRS},
    {"Privileged", F_BOOL},
    {"PublishAllPorts", F_BOOL},
    {"ReadonlyRootfs", F_BOOL},
    {"SecurityOpt", F_STRS},
    {"Tmpfs", F_STRMAP},
    {"Init", F_BOOL},
    {"Memory", F_INT},
    {"MemorySwap", F_INT},
    {"MemoryReservation", F_INT},
    {"NanoCpus", F_INT},
    {"CpuShares", F_INT},
    {"CpuQuota", F_INT},
    {"CpuPeriod", F_INT},
    {"PidsLimit", F_INT},
    {"CpusetCpus", F_STR},
    {"CpusetMems", F_STR},
    {"MemorySwappiness", F_INT},
    {"BlkioWeight", F_INT},
    {"LogConfig", F_OBJ},
    {"Mounts", F_OBJ},
    {"ShmSize", F_INT},
    {"OomKillDisable", F_BOOL},
    {"Ulimits", F_OBJ},
    {"IpcMode", F_STR},
    {"PidMode", F_STR},
    {"UTSMode", F_STR},
};

static const char *go_type(enum ftype t) {
  static const char *const names[] = {
      "string", "bool", "int64", "[]string", "strslice.StrSlice", "struct", "map[string]string"};
  return names[t];
}

static const char *json_kind(json_t *v) {
  switch (json_typeof(v)) {
  case JSON_STRING: return "string";
  case JSON_INTEGER:
  case JSON_REAL: return "number";
  case JSON_TRUE:
  case JSON_FALSE: return "bool";
  case JSON_ARRAY: return "array";
  case JSON_OBJECT: return "object";
  default: return "null";
  }
}

static bool all_strings(json_t *a) {
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) if (!json_is_string(v)) return false;
  return true;
}

static bool type_ok(json_t *v, enum ftype t) {
  if (json_is_null(v)) return true; /* Go leaves the zero value */
  switch (t) {
  case F_STR: return json_is_string(v);
  case F_BOOL: return json_is_boolean(v);
  case F_INT: return json_is_integer(v);
  case F_STRS: return json_is_array(v) && all_strings(v);
  case F_STRSLICE: return json_is_string(v) || (json_is_array(v) && all_strings(v));
  case F_OBJ: return json_is_object(v);
  case F_STRMAP: {
    if (!json_is_object(v)) return false;
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) if (!json_is_string(x)) return false;
    return true;
  }
  }
  return false;
}

static int check_fields(json_t *obj, const char *where, const struct field *f, size_t n,
                        struct berth_err *err) {
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_object_get(obj, f[i].name);
    /* Mounts and Ulimits are arrays of objects */
    bool arr_of_obj = !strcmp(f[i].name, "Mounts") || !strcmp(f[i].name, "Ulimits");
    if (!v || (arr_of_obj ? json_is_array(v) || json_is_null(v) : type_ok(v, f[i].type))) continue;
    json_t *bad = v;
    if (json_is_array(v)) { /* Go names the element that did not fit */
      size_t k;
      json_t *x;
      json_array_foreach(v, k, x) if (!json_is_string(x)) {
        bad = x;
        break;
      }
    }
    return berth_err_set(
        err, BERTH_EINVAL, 0, "json: cannot unmarshal %s into Go struct field %s.%s of type %s",
        json_kind(bad), where, f[i].name, bad == v ? go_type(f[i].type) : "string");
  }
  return 0;
}

/* docker's strslice: "echo hi" is ["echo hi"] */
static void normalise_strslice(json_t *cfg, const char *key) {
  json_t *v = json_object_get(cfg, key);
  if (json_is_string(v)) json_object_set_new(cfg, key, json_pack("[O]", v));
}

/* the values that are not Config/HostConfig fields of their own */
/* the namespace modes: one that is none of docker's values is invalid
 * (docker's words, "invalid IPC mode: x"); one of docker's that berth
 * does not implement yet is refused with the field named, never accepted
 * and ignored */
static int check_modes(json_t *hc, struct berth_err *err) {
  static const struct {
    const char *field, *name; /* name: every docker value is berth's too (dockerd's word) */
    const char *const ok[5];
    bool other; /* "container:<ref>" too */
  } modes[] = {{"PidMode", "invalid PID", {"", "private", "host", NULL}, true},
               {"UTSMode", "invalid UTS", {"", "private", "host", NULL}, false},
               {"IpcMode", "Invalid IPC", {"", "private", "shareable", "host", "none"}, true},
               {"CgroupnsMode", NULL, {"", "private", NULL}, false},
               {"UsernsMode", NULL, {"", "private", "host", NULL}, false}};
  for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
    const char *v = json_string_value(json_object_get(hc, modes[i].field));
    bool ok = !v;
    for (size_t k = 0; !ok && k < ARRAY_SIZE(modes[i].ok) && modes[i].ok[k]; k++)
      ok = !strcmp(v, modes[i].ok[k]);
    if (!ok && modes[i].other && str_has_prefix(v, "container:")) ok = v[strlen("container:")] != 0;
    if (!ok && modes[i].name)
      return berth_err_set(err, BERTH_EINVAL, 0, "%s mode: %s", modes[i].name, v);
    if (!ok)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "HostConfig.%s \"%s\" is not supported by berth yet (docs/compat.md)",
                           modes[i].field, v);
  }
  const char *rt = json_string_value(json_object_get(hc, "Runtime"));
  if (rt && *rt && strcmp(rt, "berth"))
    return berth_err_set(err, BERTH_EINVAL, 0, "Unknown runtime specified %s", rt);
  return 0;
}

/* a value other than Go's zero one (null, 0, false, "", [] and {} are
 * what clients send for "not set") */
static bool is_set(json_t *v) {
  switch (v ? json_typeof(v) : JSON_NULL) {
  case JSON_STRING: return *json_string_value(v) != 0;
  case JSON_INTEGER: return json_integer_value(v) != 0;
  case JSON_REAL: return json_real_value(v) != 0;
  case JSON_TRUE: return true;
  case JSON_ARRAY: return json_array_size(v) > 0;
  case JSON_OBJECT: return json_object_size(v) > 0;
  default: return false;
  }
}

/* a JSON array of exactly these strings, in this order */
static bool same_strings(json_t *a, const char *const *v) {
  size_t n = 0;
  while (v[n])
    n++;
  if (json_array_size(a) != n) return false;
  for (size_t i = 0; i < n; i++)
    if (!json_is_string(json_array_get(a, i)) ||
        strcmp(json_string_value(json_array_get(a, i)), v[i]))
      return false;
  return true;
}

/* what berth does not implement: refused when set, naming the field,
 * never accepted and ignored (docs/compat.md lists them) */
static int check_unimplemented(json_t *body, json_t *hc, struct berth_err *err) {
  static const char *const host[] = {"DeviceRequests",    "CgroupParent",       "Cgroup",
                                     "CpuRealtimePeriod", "CpuRealtimeRuntime", "KernelMemory",
                                     "KernelMemoryTCP",   "StorageOpt",         "Annotations",
                                     "CpuCount",          "CpuPercent",         "IOMaximumIOps",
                                     "IOMaximumBandwidth"};
  for (size_t i = 0; i < ARRAY_SIZE(host); i++)
    if (is_set(json_object_get(hc, host[i])))
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "HostConfig.%s is not supported by berth yet (docs/compat.md)", host[i]);
  /* [] unmasks (--security-opt systempaths=unconfined): only null, or the
   * defaults themselves (inspect's HostConfig sent back), keeps docker's */
  static const char *const paths[] = {"MaskedPaths", "ReadonlyPaths"};
  const char *const *defaults[] = {rt_masked_paths, rt_readonly_paths};
  for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
    json_t *v = json_object_get(hc, paths[i]);
    if (json_is_array(v) && !same_strings(v, defaults[i]))
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "HostConfig.%s is not supported by berth yet (docs/compat.md)",
                           paths[i]);
  }
  const char *iso = json_string_value(json_object_get(hc, "Isolation"));
  if (iso && *iso && strcmp(iso, "default"))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Invalid isolation: \"%s\" - linux only supports 'default'", iso);
  static const char *const cfg[] = {"NetworkDisabled"};
  for (size_t i = 0; i < ARRAY_SIZE(cfg); i++)
    if (is_set(json_object_get(body, cfg[i])))
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "Config.%s is not supported by berth yet (docs/compat.md)", cfg[i]);
  return 0;
}

static int check_values(json_t *hc, struct berth_err *err) {
  int r = check_modes(hc, err);
  if (r < 0) return r;
  json_t *rp = json_object_get(hc, "RestartPolicy");
  json_t *name = json_object_get(rp, "Name"), *max = json_object_get(rp, "MaximumRetryCount");
  if ((name && !json_is_string(name) && !json_is_null(name)) ||
      (max && !json_is_integer(max) && !json_is_null(max)))
    return berth_err_set(
        err, BERTH_EINVAL, 0,
        "json: cannot unmarshal %s into Go struct field RestartPolicy.%s of type %s",
        json_kind(name && !json_is_string(name) ? name : max),
        name && !json_is_string(name) ? "Name" : "MaximumRetryCount",
        name && !json_is_string(name) ? "string" : "int");
  /* create's own rule (an update may set the swap alone), as docker's */
  if (json_integer_value(json_object_get(hc, "MemorySwap")) > 0 &&
      json_integer_value(json_object_get(hc, "Memory")) == 0)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "You should always set the Memory limit when using Memoryswap limit, "
                         "see usage");
  return 0;
}

static bool nonempty(json_t *v) {
  return (json_is_array(v) && json_array_size(v)) || (json_is_object(v) && json_object_size(v)) ||
         (json_is_string(v) && *json_string_value(v));
}

/* dockerd's validateNetContainerMode: what --network container:<x> or host
 * cannot go with, in its order and words */
static int check_net_mode(json_t *body, json_t *hc, struct berth_err *err) {
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode")) ?: "";
  bool ctr = !strncmp(mode, "container:", 10), host = !strcmp(mode, "host");
  static const struct {
    bool in_hc;
    const char *key, *msg;
  } conflicts[] = {
      {false, "Hostname", "conflicting options: hostname and the network mode"},
      {true, "Links",
       "conflicting options: container type network can't be used with links. This would "
       "result in undefined behavior"},
      {true, "Dns", "conflicting options: dns and the network mode"},
      {true, "ExtraHosts", "conflicting options: custom host-to-IP mapping and the network mode"},
      {false, "MacAddress", "conflicting options: mac-address and the network mode"},
      {true, "PortBindings",
       "conflicting options: port publishing and the container type network "
       "mode"},
      {true, "PublishAllPorts",
       "conflicting options: port publishing and the container type "
       "network mode"},
      {false, "ExposedPorts",
       "conflicting options: port exposing and the container type network "
       "mode"},
  };
  if (ctr && !mode[10])
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Invalid network mode: invalid container format container:<name|id>");
  for (size_t i = 0; i < ARRAY_SIZE(conflicts); i++) {
    json_t *v = json_object_get(conflicts[i].in_hc ? hc : body, conflicts[i].key);
    bool mac = !strcmp(conflicts[i].key, "MacAddress");
    if ((ctr || (host && mac)) && (nonempty(v) || json_is_true(v)))
      return berth_err_set(err, BERTH_EINVAL, 0, "%s", conflicts[i].msg);
  }
  return 0;
}

int ctr_validate_create(json_t *body, struct berth_err *err) {
  if (!json_is_object(body))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Config cannot be empty in order to create a container");
  json_t *hc = json_object_get(body, "HostConfig");
  if (hc && !json_is_object(hc) && !json_is_null(hc))
    return berth_err_set(
        err, BERTH_EINVAL, 0,
        "json: cannot unmarshal %s into Go struct field .HostConfig of type container.HostConfig",
        json_kind(hc));
  int r = check_fields(body, "Config", config_fields, ARRAY_SIZE(config_fields), err);
  if (r == 0 && json_is_object(hc))
    r = check_fields(hc, "HostConfig", host_fields, ARRAY_SIZE(host_fields), err);
  if (r == 0) r = check_unimplemented(body, json_is_object(hc) ? hc : NULL, err);
  const char *hn = json_string_value(json_object_get(body, "Hostname"));
  if (r == 0 && hn && *hn &&
      !strcmp(json_string_value(json_object_get(hc, "UTSMode")) ?: "", "host"))
    r = berth_err_set(err, BERTH_EINVAL, 0, "conflicting options: hostname and the UTS mode");
  if (r == 0 && json_is_object(hc)) r = check_net_mode(body, hc, err);
  if (r < 0) return r;
  normalise_strslice(body, "Cmd");
  normalise_strslice(body, "Entrypoint");
  /* the values themselves: ctr_opts_parse (config.c), after the merge
   * with the image's config */
  return check_values(json_is_object(hc) ? hc : NULL, err);
}
