/* The host services table handed to every driver (struct berth_host). */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "confbind.h"
#include "image/layer.h"
#include "plugin.h"

static struct host_private *priv(const struct berth_host *h) {
  return h->host_private;
}

static void host_log(const struct berth_host *h, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  berth_vlog(level, priv(h)->log_prefix, fmt, ap);
  va_end(ap);
}

void host_buf_free(struct berth_buf *buf) {
  free(buf->data);
  buf->data = NULL;
  buf->len = buf->cap = 0;
}

static int bind_value(const struct berth_host *h, const struct berth_conf_key *k, void *target,
                      config_setting_t *s, const char *text, struct berth_err *err) {
  struct host_private *hp = priv(h);
  if (!s) return conf_bind_text(k, target, text, err); /* a default */
  char *dst = (char *)target + k->offset;
  int line = s ? config_setting_source_line(s) : 0;
  const char *file = hp->cfg->file_name;
  switch (k->type) {
  case BERTH_CONF_STRING: {
    const char *v = s ? config_setting_get_string(s) : text;
    if (s && !v)
      return berth_err_set(err, BERTH_EINVAL, 0, "%s:%d: '%s' must be a string", file, line,
                           k->name);
    memcpy(dst, &v, sizeof v);
    return 0;
  }
  case BERTH_CONF_BOOL: {
    int v;
    if (s) {
      if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return berth_err_set(err, BERTH_EINVAL, 0, "%s:%d: '%s' must be true or false", file, line,
                             k->name);
      v = config_setting_get_bool(s);
    } else {
      v = parse_bool_value(text);
    }
    memcpy(dst, &v, sizeof v);
    return 0;
  }
  case BERTH_CONF_INT: {
    int64_t v;
    if (s) {
      int t = config_setting_type(s);
      if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return berth_err_set(err, BERTH_EINVAL, 0, "%s:%d: '%s' must be an integer", file, line,
                             k->name);
      v = config_setting_get_int64(s);
      if (t == CONFIG_TYPE_INT) v = config_setting_get_int(s);
    } else {
      v = strtoll(text, NULL, 10);
    }
    memcpy(dst, &v, sizeof v);
    return 0;
  }
  case BERTH_CONF_SIZE: {
    uint64_t v = 0;
    if (s && (config_setting_type(s) == CONFIG_TYPE_INT ||
              config_setting_type(s) == CONFIG_TYPE_INT64)) {
      long long iv = config_setting_get_int64(s);
      if (config_setting_type(s) == CONFIG_TYPE_INT) iv = config_setting_get_int(s);
      if (iv < 0)
        return berth_err_set(err, BERTH_EINVAL, 0, "%s:%d: '%s' must not be negative", file, line,
                             k->name);
      v = (uint64_t)iv;
    } else {
      const char *str = s ? config_setting_get_string(s) : text;
      if (!str || conf_parse_size(str, &v) < 0)
        return berth_err_set(err, BERTH_EINVAL, 0,
                             "%s:%d: '%s' must be a size such as 512k, 64m or 1g", file, line,
                             k->name);
    }
    memcpy(dst, &v, sizeof v);
    return 0;
  }
  default:
    return berth_err_set(err, BERTH_EINVAL, 0, "key '%s': unknown binding type %d", k->name,
                         k->type);
  }
}

static int bind_all(const struct berth_host *h, struct host_private *hp,
                    const struct berth_conf_key *keys, size_t n_keys, void *target,
                    struct berth_err *err) {
  config_setting_t *g = config_driver_group(hp->cfg, hp->kind_name, hp->name);
  if (g) {
    for (int i = 0; i < config_setting_length(g); i++) {
      config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
      bool known = false;
      for (size_t j = 0; j < n_keys; j++)
        if (!strcmp(keys[j].name, config_setting_name(s))) known = true;
      if (!known)
        return berth_err_set(err, BERTH_EINVAL, 0, "%s:%d: unknown key '%s.%s.%s'",
                             hp->cfg->file_name, config_setting_source_line(s), hp->kind_name,
                             hp->name, config_setting_name(s));
    }
  }
  json_t *resolved = json_object();
  for (size_t j = 0; j < n_keys; j++) {
    config_setting_t *s = g ? config_setting_get_member(g, keys[j].name) : NULL;
    if (!s && !keys[j].def) continue;
    int r = bind_value(h, &keys[j], target, s, keys[j].def, err);
    if (r < 0) {
      json_decref(resolved);
      return r;
    }
    char canon[4096];
    if (conf_canonical(&keys[j], target, canon, sizeof canon))
      json_object_set_new(resolved, keys[j].name, json_string(canon));
  }
  /* what the driver got, for berth-shim to give it the same */
  json_decref(hp->resolved);
  hp->resolved = resolved;
  return 0;
}

static int host_conf_bind(const struct berth_host *h, const struct berth_conf_key *table,
                          size_t n_keys, void *target, struct berth_err *err) {
  struct host_private *hp = priv(h);
  struct berth_conf_key *keys = xcalloc(n_keys + 1, sizeof *keys);
  for (size_t j = 0; j < n_keys; j++)
    if (conf_key_at(table, j, &keys[j], err) < 0) {
      free(keys);
      return -err->code;
    }
  int r = bind_all(h, hp, keys, n_keys, target, err);
  free(keys);
  return r;
}

json_t *plugin_resolved_config(const struct loaded_plugin *p) {
  const struct host_private *hp = p->host_priv;
  return hp && hp->resolved ? json_deep_copy(hp->resolved) : json_object();
}

static bool safe_component(const char *s) {
  return s && *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static int host_state_put(const struct berth_host *h, const char *object, const char *key,
                          const void *value, size_t len, struct berth_err *err) {
  if (!safe_component(object) || !safe_component(key))
    return berth_err_set(err, BERTH_EINVAL, 0, "state: bad object or key name");
  cleanup_free char *dir = xasprintf("%s/.state/%s", h->root_dir, object);
  int r = mkdir_p(dir, 0700);
  if (r < 0) return err_sys_(err, BERTH_EINTERNAL, -r, "state: mkdir %s", dir);
  cleanup_free char *path = xasprintf("%s/%s", dir, key);
  r = write_file_atomic(path, value, len, 0600);
  if (r < 0) return err_sys_(err, BERTH_EINTERNAL, -r, "state: write %s", path);
  return 0;
}

static int host_buf_append_m(const struct berth_host *h, struct berth_buf *buf, const void *data,
                             size_t len) {
  (void)h;
  return host_buf_append(buf, data, len);
}

static int host_state_get(const struct berth_host *h, const char *object, const char *key,
                          struct berth_buf *out, struct berth_err *err) {
  if (!safe_component(object) || !safe_component(key))
    return berth_err_set(err, BERTH_EINVAL, 0, "state: bad object or key name");
  cleanup_free char *path = xasprintf("%s/.state/%s/%s", h->root_dir, object, key);
  size_t len;
  cleanup_free char *data = read_file(path, &len);
  if (!data) {
    if (errno == ENOENT)
      return berth_err_set(err, BERTH_ENOTFOUND, ENOENT, "state %s/%s not found", object, key);
    return err_sys(err, BERTH_EINTERNAL, "state: read %s", path);
  }
  return host_buf_append(out, data, len);
}

static int host_state_del(const struct berth_host *h, const char *object, const char *key,
                          struct berth_err *err) {
  if (!safe_component(object) || (key && !safe_component(key)))
    return berth_err_set(err, BERTH_EINVAL, 0, "state: bad object or key name");
  cleanup_free char *path = key ? xasprintf("%s/.state/%s/%s", h->root_dir, object, key)
                                : xasprintf("%s/.state/%s", h->root_dir, object);
  int r = rm_rf(path);
  if (r < 0) return err_sys_(err, BERTH_EINTERNAL, -r, "state: remove %s", path);
  return 0;
}

static int host_untar(const struct berth_host *h, struct berth_reader *in, const char *dir,
                      uint32_t flags, struct berth_err *err) {
  return layer_untar(in, dir, flags, NULL, err);
}

struct netns_call {
  const char *path;
  int (*fn)(void *, struct berth_err *);
  void *arg;
  struct berth_err *err;
  int ret;
};

static void *netns_thread(void *p) {
  struct netns_call *c = p;
  int fd = open(c->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    c->ret = err_sys(c->err, BERTH_ENOTFOUND, "open netns %s", c->path);
    return NULL;
  }
  /* This thread is discarded afterwards, so the host's namespace stays clean. */
  if (unshare(CLONE_FS) < 0 || setns(fd, CLONE_NEWNET) < 0) {
    c->ret = err_sys(c->err, BERTH_EINTERNAL, "setns %s", c->path);
    close(fd);
    return NULL;
  }
  close(fd);
  c->ret = c->fn(c->arg, c->err);
  return NULL;
}

static int host_run_in_netns(const struct berth_host *h, const char *netns_path,
                             int (*fn)(void *, struct berth_err *), void *arg,
                             struct berth_err *err) {
  struct netns_call c = {netns_path, fn, arg, err, 0};
  pthread_t t;
  if (pthread_create(&t, NULL, netns_thread, &c) != 0)
    return berth_err_set(err, BERTH_EINTERNAL, 0, "cannot start netns thread");
  pthread_join(t, NULL);
  return c.ret;
}

int host_setup(struct loaded_plugin *p, struct berth_config *cfg, struct berth_err *err) {
  struct host_private *hp = xcalloc(1, sizeof *hp);
  hp->cfg = cfg;
  hp->kind_name = xstrdup(plugin_kind_name((int)p->desc.kind));
  hp->name = xstrdup(p->name);
  hp->log_prefix = xasprintf("%s-driver %s", hp->kind_name, hp->name);
  p->host_priv = hp;
  struct berth_host *h = &p->host;
  h->struct_size = sizeof *h;
  h->abi_minor = BERTH_ABI_MINOR;
  /* the built-in local volume driver keeps docker's layout, which people
   * and tools look at: <data-root>/volumes/<name>/_data */
  bool local_volumes = p->desc.kind == BERTH_KIND_VOLUME && !strcmp(p->origin, "built-in") &&
                       !strcmp(p->name, "local");
  h->root_dir = local_volumes ? xasprintf("%s/volumes", cfg->data_root)
                              : xasprintf("%s/%s/%s", cfg->data_root, hp->kind_name, p->name);
  h->run_dir = xasprintf("%s/%s/%s", cfg->exec_root, hp->kind_name, p->name);
  h->log = host_log;
  h->conf_bind = host_conf_bind;
  h->buf_append = host_buf_append_m;
  h->state_put = host_state_put;
  h->state_get = host_state_get;
  h->state_del = host_state_del;
  h->untar = host_untar;
  h->run_in_netns = host_run_in_netns;
  h->host_private = hp;
  int r;
  if ((r = mkdir_p(h->root_dir, 0700)) < 0 || (r = mkdir_p(h->run_dir, 0700)) < 0)
    return err_sys_(err, BERTH_EINTERNAL, -r, "%s driver %s: cannot create its directories",
                    hp->kind_name, p->name);
  return 0;
}

void host_free(struct loaded_plugin *p) {
  struct host_private *hp = p->host_priv;
  if (!hp) return;
  free((char *)p->host.root_dir);
  free((char *)p->host.run_dir);
  free(hp->kind_name);
  free(hp->name);
  free(hp->log_prefix);
  json_decref(hp->resolved);
  free(hp);
  p->host_priv = NULL;
}
