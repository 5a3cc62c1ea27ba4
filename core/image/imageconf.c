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

/* ENV/LABEL pairs as the builder reads them (df_pairs), $VARs expanded
 * from the config's Env as dockerd's dispatcher does with the container's */
static int change_pairs(json_t *config, bool env, const char *arg, struct berth_err *err) {
  json_t *vars = json_object(), *pairs = json_object(), *e;
  size_t i;
  json_array_foreach(json_object_get(config, "Env"), i, e) {
    const char *kv = json_string_value(e) ?: "", *eq = strchr(kv, '=');
    cleanup_free char *k = eq ? strndup(kv, (size_t)(eq - kv)) : NULL;
    if (k) json_object_set_new(vars, k, json_string(eq + 1));
  }
  int r = df_pairs(env ? "ENV" : "LABEL", arg, '\\', vars, true, pairs, err);
  const char *k;
  json_t *v;
  if (r == 0)
    json_object_foreach(pairs, k, v)(env ? add_env : add_label)(config, k, json_string_value(v));
  json_decref(vars);
  json_decref(pairs);
  return r < 0 ? -err->code : 0;
}

/* HEALTHCHECK [--interval=…] CMD …|NONE: the Dockerfile's instruction,
 * parsed and checked as the builder does (dockerd runs commit's changes
 * through its Dockerfile dispatcher) */
static int change_healthcheck(json_t *config, const char *line, struct berth_err *err) {
  struct dockerfile df = {0};
  if (df_parse_change(line, &df, err) < 0) return -err->code;
  json_t *hc = df_healthcheck(&df.v[0], err);
  df_free(&df);
  if (!hc) return -err->code;
  json_object_set_new(config, "Healthcheck", hc);
  return 0;
}

/* dockerd's commit/import --change list (20.10: no STOPSIGNAL) */
static const char *const change_commands[] = {"CMD",     "ENTRYPOINT", "ENV",  "EXPOSE",
                                              "LABEL",   "ONBUILD",    "USER", "VOLUME",
                                              "WORKDIR", "HEALTHCHECK"};

static int not_a_change(char *ins, struct berth_err *err) {
  for (char *c = ins; *c; c++) /* dockerd names it in lower case */
    *c = (char)tolower((unsigned char)*c);
  return berth_err_set(err, BERTH_EINVAL, 0, "%s is not a valid change command", ins);
}

/* an instruction alone: the shell for CMD, ENTRYPOINT as it was, else dockerd's
 * parser's words (without its "dockerfile parse error" prefix) */
static int change_without_argument(json_t *config, char *ins, struct berth_err *err) {
  bool known = false;
  for (size_t i = 0; i < ARRAY_SIZE(change_commands); i++)
    known |= !strcasecmp(ins, change_commands[i]);
  if (!known) return not_a_change(ins, err);
  for (char *c = ins; *c; c++)
    *c = (char)toupper((unsigned char)*c);
  if (!strcmp(ins, "CMD")) {
    json_object_set_new(config, "Cmd", json_pack("[s,s]", "/bin/sh", "-c"));
    return 0;
  }
  if (!strcmp(ins, "ENTRYPOINT")) return 0; /* none given: dockerd keeps the container's */
  bool one = !strcmp(ins, "USER") || !strcmp(ins, "WORKDIR");
  return berth_err_set(err, BERTH_EINVAL, 0, "%s requires %s one argument", ins,
                       one ? "exactly" : "at least");
}

int imageconf_apply_change(json_t *config, const char *line, struct berth_err *err) {
  while (isspace((unsigned char)*line))
    line++;
  if (!*line) return 0;
  size_t il = strcspn(line, " \t");
  cleanup_free char *ins = strndup(line, il);
  const char *arg = line + il;
  while (isspace((unsigned char)*arg))
    arg++;
  if (!*arg) return change_without_argument(config, ins, err);
  if (!strcasecmp(ins, "CMD")) {
    json_object_set_new(config, "Cmd", cmd_value(arg));
  } else if (!strcasecmp(ins, "ENTRYPOINT")) {
    json_t *ep = cmd_value(arg);
    if (json_array_size(ep)) /* [] keeps the container's, as dockerd's merge does */
      json_object_set_new(config, "Entrypoint", ep);
    else
      json_decref(ep);
  } else if (!strcasecmp(ins, "ENV")) {
    return change_pairs(config, true, arg, err);
  } else if (!strcasecmp(ins, "LABEL")) {
    return change_pairs(config, false, arg, err);
  } else if (!strcasecmp(ins, "USER")) {
    json_object_set_new(config, "User", json_string(arg));
  } else if (!strcasecmp(ins, "WORKDIR")) {
    json_object_set_new(config, "WorkingDir", json_string(arg));
  } else if (!strcasecmp(ins, "ONBUILD")) {
    json_t *ob = json_object_get(config, "OnBuild");
    if (!json_is_array(ob)) json_object_set_new(config, "OnBuild", ob = json_array());
    json_array_append_new(ob, json_string(arg));
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
    return not_a_change(ins, err);
  }
  return 0;
}
