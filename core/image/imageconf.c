#include "imageconf.h"

#include "../build/dockerfile.h"

#include <ctype.h>
#include <strings.h>

json_t *imageconf_container_config(json_t *src) {
  static const struct {
    const char *key;
    int type; /* 's' string, 'b' false, 'n' null */
  } keys[] = {{"Hostname", 's'},    {"Domainname", 's'},   {"User", 's'},
              {"AttachStdin", 'b'}, {"AttachStdout", 'b'}, {"AttachStderr", 'b'},
              {"Tty", 'b'},         {"OpenStdin", 'b'},    {"StdinOnce", 'b'},
              {"Env", 'n'},         {"Cmd", 'n'},          {"Image", 's'},
              {"Volumes", 'n'},     {"WorkingDir", 's'},   {"Entrypoint", 'n'},
              {"OnBuild", 'n'},     {"Labels", 'n'}};
  json_t *c = json_is_object(src) ? json_deep_copy(src) : json_object();
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
    if (json_object_get(c, keys[i].key)) continue;
    json_t *v = keys[i].type == 's'   ? json_string("")
                : keys[i].type == 'b' ? json_false()
                                      : json_null();
    json_object_set_new(c, keys[i].key, v);
  }
  return c;
}

/* JSON array form, or shell form wrapped in /bin/sh -c. */
static json_t *cmd_value(const char *arg) {
  if (*arg == '[') {
    json_t *j = json_loads(arg, 0, NULL);
    if (json_is_array(j)) return j;
    json_decref(j);
  }
  return json_pack("[s,s,s]", "/bin/sh", "-c", arg);
}

static json_t *obj_member(json_t *config, const char *key) {
  json_t *o = json_object_get(config, key);
  if (!json_is_object(o)) {
    o = json_object();
    json_object_set_new(config, key, o);
  }
  return o;
}

/* "k=v k2=v2" or "k v"; values may be double-quoted. */
static int each_kv(const char *arg, int (*fn)(json_t *, const char *, const char *), json_t *target,
                   struct berth_err *err) {
  const char *eq = strchr(arg, '='), *sp = strpbrk(arg, " \t");
  if (!eq || (sp && sp < eq)) {
    if (!sp) return berth_err_set(err, BERTH_EINVAL, 0, "missing value for '%s'", arg);
    cleanup_free char *k = strndup(arg, (size_t)(sp - arg));
    while (isspace((unsigned char)*sp))
      sp++;
    return fn(target, k, sp);
  }
  const char *p = arg;
  while (*p) {
    while (isspace((unsigned char)*p))
      p++;
    if (!*p) break;
    const char *e = strchr(p, '=');
    if (!e) return berth_err_set(err, BERTH_EINVAL, 0, "expected key=value in '%s'", arg);
    cleanup_free char *k = strndup(p, (size_t)(e - p));
    p = e + 1;
    char val[4096];
    size_t n = 0;
    char q = 0;
    while (*p && (q || !isspace((unsigned char)*p)) && n < sizeof val - 1) {
      if (!q && (*p == '"' || *p == '\''))
        q = *p;
      else if (q && *p == q)
        q = 0;
      else if (*p == '\\' && p[1])
        val[n++] = *++p;
      else
        val[n++] = *p;
      p++;
    }
    val[n] = 0;
    int r = fn(target, k, val);
    if (r < 0) return r;
  }
  return 0;
}

static int add_env(json_t *config, const char *k, const char *v) {
  json_t *env = json_object_get(config, "Env");
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(config, "Env", env);
  }
  size_t klen = strlen(k), i;
  json_t *e;
  cleanup_free char *entry = xasprintf("%s=%s", k, v);
  json_array_foreach(env, i, e) {
    const char *s = json_string_value(e);
    if (s && !strncmp(s, k, klen) && s[klen] == '=') {
      json_array_set_new(env, i, json_string(entry));
      return 0;
    }
  }
  json_array_append_new(env, json_string(entry));
  return 0;
}

static int add_label(json_t *config, const char *k, const char *v) {
  json_object_set_new(obj_member(config, "Labels"), k, json_string(v));
  return 0;
}

/* HEALTHCHECK [--interval=…] CMD …|NONE: the Dockerfile's instruction,
 * parsed and checked as the builder does (dockerd runs commit's changes
 * through its Dockerfile dispatcher) */
static int change_healthcheck(json_t *config, const char *line, struct berth_err *err) {
  struct dockerfile df = {0};
  if (df_parse(line, strlen(line), &df, err) < 0) return -err->code;
  json_t *hc = df.n == 1 && df_check(&df, err) == 0 ? df_healthcheck(&df.v[0], err) : NULL;
  df_free(&df);
  if (!hc) { /* dockerd's words without the parser's "dockerfile parse error line 1: " */
    const char *m = strstr(err->msg, "parse error line ");
    const char *colon = m ? strstr(m, ": ") : NULL;
    if (colon) memmove(err->msg, colon + 2, strlen(colon + 2) + 1);
    return -err->code;
  }
  json_object_set_new(config, "Healthcheck", hc);
  return 0;
}

int imageconf_apply_change(json_t *config, const char *line, struct berth_err *err) {
  while (isspace((unsigned char)*line))
    line++;
  const char *sp = strpbrk(line, " \t");
  if (!*line) return 0;
  if (!sp)
    return berth_err_set(err, BERTH_EINVAL, 0, "dockerfile parse error: %s needs an argument",
                         line);
  cleanup_free char *ins = strndup(line, (size_t)(sp - line));
  const char *arg = sp;
  while (isspace((unsigned char)*arg))
    arg++;
  if (!strcasecmp(ins, "CMD")) {
    json_object_set_new(config, "Cmd", cmd_value(arg));
  } else if (!strcasecmp(ins, "ENTRYPOINT")) {
    json_object_set_new(config, "Entrypoint", cmd_value(arg));
  } else if (!strcasecmp(ins, "ENV")) {
    return each_kv(arg, add_env, config, err);
  } else if (!strcasecmp(ins, "LABEL")) {
    return each_kv(arg, add_label, config, err);
  } else if (!strcasecmp(ins, "USER")) {
    json_object_set_new(config, "User", json_string(arg));
  } else if (!strcasecmp(ins, "WORKDIR")) {
    json_object_set_new(config, "WorkingDir", json_string(arg));
  } else if (!strcasecmp(ins, "ONBUILD")) {
    json_t *ob = json_object_get(config, "OnBuild");
    if (!json_is_array(ob)) json_object_set_new(config, "OnBuild", ob = json_array());
    json_array_append_new(ob, json_string(arg));
  } else if (!strcasecmp(ins, "STOPSIGNAL")) {
    json_object_set_new(config, "StopSignal", json_string(arg));
  } else if (!strcasecmp(ins, "EXPOSE") || !strcasecmp(ins, "VOLUME")) {
    bool expose = !strcasecmp(ins, "EXPOSE");
    json_t *o = obj_member(config, expose ? "ExposedPorts" : "Volumes");
    json_t *list = *arg == '[' ? json_loads(arg, 0, NULL) : NULL;
    if (list) {
      size_t i;
      json_t *e;
      json_array_foreach(list, i, e) if (json_is_string(e))
          json_object_set_new(o, json_string_value(e), json_object());
      json_decref(list);
      return 0;
    }
    cleanup_free char *copy = xstrdup(arg);
    char *save = NULL;
    for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
      cleanup_free char *key = expose && !strchr(t, '/') ? xasprintf("%s/tcp", t) : xstrdup(t);
      json_object_set_new(o, key, json_object());
    }
  } else if (!strcasecmp(ins, "HEALTHCHECK")) {
    return change_healthcheck(config, line, err);
  } else {
    for (char *c = ins; *c; c++) /* dockerd names it in lower case */
      *c = (char)tolower((unsigned char)*c);
    return berth_err_set(err, BERTH_EINVAL, 0, "%s is not a valid change command", ins);
  }
  return 0;
}
