/* --mount as the docker CLI reads it (opts/mount.go): comma-separated
 * key=value fields into one HostConfig.Mounts entry. */
#include "cli.h"

static bool truth(const char *v, bool *out) {
  if (!v || !strcmp(v, "true") || !strcmp(v, "1")) return *out = true;
  if (!strcmp(v, "false") || !strcmp(v, "0")) return !(*out = false);
  return false;
}

static json_t *sub(json_t *m, const char *key) {
  json_t *o = json_object_get(m, key);
  if (!o) json_object_set_new(m, key, o = json_object());
  return o;
}

/* one field into m; false (with why) when docker's CLI refuses it */
static bool field(json_t *m, const char *f, char *why, size_t len) {
  const char *eq = strchr(f, '=');
  cleanup_free char *key = eq ? xasprintf("%.*s", (int)(eq - f), f) : xstrdup(f);
  const char *v = eq ? eq + 1 : NULL;
  bool b;
  if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
    if (!truth(v, &b)) return snprintf(why, len, "invalid value for %s: %s", key, v), false;
    json_object_set_new(m, "ReadOnly", json_boolean(b));
    return true;
  }
  if (!strcmp(key, "volume-nocopy")) {
    if (!truth(v, &b)) return snprintf(why, len, "invalid value for volume-nocopy: %s", v), false;
    json_object_set_new(sub(m, "VolumeOptions"), "NoCopy", json_boolean(b));
    return true;
  }
  if (!v) return snprintf(why, len, "invalid field '%s' must be a key=value pair", f), false;
  if (!strcmp(key, "type"))
    json_object_set_new(m, "Type", json_string(v));
  else if (!strcmp(key, "source") || !strcmp(key, "src"))
    json_object_set_new(m, "Source", json_string(v));
  else if (!strcmp(key, "target") || !strcmp(key, "dst") || !strcmp(key, "destination"))
    json_object_set_new(m, "Target", json_string(v));
  else if (!strcmp(key, "consistency"))
    json_object_set_new(m, "Consistency", json_string(v));
  else if (!strcmp(key, "bind-propagation"))
    json_object_set_new(sub(m, "BindOptions"), "Propagation", json_string(v));
  else if (!strcmp(key, "volume-driver"))
    json_object_set_new(sub(sub(m, "VolumeOptions"), "DriverConfig"), "Name", json_string(v));
  else if (!strcmp(key, "volume-label") || !strcmp(key, "volume-opt")) {
    const char *eq2 = strchr(v, '=');
    cleanup_free char *k = eq2 ? xasprintf("%.*s", (int)(eq2 - v), v) : xstrdup(v);
    json_t *to = !strcmp(key, "volume-label")
                     ? sub(sub(m, "VolumeOptions"), "Labels")
                     : sub(sub(sub(m, "VolumeOptions"), "DriverConfig"), "Options");
    json_object_set_new(to, k, json_string(eq2 ? eq2 + 1 : ""));
  } else if (!strcmp(key, "tmpfs-size")) {
    int64_t n = parse_bytes(v);
    if (n < 0) return snprintf(why, len, "invalid value for %s: %s", key, v), false;
    json_object_set_new(sub(m, "TmpfsOptions"), "SizeBytes", json_integer(n));
  } else if (!strcmp(key, "tmpfs-mode")) {
    char *end;
    long mode = strtol(v, &end, 8);
    if (*end || !*v) return snprintf(why, len, "invalid value for %s: %s", key, v), false;
    json_object_set_new(sub(m, "TmpfsOptions"), "Mode", json_integer(mode));
  } else {
    return snprintf(why, len, "unexpected key '%s' in '%s'", key, f), false;
  }
  return true;
}

json_t *mount_spec(const char *arg, char *why, size_t len) {
  json_t *m = json_object();
  cleanup_free char *copy = xstrdup(arg);
  for (char *save = NULL, *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save))
    if (!field(m, f, why, len)) return json_decref(m), NULL;
  if (!json_object_get(m, "Type")) json_object_set_new(m, "Type", json_string("volume"));
  if (!json_object_get(m, "Target")) {
    snprintf(why, len, "target is required");
    return json_decref(m), NULL;
  }
  return m;
}
