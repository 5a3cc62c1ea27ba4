/* Create, start (through berth-shim), stop, kill, remove, pause, rename,
 * the exit monitor and restart policies. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "../daemon.h"
#include "../driver.h"
#include "../events/events.h"
#include "../image/imageconf.h"
#include "../runtime/cgroup.h"
#include "../runtime/runtime.h"
#include "../shim/client.h"
#include "../shim/launch.h"
#include "config.h"
#include "container.h"
#include "exec.h"
#include "mounts.h"
#include "netctr.h"

static void start_monitor(struct daemon *d, struct container *c);
static bool read_exit_file(struct daemon *d, struct container *c, int *code, bool *oom, char *error,
                           size_t elen);

/* ---------------- create ---------------- */

static bool valid_name(const char *n) {
  if (*n == '/') n++;
  if (!isalnum((unsigned char)n[0]) || strlen(n) < 2) return false;
  for (const char *p = n + 1; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-') return false;
  return true;
}

/* docker's generator's shape (adjective_scientist): 108 x 64 names, a
 * digit appended after a collision, as docker's retry does */
static char *random_name(int retry) {
  static const char *const adj[] = {
      "admiring",    "adoring",   "affectionate", "agitated",      "amazing",   "angry",
      "awesome",     "beautiful", "blissful",     "bold",          "boring",    "brave",
      "busy",        "charming",  "clever",       "compassionate", "competent", "condescending",
      "confident",   "cool",      "cranky",       "crazy",         "dazzling",  "determined",
      "distracted",  "dreamy",    "eager",        "ecstatic",      "elastic",   "elated",
      "elegant",     "eloquent",  "epic",         "exciting",      "fervent",   "festive",
      "flamboyant",  "focused",   "friendly",     "frosty",        "funny",     "gallant",
      "gifted",      "goofy",     "gracious",     "great",         "happy",     "hardcore",
      "heuristic",   "hopeful",   "hungry",       "infallible",    "inspiring", "intelligent",
      "interesting", "jolly",     "jovial",       "keen",          "kind",      "laughing",
      "loving",      "lucid",     "magical",      "modest",        "musing",    "mystifying",
      "naughty",     "nervous",   "nice",         "nifty",         "nostalgic", "objective",
      "optimistic",  "peaceful",  "pedantic",     "pensive",       "practical", "priceless",
      "quirky",      "quizzical", "recursing",    "relaxed",       "reverent",  "romantic",
      "sad",         "serene",    "sharp",        "silly",         "sleepy",    "stoic",
      "strange",     "stupefied", "suspicious",   "sweet",         "tender",    "thirsty",
      "trusting",    "unruffled", "upbeat",       "vibrant",       "vigilant",  "vigorous",
      "wizardly",    "wonderful", "xenodochial",  "youthful",      "zealous",   "zen"};
  static const char *const noun[] = {
      "agnesi",        "albattani",   "allen",     "archimedes", "babbage",  "banach",
      "bardeen",       "bhabha",      "blackwell", "bohr",       "booth",    "borg",
      "bose",          "brahmagupta", "brattain",  "burnell",    "carson",   "cerf",
      "chandrasekhar", "curie",       "darwin",    "dijkstra",   "einstein", "elion",
      "euclid",        "euler",       "fermat",    "fermi",      "feynman",  "franklin",
      "galileo",       "galois",      "gauss",     "goldberg",   "goodall",  "hamilton",
      "hawking",       "heisenberg",  "hopper",    "hypatia",    "johnson",  "kepler",
      "knuth",         "lamport",     "leakey",    "lovelace",   "lumiere",  "mayer",
      "mccarthy",      "meitner",     "mendel",    "morse",      "newton",   "noether",
      "pascal",        "payne",       "ramanujan", "ritchie",    "shannon",  "thompson",
      "torvalds",      "turing",      "volta",     "wozniak"};
  uint32_t r[2] = {0, 0};
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
    r[0] = (uint32_t)random(), r[1] = (uint32_t)random();
  const char *a = adj[r[0] % ARRAY_SIZE(adj)], *n = noun[(r[0] >> 16) % ARRAY_SIZE(noun)];
  if (retry) return xasprintf("/%s_%s%u", a, n, r[1] % 10);
  return xasprintf("/%s_%s", a, n);
}

/* Docker's merge of the image config into the container's. */
/* Everything is copied: a container's config shares no JSON with the image's
 * (the image's is read by other threads while containers change theirs). */
/* docker's merge: the image's Healthcheck when the request has none, else
 * its fields where the request's are empty; its Shell likewise */
static void merge_healthcheck(json_t *cfg, json_t *img) {
  if (!json_array_size(json_object_get(cfg, "Shell")) &&
      json_array_size(json_object_get(img, "Shell")))
    json_object_set_new(cfg, "Shell", json_deep_copy(json_object_get(img, "Shell")));
  json_t *ih = json_object_get(img, "Healthcheck");
  if (!json_is_object(ih)) return;
  json_t *ch = json_object_get(cfg, "Healthcheck");
  if (!json_is_object(ch)) {
    json_object_set_new(cfg, "Healthcheck", json_deep_copy(ih));
    return;
  }
  if (!json_array_size(json_object_get(ch, "Test")))
    json_object_set_new(ch, "Test", json_deep_copy(json_object_get(ih, "Test") ?: json_null()));
  static const char *const nums[] = {"Interval", "Timeout", "StartPeriod", "Retries"};
  for (size_t k = 0; k < ARRAY_SIZE(nums); k++)
    if (!json_integer_value(json_object_get(ch, nums[k])) && json_object_get(ih, nums[k]))
      json_object_set_new(ch, nums[k], json_deep_copy(json_object_get(ih, nums[k])));
}

/* docker's merge of Env: the body's as sent, then each of the image's whose
 * name the body does not set; none sent: the image's as it is (null when
 * it has none) */
static void merge_env(json_t *cfg, json_t *img) {
  json_t *cenv = json_object_get(cfg, "Env");
  json_t *ienv = json_object_get(img, "Env");
  if (!json_array_size(cenv)) {
    json_object_set_new(cfg, "Env", json_is_array(ienv) ? json_deep_copy(ienv) : json_null());
    return;
  }
  json_t *env = json_deep_copy(cenv), *names = json_object();
  size_t i;
  json_t *e;
  json_array_foreach(cenv, i, e) {
    const char *s = json_string_value(e) ?: "";
    cleanup_free char *key = xstrndup(s, strcspn(s, "="));
    json_object_set_new(names, key, json_true());
  }
  json_array_foreach(ienv, i, e) {
    const char *s = json_string_value(e);
    if (!s) continue;
    cleanup_free char *key = xstrndup(s, strcspn(s, "="));
    if (!json_object_get(names, key)) json_array_append(env, e);
  }
  json_decref(names);
  json_object_set_new(cfg, "Env", env);
}

static void merge_image_config(json_t *cfg, json_t *img) {
  merge_env(cfg, img);
  bool has_ep = json_array_size(json_object_get(cfg, "Entrypoint")) > 0;
  if (!has_ep)
    json_object_set_new(cfg, "Entrypoint",
                        json_deep_copy(json_object_get(img, "Entrypoint") ?: json_null()));
  if (!json_array_size(json_object_get(cfg, "Cmd")) && !has_ep)
    json_object_set_new(cfg, "Cmd", json_deep_copy(json_object_get(img, "Cmd") ?: json_null()));
  /* --entrypoint "" (the docker CLI sends [""]): neither the image's
   * entrypoint nor its Cmd, then none at all (docker's null) */
  json_t *ep = json_object_get(cfg, "Entrypoint");
  if (json_array_size(ep) == 1 && json_is_string(json_array_get(ep, 0)) &&
      !*json_string_value(json_array_get(ep, 0)))
    json_object_set_new(cfg, "Entrypoint", json_null());
  static const char *const strs[] = {"WorkingDir", "User", "StopSignal"};
  for (size_t k = 0; k < ARRAY_SIZE(strs); k++) {
    const char *v = json_string_value(json_object_get(cfg, strs[k]));
    json_t *iv = json_object_get(img, strs[k]);
    if ((!v || !*v) && json_is_string(iv)) json_object_set_new(cfg, strs[k], json_deep_copy(iv));
  }
  merge_healthcheck(cfg, img);
  /* docker's: Labels the body's and the image's others; ExposedPorts and
   * Volumes the same, but the image's as they are (null when none) where
   * the body has none (the docker CLI always sends {}) */
  static const char *const maps[] = {"Labels", "ExposedPorts", "Volumes"};
  for (size_t k = 0; k < ARRAY_SIZE(maps); k++) {
    json_t *im = json_object_get(img, maps[k]);
    json_t *cm = json_object_get(cfg, maps[k]);
    if (k > 0 && !json_object_size(cm)) {
      json_object_set_new(cfg, maps[k], json_is_object(im) ? json_deep_copy(im) : json_null());
      continue;
    }
    if (!json_is_object(im)) continue;
    if (!json_is_object(cm)) json_object_set_new(cfg, maps[k], cm = json_object());
    const char *key;
    json_t *v;
    json_object_foreach(im, key, v) if (!json_object_get(cm, key))
        json_object_set_new(cm, key, json_deep_copy(v));
  }
}

/* --log-opt through the log driver's validate_opts, as docker checks them
 * at create */
static int check_log_opts(struct daemon *d, const struct ctr_opts *o, struct berth_err *err) {
  size_t n = json_object_size(o->log_config), k = 0;
  if (!n || !strcmp(o->log_type, "none")) return 0;
  struct berth_kv *kv = xcalloc(n, sizeof *kv);
  const char *key;
  json_t *v;
  json_object_foreach(o->log_config, key, v) {
    kv[k++] = (struct berth_kv){sizeof *kv, key, json_string_value(v) ?: ""};
  }
  struct loaded_plugin *lg = ctr_log_driver(d, o);
  int r = lg ? drv_log_validate_opts(lg, kv, n, err) : 0;
  free(kv);
  return r;
}

/* in a user namespace: daemon.conf userns-remap, and not --userns=host */
static bool opts_remapped(const struct daemon *d, const struct ctr_opts *o) {
  return d->remap.size && !o->userns_host;
}

bool ctr_remapped(struct daemon *d, struct container *c) {
  if (!d->remap.size) return false;
  struct ctr_opts *o = ctr_opts_get(c);
  bool r = opts_remapped(d, o);
  ctr_opts_put(o);
  return r;
}

int ctr_mount_layer(struct daemon *d, struct container *c, bool mapped, char *path,
                    struct berth_err *err) {
  return mapped
             ? store_mount_layer_idmapped(&d->images, c->rw_id, &d->remap, d->remap_fd, path, err)
             : store_mount_layer(&d->images, c->rw_id, path, err);
}

/* docker's refusals with a user namespace (verifyPlatformContainerSettings) */
static int check_userns(struct daemon *d, const struct ctr_opts *o, struct berth_err *err) {
  if (!opts_remapped(d, o)) return 0;
  if (o->privileged)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "privileged mode is incompatible with user namespaces.  You must run the "
                         "container in the host namespace when running privileged mode");
  const char *mode = *o->network_mode ? o->network_mode : d->cfg.default_network;
  if (mode && !strcmp(mode, "host"))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "cannot share the host's network namespace when user namespaces are "
                         "enabled");
  if (o->pid_host)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "cannot share the host PID namespace when user namespaces are enabled");
  if (o->pid_of || o->ipc_of)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "--%s container:<id> with user namespaces is not supported by berth yet "
                         "(docs/compat.md)",
                         o->pid_of ? "pid" : "ipc");
  return 0;
}

/* What only this daemon can judge (config.c judges the rest). */
static int check_with_daemon(struct daemon *d, const struct ctr_opts *o, struct berth_err *err) {
  int ur = check_userns(d, o, err);
  if (ur < 0) return ur;
  /* the network is looked up at start, as docker does (a 404 from create
   * would make the docker CLI pull the image) */
  const char *lt = o->log_type;
  if (*lt && strcmp(lt, "none") && !ctr_log_driver(d, o))
    return berth_err_set(err, BERTH_EINVAL, 0, /* docker's words */
                         "error looking up logging plugin %s: plugin \"%s\" not found", lt, lt);
  int r = check_log_opts(d, o, err);
  if (r < 0) return r;
  if (o->init) {
    cleanup_free char *init = helper_path("berth-init");
    if (access(init, X_OK) < 0)
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "exec: \"berth-init\": executable file not found in %s", init);
  }
  return 0;
}

/* The body's values checked (docker's order: before the image is looked
 * up); hc_out: the HostConfig, a copy. */
/* daemon.conf no-new-privileges = true: every container made from now on
 * gets it, unless it says no-new-privileges=false (docker's rule) */
static void daemon_no_new_privs(struct daemon *d, json_t *hc) {
  if (!d->cfg.no_new_privileges) return;
  json_t *so = json_object_get(hc, "SecurityOpt");
  size_t i;
  json_t *v;
  json_array_foreach(so, i, v) {
    if (str_has_prefix(json_string_value(v) ?: "", "no-new-privileges")) return;
  }
  if (!json_is_array(so)) json_object_set_new(hc, "SecurityOpt", so = json_array());
  json_array_append_new(so, json_string("no-new-privileges"));
}

/* "container:<ref>" of PidMode and IpcMode names a container that exists
 * (docker's 400 at create, before the image is looked up), kept by its id
 * as docker keeps it; NetworkMode's by its id when it exists (its
 * container is looked up at start) */
static int resolve_mode_refs(json_t *hc, struct berth_err *err) {
  static const char *const keys[] = {"PidMode", "IpcMode", "NetworkMode"};
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
    const char *m = json_string_value(json_object_get(hc, keys[i]));
    if (!m || !str_has_prefix(m, "container:")) continue;
    struct container *t = ctr_get(m + strlen("container:"));
    if (!t && strcmp(keys[i], "NetworkMode"))
      return berth_err_set(err, BERTH_EINVAL, 0, "No such container: %s", m + strlen("container:"));
    if (!t) continue;
    json_object_set_new(hc, keys[i], json_sprintf("container:%s", t->id));
    ctr_put(t);
  }
  return 0;
}

static int create_check(struct daemon *d, json_t *body, json_t **hc_out, json_t *warnings,
                        struct berth_err *err) {
  int r = ctr_validate_create(body, err);
  if (r < 0) return r;
  const char *image = json_string_value(json_object_get(body, "Image"));
  if (!image || !*image)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Config cannot be empty in order to create a container");
  json_t *hc = json_object_get(body, "HostConfig");
  hc = json_is_object(hc) ? json_deep_copy(hc) : json_object();
  if ((r = resolve_mode_refs(hc, err)) < 0) {
    json_decref(hc);
    return r;
  }
  /* inspect says what runs it, as info's DefaultRuntime does */
  const char *rt = json_string_value(json_object_get(hc, "Runtime"));
  if (!rt || !*rt) json_object_set_new(hc, "Runtime", json_string("berth"));
  daemon_no_new_privs(d, hc);
  if (!strcmp(json_string_value(json_object_get(hc, "NetworkMode")) ?: "", "host") &&
      json_object_size(json_object_get(hc, "PortBindings")))
    json_array_append_new(
        warnings, json_string("Published ports are discarded when using host network mode"));
  struct ctr_opts *check = NULL;
  if ((r = ctr_resources_fit(hc, warnings, err)) == 0) {
    check = ctr_opts_parse(body, hc, err);
    r = check ? check_with_daemon(d, check, err) : -err->code;
  }
  ctr_opts_put(check);
  if (r < 0)
    json_decref(hc);
  else
    *hc_out = hc;
  return r;
}

static void discard(struct container *c) {
  ctr_opts_put(c->opts);
  json_decref(c->config);
  json_decref(c->host_config);
  json_decref(c->net_config);
  json_decref(c->mounts);
  free(c->parent_sid);
  free(c->name);
  free(c);
}

static int no_such_image(const char *image, struct berth_err *err) {
  cleanup_free char *fam = ref_not_found_name(image);
  return berth_err_set(err, BERTH_ENOTFOUND, 0, "No such image: %s", fam);
}

/* A new container record: the image's config merged under the body's,
 * the hostname chosen, the result typed.  Takes over hc. */
static struct container *create_record(struct daemon *d, json_t *body, json_t *hc,
                                       struct berth_err *err) {
  const char *image = json_string_value(json_object_get(body, "Image"));
  struct image_store *s = &d->images;
  pthread_mutex_lock(&s->lock);
  struct image *im = store_lookup_locked(s, image);
  if (!im) {
    pthread_mutex_unlock(&s->lock);
    json_decref(hc);
    no_such_image(image, err);
    return NULL;
  }
  struct container *c = xcalloc(1, sizeof *c);
  c->host_config = hc;
  memcpy(c->image_id, im->id, sizeof c->image_id);
  struct layer *top = *im->top_chain ? store_layer_locked(s, im->top_chain) : NULL;
  c->parent_sid = top ? xstrdup(top->storage_id) : NULL;
  /* a copy (small: the image's own config), so that the merge with a
   * create body of any size runs outside the store's lock; not a shared
   * reference: jansson reads the count unatomically in json_incref */
  json_t *imcfg = json_deep_copy(json_object_get(im->config, "config"));
  pthread_mutex_unlock(&s->lock);
  json_t *cfg = json_deep_copy(body);
  json_object_del(cfg, "HostConfig");
  json_object_del(cfg, "NetworkingConfig");
  json_object_del(cfg, "name");
  merge_image_config(cfg, imcfg);
  json_decref(imcfg);
  c->config = imageconf_container_config(cfg);
  json_decref(cfg);
  cfg = c->config;
  random_hex(c->id, 32);
  const char *hn = json_string_value(json_object_get(cfg, "Hostname"));
  const char *nm = json_string_value(json_object_get(hc, "NetworkMode"));
  if ((!hn || !*hn) && nm && !strcmp(nm, "host")) {
    /* the host's network, the host's name (as docker does) */
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    json_object_set_new(cfg, "Hostname", json_string(host));
  } else if (!hn || !*hn) {
    json_object_set_new(cfg, "Hostname", json_sprintf("%.12s", c->id));
  }
  if (!json_array_size(json_object_get(cfg, "Cmd")) &&
      !json_array_size(json_object_get(cfg, "Entrypoint"))) {
    berth_err_set(err, BERTH_EINVAL, 0, "No command specified");
  } else {
    c->opts = ctr_opts_parse(cfg, hc, err); /* the merged config, typed */
  }
  if (!c->opts) {
    discard(c);
    return NULL;
  }
  json_t *nc = json_object_get(body, "NetworkingConfig");
  c->net_config = json_is_object(nc) ? json_deep_copy(nc) : NULL;
  if (ctrnet_create(d, c, c->opts, err) < 0) {
    discard(c);
    return NULL;
  }
  c->created_ns = now_ns();
  c->status = CTR_CREATED;
  return c;
}

/* The name given (or a random one), reserved until the record is in the
 * table. */
static int create_name(struct container *c, const char *name, struct berth_err *err) {
  if (name && *name) {
    if (!valid_name(name))
      return berth_err_set(
          err, BERTH_EINVAL, 0,
          "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
    c->name = name[0] == '/' ? xstrdup(name) : xasprintf("/%s", name);
  }
  ctr_lock();
  char other[65];
  if (c->name && ctr_name_taken_locked(c->name, NULL, other)) {
    ctr_unlock();
    return berth_err_set(
        err, BERTH_ECONFLICT, 0,
        "Conflict. The container name \"%s\" is already in use by container \"%s\". You "
        "have to remove (or rename) that container to be able to reuse that name.",
        c->name, other);
  }
  for (int tries = 0; !c->name || ctr_name_taken_locked(c->name, NULL, NULL); tries++) {
    free(c->name);
    c->name = random_name(tries);
    if (tries > 20) {
      char *n = xasprintf("%s_%.6s", c->name, c->id);
      free(c->name);
      c->name = n;
    }
  }
  /* reserve the name before the slow part */
  ctr_name_reserve_locked(c->name);
  ctr_unlock();
  return 0;
}

/* The read-write layer, the directory and the record on disk, then the
 * table.  On failure, nothing of it is left. */
static int create_layer(struct daemon *d, struct container *c, struct berth_err *err) {
  char init[STORE_INIT_ID_MAX];
  struct berth_err ie = {0};
  if (c->parent_sid &&
      store_init_layer(&d->images, c->parent_sid, ctr_fill_init_layer, NULL, init, &ie) == 0) {
    free(c->parent_sid);
    c->parent_sid = xstrdup(init);
  } else if (c->parent_sid) {
    log_warn("container %.12s: no init layer (%s): its own layer holds what the init makes", c->id,
             ie.msg);
  }
  int r = store_rw_layer(&d->images, c->parent_sid, c->rw_id, err);
  if (r < 0) return r;
  failpoint("create-layer");
  cleanup_free char *dir = ctr_dir(d, c->id);
  if ((r = mkdir_p(dir, 0700)) < 0) r = err_sys_(err, BERTH_EINTERNAL, -r, "mkdir %s", dir);
  /* on disk first: a record in the table is one no one can lose */
  int sr = r == 0 ? ctr_save(d, c) : 0;
  if (sr < 0)
    r = berth_err_set(err, BERTH_EINTERNAL, -sr, "cannot write the container record: %s",
                      strerror(-sr));
  if (r == 0) {
    failpoint("create-record");
    ctr_lock();
    ctr_name_release_locked(c->name);
    ctr_table_add_locked(c);
    ctr_unlock();
  }
  if (r < 0) {
    rm_rf(dir);
    struct berth_err e2 = {0};
    drv_storage_remove(d->storage, c->rw_id, &e2);
  }
  store_pending_end(&d->images, c->rw_id); /* the record owns the layer now */
  return r;
}

static void start_ahead(struct daemon *d, struct container *c);

int ctr_create(struct daemon *d, const char *name, json_t *body, char out_id[65], json_t *warnings,
               struct berth_err *err) {
  json_t *hc = NULL;
  int r = create_check(d, body, &hc, warnings, err);
  if (r < 0) return r;
  cgroup_prime(); /* a start usually follows: its shim's cgroup move waits less */
  int64_t t = trace_phase("create", "", 0);
  struct container *c = create_record(d, body, hc, err);
  if (!c) return -err->code;
  t = trace_phase(c->id, "create parse", t);
  if ((r = create_name(c, name, err)) < 0) {
    discard(c);
    return r;
  }
  /* its volumes (made now, as docker's create makes them), then its layer */
  r = ctr_mounts_create(d, c, c->opts, err);
  t = trace_phase(c->id, "create volumes", t);
  if (r == 0) r = create_layer(d, c, err);
  trace_phase(c->id, "create layer+record", t);
  if (r < 0) {
    ctr_mounts_remove_anonymous(d, c); /* not in the table: not a user of them */
    ctr_lock();
    ctr_name_release_locked(c->name);
    ctr_unlock();
    discard(c);
    return r;
  }
  memcpy(out_id, c->id, 65);
  ctr_event(c, "create", NULL);
  start_ahead(d, c);
  return 0;
}

/* ---------------- start ---------------- */

/* seccomp, no_new_privs and the capabilities of a spec (start and exec) */
void ctr_spec_security(struct rt_spec *s, const struct ctr_opts *o) {
  s->seccomp = o->seccomp;
  s->seccomp_profile = o->seccomp_profile; /* borrowed from o */
  s->no_new_privs = o->no_new_privs;
  s->caps = rt_caps_from_names(o->cap_add, o->n_cap_add, o->cap_drop, o->n_cap_drop);
  s->limits = o->limits; /* borrowed from o */
  /* borrowed from the cache, which keeps it for berthd's life */
  if (s->seccomp && !s->privileged)
    s->seccomp_bpf_path = (char *)ctr_seccomp_bpf_path(o->seccomp_profile, s->caps);
}

/* args (behind /sbin/docker-init with --init), identity, environment */

/* --group-add: numbers, or names the container's /etc/group knows
 * (docker's "Unable to find group x" otherwise), after the user's own; for
 * the container's process and its execs */
int ctr_add_groups(int rootfd, const struct ctr_opts *o, struct rt_user *ru,
                   struct berth_err *err) {
  for (size_t i = 0; i < o->n_group_add; i++) {
    char *end;
    unsigned long g = strtoul(o->group_add[i], &end, 10);
    gid_t gid = (gid_t)g;
    if (end == o->group_add[i] || *end) { /* a name: "0:<name>" gives its gid */
      cleanup_free char *spec = xasprintf("0:%s", o->group_add[i]);
      struct rt_user gu = {0};
      if (rt_resolve_user_at(rootfd, spec, &gu, err) < 0)
        return berth_err_set(err, BERTH_EINVAL, 0,
                             "Unable to find group %s: no matching entries in group file",
                             o->group_add[i]);
      gid = gu.gid;
      rt_user_free(&gu);
    }
    rt_user_add_group(ru, gid);
  }
  return 0;
}

static int spec_process(struct container *c, const struct ctr_opts *o, struct rt_spec *s,
                        struct berth_err *err) {
  size_t na = 0;
  s->args = xcalloc(o->n_entrypoint + o->n_cmd + 3, sizeof(char *));
  if (o->init) {
    s->args[na++] = "/sbin/docker-init";
    s->args[na++] = "--";
  }
  for (size_t i = 0; i < o->n_entrypoint; i++)
    s->args[na++] = o->entrypoint[i];
  for (size_t i = 0; i < o->n_cmd; i++)
    s->args[na++] = o->cmd[i];
  struct rt_user ru;
  cleanup_close int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return err_sys(err, BERTH_EINTERNAL, "open rootfs %s", c->rootfs);
  if (rt_resolve_user_at(rootfd, o->user, &ru, err) < 0) return -err->code;
  s->uid = ru.uid;
  s->gid = ru.gid;
  if (ctr_add_groups(rootfd, o, &ru, err) < 0) {
    rt_user_free(&ru);
    return -err->code;
  }
  s->groups = move_ptr(ru.groups);
  s->n_groups = ru.n_groups;
  size_t ne;
  s->env = ctr_env(o, NULL, 0, ru.home, o->tty, &ne);
  ctrnet_link_env(c, o, &s->env, &ne);
  rt_user_free(&ru);
  s->cwd = *o->workdir ? o->workdir : "/";
  if (*o->workdir && strcmp(o->workdir, "/")) { /* -w of a directory not there: made, as docker's */
    int wfd = rt_mkdir_in_root(rootfd, o->workdir, 0755);
    if (wfd >= 0) close(wfd);
    struct stat st;
    cleanup_close int there = wfd < 0 ? rt_openat_in_root(rootfd, o->workdir, O_PATH, 0) : -1;
    if (there >= 0 && fstat(there, &st) == 0 && !S_ISDIR(st.st_mode))
      return berth_err_set(err, BERTH_EINTERNAL, 0, "Cannot mkdir: %s is not a directory",
                           o->workdir); /* dockerd's SetupWorkingDirectory */
  }
  s->hostname = o->hostname;
  s->domainname = o->domainname;
  s->tty = o->tty;
  s->open_stdin = o->open_stdin;
  return 0;
}

/* --init's binary, the mount points (volumes, binds), --tmpfs; *owned: the
 * strings the mounts point to */
static int spec_mounts(struct daemon *d, struct container *c, const struct ctr_opts *o,
                       struct rt_spec *s, char *init_path, const char *shm, char ***owned,
                       struct berth_err *err) {
  s->mounts = xcalloc(ctr_mounts_count(c) + o->n_tmpfs + 3, sizeof *s->mounts);
  if (init_path)
    s->mounts[s->n_mounts++] = (struct rt_mount){
        .source = init_path, .target = "/sbin/docker-init", .readonly = true, .fd = -1};
  /* docker's: the host's /dev/shm with its ipc namespace, a shareable
   * one's mounted by berthd, or the one of the container it joins */
  if (shm)
    s->mounts[s->n_mounts++] =
        (struct rt_mount){.source = (char *)shm, .target = "/dev/shm", .fd = -1};
  ssize_t n = ctr_mounts_spec(d, c, s->mounts + s->n_mounts, owned, err);
  if (n < 0) return -1;
  s->n_mounts += (size_t)n;
  for (size_t i = 0; i < o->n_tmpfs; i++)
    s->mounts[s->n_mounts++] =
        (struct rt_mount){.source = "tmpfs",
                          .target = o->tmpfs[i].target,
                          .type = "tmpfs",
                          .options = *o->tmpfs[i].options ? o->tmpfs[i].options : "mode=1777",
                          .fd = -1};
  return 0;
}

/* what only the shim needs: the log driver (the very file berthd loaded,
 * and the configuration berthd resolved for it) and the container's
 * --log-opt options */
static json_t *spec_log(struct daemon *d, struct container *c, const struct ctr_opts *o) {
  struct loaded_plugin *lg = ctr_log_driver(d, o);
  if (!lg) return NULL; /* "none" */
  const char *driver = lg->name;
  cleanup_free char *logp = ctr_log_path(d, c->id);
  return json_pack("{s:s,s:s,s:o,s:s,s:o,s:s,s:s,s:s,s:s,s:s}", "driver", driver, "file",
                   lg->origin, "config", plugin_resolved_config(lg), "path", logp, "opts",
                   json_deep_copy(o->log_config), "container_name", c->name + 1, "image_id",
                   c->image_id, "image_name", o->image, "root_dir",
                   lg->host.root_dir ? lg->host.root_dir : "", "run_dir",
                   lg->host.run_dir ? lg->host.run_dir : "");
}

/* docker's defaults (20.10) for a container with a network namespace of
 * its own (not the host's, not another container's): any process may bind
 * a port below 1024 and open ping sockets, unless --sysctl says otherwise
 * (HostConfig.Sysctls does not show them, as docker's).  In a user
 * namespace the container's root has no capability over a network
 * namespace berthd made, and the gids are the container's. */
static void default_sysctls(json_t *spec, const struct rt_spec *s) {
  json_t *lim = json_object_get(spec, "limits");
  if (!json_is_object(lim)) json_object_set_new(spec, "limits", lim = json_object());
  json_t *sc = json_object_get(lim, "sysctls");
  if (!json_is_object(sc)) json_object_set_new(lim, "sysctls", sc = json_object());
  if (!json_object_get(sc, "net.ipv4.ip_unprivileged_port_start"))
    json_object_set_new(sc, "net.ipv4.ip_unprivileged_port_start", json_string("0"));
  /* every gid of the container; read by the kernel in the namespace of
   * the writer: the shim's for a network namespace the container joins
   * (it writes those), the container's own otherwise */
  uint32_t first = s->userns.size && s->netns_path ? s->userns.gid : 0;
  uint32_t last = s->userns.size ? first + s->userns.size - 1 : 2147483647;
  if (!json_object_get(sc, "net.ipv4.ping_group_range"))
    json_object_set_new(sc, "net.ipv4.ping_group_range", json_sprintf("%u %u", first, last));
}

/* what a start takes of other containers or berthd: the namespaces it
 * joins (paths) and the /dev/shm it binds */
struct shared {
  char *pidns, *ipcns, *shm;
};

/* --pid container:<id>: the pid namespace of that container's process,
 * which must be running (docker's words); --ipc container:<id> (ipc.c);
 * --ipc shareable: its own /dev/shm as berthd mounted it */
static int spec_shared(struct daemon *d, struct container *c, const struct ctr_opts *o,
                       struct shared *sh, struct berth_err *err) {
  if (o->ipc_host) sh->shm = xstrdup("/dev/shm");
  if (o->ipc_shareable) sh->shm = ctr_shm_path(d, c->id);
  int r = ctr_ipc_join(d, o, &sh->ipcns, &sh->shm, err);
  if (r < 0 || !o->pid_of) return r;
  struct container *t = ctr_get(o->pid_of);
  if (!t) return berth_err_set(err, BERTH_ENOTFOUND, 0, "No such container: %s", o->pid_of);
  pid_t pid = ctr_running_pid(t);
  if (t == c)
    r = berth_err_set(err, BERTH_EINVAL, 0, "cannot join own PID namespace");
  else if (!pid)
    r = berth_err_set(err, BERTH_ECONFLICT, 0, "container %s is not running", t->id);
  else
    sh->pidns = xasprintf("/proc/%d/ns/pid", (int)pid);
  ctr_put(t);
  return r;
}

/* the binds' propagations dockerd checks at start (rt_check_propagation) */
static bool propagation_ok(const struct rt_spec *s, struct berth_err *err) {
  for (size_t i = 0; i < s->n_mounts; i++)
    if (rt_check_propagation(&s->mounts[i], err) < 0) return false;
  return true;
}

static json_t *build_spec(struct daemon *d, struct container *c, const struct ctr_opts *o,
                          struct berth_err *err) {
  struct rt_spec s = {0};
  s.id = c->id;
  s.rootfs = c->rootfs;
  cleanup_free char *bundle = ctr_dir(d, c->id);
  s.bundle = bundle;
  size_t ne = 0;
  json_t *spec = NULL;
  struct shared sh = {0};
  if (spec_shared(d, c, o, &sh, err) == 0 && spec_process(c, o, &s, err) == 0) {
    const char *mode = *o->network_mode && strcmp(o->network_mode, "bridge")
                           ? o->network_mode
                           : d->cfg.default_network;
    s.host_network = !strcmp(mode, "host");
    s.host_ipc = o->ipc_host;
    s.host_uts = o->uts_host;
    s.host_pid = o->pid_host;
    s.pidns_path = sh.pidns;
    s.ipcns_path = sh.ipcns;
    s.shm = sh.shm ? RT_SHM_BOUND : o->ipc_none ? RT_SHM_NONE : RT_SHM_OWN;
    cleanup_free char *netns = c->netns_of[0] ? xasprintf("/proc/%s/ns/net", c->netns_of) : NULL;
    s.netns_path = netns;
    s.privileged = o->privileged;
    s.readonly_rootfs = o->readonly_rootfs;
    ctr_spec_security(&s, o);
    cleanup_free char *init_path = o->init ? helper_path("berth-init") : NULL;
    char **owned = NULL;
    /* propagation checked before owned's strings go */
    bool prop_ok =
        spec_mounts(d, c, o, &s, init_path, sh.shm, &owned, err) == 0 && propagation_ok(&s, err);
    if (opts_remapped(d, o)) s.userns = d->remap;
    s.cgroup_hiers = rt_cgroup_hiers();
    spec = rt_spec_to_json(&s);
    json_decref(s.cgroup_hiers);
    if (!s.host_network && !str_has_prefix(mode, "container:")) default_sysctls(spec, &s);
    for (char **p = owned; p && *p; p++)
      free(*p);
    free(owned);
    json_object_set_new(spec, "log", spec_log(d, c, o));
    json_object_set_new(spec, "stdin_once", json_boolean(o->stdin_once));
    json_t *cg = prop_ok ? ctr_cgroup_json(&o->res, err) : NULL;
    if (cg) {
      json_object_set_new(spec, "cgroup", cg);
    } else {
      json_decref(spec);
      spec = NULL;
    }
  }
  for (char **e = s.env; e && *e; e++)
    ne++;
  ctr_env_free(s.env, ne);
  free(sh.pidns);
  free(sh.ipcns);
  free(sh.shm);
  free(s.args);
  free(s.groups);
  free(s.mounts);
  return spec;
}

static void unmount_rootfs(struct daemon *d, struct container *c) {
  /* the exit monitor and rm -f may both get here: the second waits for
   * the first (rm deletes the layer next); other containers do not */
  ctr_lock();
  while (c->unmounting)
    ctr_wait(1000);
  bool mine = c->mounted;
  if (mine) c->unmounting = true;
  ctr_unlock();
  if (!mine) return;
  struct berth_err e = {0};
  /* a mount made by an earlier berthd is not in the refcount table; one
   * that is stays while a cp or export still holds it */
  if (store_unmount_layer(&d->images, c->rw_id, &e) == 1)
    drv_storage_unmount(d->storage, c->rw_id, &e);
  ctr_mounts_release(d, c);
  ctr_shm_unmount(d, c);
  ctr_lock();
  c->mounted = false;
  c->unmounting = false;
  ctr_broadcast();
  ctr_unlock();
}

/* rm_next: a --rm container's exit, or one rm -f killed: removed next
 * (ctr_remove unmounts it after it has left the table, and its record
 * goes) */
static void mark_exited(struct daemon *d, struct container *c, int code, bool oom,
                        const char *error, bool rm_next) {
  /* its address and plumbing go before anyone waiting (stop, rm -f) hears
   * of the exit: a network rm right after must find it free */
  int64_t t = trace_phase(c->id, "", 0);
  ev_hold(); /* disconnect and unmount told after "die", as dockerd's */
  ctrnet_release(d, c);
  t = trace_phase(c->id, "exit release", t);
  ctr_lock();
  c->status = CTR_EXITED;
  c->exit_code = code;
  c->oom_killed = oom;
  snprintf(c->error, sizeof c->error, "%s", error ? error : "");
  c->finished_ns = now_ns();
  c->pid = 0;
  c->shim_ready = false;
  c->health_gen++; /* its health monitor ends */
  ctr_unlock();
  if (!rm_next) unmount_rootfs(d, c);
  t = trace_phase(c->id, "exit unmount", t);
  /* on disk before anyone waiting (stop, wait, run) hears of it; not a
   * --rm container's (or one rm -f ended): its record is removed next, and
   * a berthd that dies before finds it "running" with no shim, reads the
   * shim's exit.json and does what this would have (ctr_restore: exited,
   * removed if --rm) */
  if (!rm_next) ctr_save_record(d, c, true);
  trace_phase(c->id, "exit save", t);
  json_t *kept = ev_unhold();
  if (oom) ctr_event(c, "oom", NULL);
  char num[16];
  snprintf(num, sizeof num, "%d", code);
  ctr_event(c, "die", json_pack("{s:s}", "exitCode", num));
  ev_tell_held(kept);
  ctr_lock();
  c->exits++;
  ctr_broadcast();
  ctr_unlock();
}

static void start_done(struct container *c) {
  ctr_lock();
  c->start_in_progress = false;
  ctr_broadcast();
  ctr_unlock();
}

/* /etc/hosts, hostname and resolv.conf belong to the container's root,
 * who may edit them as with docker */
static void remap_bundle_files(struct daemon *d, struct container *c) {
  static const char *const files[] = {"hosts", "hostname", "resolv.conf"};
  cleanup_free char *bundle = ctr_dir(d, c->id);
  for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
    cleanup_free char *p = xasprintf("%s/%s", bundle, files[i]);
    if (chown(p, d->remap.uid, d->remap.gid) < 0 && errno != ENOENT)
      log_warn("container %.12s: chown %s: %s", c->id, p, strerror(errno));
  }
}

/* The previous shim of c, which sent its exit frame, finishes (removes its
 * cgroup and socket) before a new one starts or the container goes: a
 * millisecond or two.  One that never goes and no longer listens left
 * its socket behind. */
static void shim_settle(struct daemon *d, struct container *c) {
  cleanup_free char *sock = ctr_socket(d, c->id);
  if (path_exists(sock) && !shim_wait_gone(sock, 2000) && shim_status(sock, NULL) == SHIM_GONE)
    unlink(sock);
}

/* the init waiting for START has exited (a zombie has no namespaces) */
static bool init_gone(pid_t pid) {
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/ns/net", (int)pid);
  return access(p, F_OK) < 0 && errno == ENOENT;
}

/* A start stopped at the init's hold (start_shim's failure, a start made
 * ahead not taken): the init killed while held (nothing of the container
 * ran: no event, no exit), its shim gone with its cgroup, the rootfs
 * unmounted, its endpoints released.  pid 0: no shim was started. */
static void undo_held_start(struct daemon *d, struct container *c, pid_t pid) {
  if (pid > 0) {
    cleanup_free char *sock = ctr_socket(d, c->id);
    kill(pid, SIGKILL);
    shim_wait_gone(sock, 2000);
  }
  unmount_rootfs(d, c);
  ctrnet_release(d, c);
}

/* Mount the rootfs, write the /etc files and spec.json, spawn the shim
 * (init waits for START).  On failure the rootfs is unmounted again. */
static int start_shim(struct daemon *d, struct container *c, pid_t *pid, struct berth_err *err) {
  shim_settle(d, c);
  int64_t t = trace_phase(c->id, "", 0);
  bool remap = ctr_remapped(d, c);
  char root[4096];
  int r = ctr_mount_layer(d, c, remap, root, err);
  if (r < 0) return err_wrap(err, "mount rootfs");
  t = trace_phase(c->id, "start mount", t);
  ctr_lock();
  if (!c->rootfs || strcmp(c->rootfs, root)) {
    free(c->rootfs);
    c->rootfs = xstrdup(root);
  }
  c->mounted = true;
  ctr_unlock();
  struct ctr_opts *o = ctr_opts_get(c); /* update may swap c->opts meanwhile */
  r = ctr_shm_mount(d, c, o, err);
  if (r == 0) r = ctrnet_reserve(d, c, o, err);
  if (r == 0 && remap) remap_bundle_files(d, c);
  t = trace_phase(c->id, "start reserve", t);
  json_t *spec = NULL;
  /* --network none: a namespace made ahead fits.  Not one with networks:
   * ctrnet_plumb finds the init's namespace by its pid as soon as the shim
   * answers, which may be before the init has joined one made ahead (the
   * veth would land in the shim's namespace) */
  bool own_netns = false, spec_made = r == 0;
  if (r == 0) {
    spec = build_spec(d, c, o, err);
    if (!spec) r = -err->code;
    own_netns = spec && !json_is_true(json_object_get(spec, "host_network")) &&
                !json_object_get(spec, "netns_path") && !json_object_get(spec, "userns") &&
                !ctrnet_plumbs(c);
  }
  struct loaded_plugin *lg = ctr_log_driver(d, o);
  bool dl = lg && strcmp(lg->origin, "built-in"); /* the shim must dlopen it */
  ctr_opts_put(o);
  cleanup_free char *bundle = ctr_dir(d, c->id);
  cleanup_free char *sockp = ctr_socket(d, c->id);
  if (r == 0) {
    cleanup_free char *sp = xasprintf("%s/spec.json", bundle);
    cleanup_free char *text = json_dumps(spec, JSON_COMPACT);
    r = write_file_derived(sp, text, strlen(text), 0600); /* made again at every start */
    if (r < 0) r = err_sys_(err, BERTH_EINTERNAL, -r, "write spec");
  }
  json_decref(spec);
  cleanup_free char *exitp = xasprintf("%s/exit.json", bundle);
  unlink(exitp); /* a previous run's: never read as this one's */
  t = trace_phase(c->id, "start spec", t);
  int netns = r == 0 && own_netns ? ctr_netns_take() : -1;
  if (r == 0) r = shim_spawn(bundle, sockp, d->cfg.plugin_dir, dl, ctr_mntns_fd(), netns, pid, err);
  if (netns >= 0) close(netns); /* the shim's now */
  if (r == 0) failpoint("start-shim");
  t = trace_phase(c->id, "start shim", t);
  if (r == 0) failpoint("start-plumb");
  if (r == 0 && (r = ctrnet_plumb(d, c, *pid, err)) < 0 && init_gone(*pid)) {
    /* it failed before its hold (a program not found…), and took its
     * namespaces with it: START answers with its reason (start_refused),
     * which is the start's error, not the plumbing's */
    log_debug("container %.12s: not plumbed, its init is gone: %s", c->id, err->msg);
    r = 0;
  }
  trace_phase(c->id, "start plumb", t);
  if (spec_made) ctr_mounts_announce(c); /* its volumes mounted: told after the connects */
  if (r < 0) undo_held_start(d, c, *pid);
  return r;
}

/* START was refused (the exec failed) or not answered (init died): the
 * exit recorded with docker's 125/126/127 and message */
static int start_refused(struct daemon *d, struct container *c, const char *sockp, char *reason,
                         size_t len, struct berth_err *err) {
  if (!reason[0]) {
    /* the shim is gone: init failed before START, its reason is in exit.json */
    shim_wait_gone(sockp, 2000);
    int code;
    bool oom;
    read_exit_file(d, c, &code, &oom, reason, len);
  }
  const char *msg = reason[0] ? reason : "berth-shim did not answer START";
  int code = strstr(msg, "executable file not found") || strstr(msg, "no such file") ? 127
             : strstr(msg, "permission denied")                                      ? 126
                                                                                     : 125;
  int r = berth_err_set(
      err, BERTH_EINVAL, 0,
      "failed to create task for container: failed to create shim task: OCI runtime "
      "create failed: runc create failed: unable to start container process: %s: unknown%s",
      msg, ctr_enotdir_hint(msg));
  /* the shim records the exit and goes away; wait for it so state is settled */
  for (int i = 0; i < 100 && shim_status(sockp, NULL) != SHIM_GONE; i++)
    usleep(20000);
  /* as docker's: nothing ran, so nothing exited (no "die", no exit for a
   * wait on the next one, the state it had, "created" for a new one), but
   * the code and the reason are the container's */
  ctrnet_release(d, c);
  ctr_lock();
  c->exit_code = code;
  snprintf(c->error, sizeof c->error, "%s", err->msg);
  c->pid = 0;
  c->shim_ready = false;
  ctr_unlock();
  unmount_rootfs(d, c);
  ctr_save_record(d, c, true);
  return r;
}

/* ---------------- a start made ahead ---------------- */

/* After create's reply a client starts the container within a few ms (the
 * docker CLI's run spends 3-4 ms between its create and its start setting
 * up its signal proxy and attach); a start made ahead does the start's work
 * up to the init's hold (the rootfs mounted, spec.json, the shim, the init
 * in its namespaces and cgroup, waiting for START: nothing of the image's
 * program ran) meanwhile, and ctr_start takes it over.  Only for a
 * container whose start needs nothing outside it: no network to plumb or
 * address to reserve (none, host), no volume or bind (their mounts and
 * events are the start's), no user namespace, json-file/local/none logs (a
 * driver that connects somewhere would connect at create).  Whatever else
 * changes the container undoes it (ctr_ahead_drop), as does no start
 * within AHEAD_HOLD_MS; daemon.conf's start-ahead = false turns it off. */
#define AHEAD_HOLD_MS 2000
/* at most this many at once (under ctr_lock): a burst of creates with no
 * start (a thousand `docker create`) makes no more processes and mounts */
#define AHEAD_MAX 4
static int aheads;

static bool ahead_fits(struct daemon *d, struct container *c, const struct ctr_opts *o) {
  const char *net = *o->network_mode ? o->network_mode : d->cfg.default_network;
  const char *lt = *o->log_type ? o->log_type : d->cfg.log_driver ? d->cfg.log_driver : "";
  json_t *eps = json_object_get(c->net_config, "EndpointsConfig");
  return !d->cfg.no_start_ahead && net && (!strcmp(net, "none") || !strcmp(net, "host")) &&
         json_object_size(eps) <= 1 && o->n_binds == 0 && json_array_size(c->mounts) == 0 &&
         !o->pid_of && !o->ipc_of && !o->ipc_shareable && !opts_remapped(d, o) &&
         (!*lt || !strcmp(lt, "json-file") || !strcmp(lt, "local") || !strcmp(lt, "none"));
}

/* with ctr_lock held: the start made ahead, now the caller's to undo, with
 * start_in_progress set for it (no start begins meanwhile); 0 if none */
static pid_t ahead_take_locked(struct container *c) {
  while (c->ahead == AHEAD_MAKING)
    ctr_wait(1000);
  if (c->ahead != AHEAD_READY || c->start_in_progress) return 0;
  pid_t pid = c->ahead_pid;
  c->ahead = AHEAD_NONE;
  c->start_in_progress = true;
  return pid;
}

void ctr_ahead_drop(struct daemon *d, struct container *c) {
  ctr_lock();
  pid_t pid = ahead_take_locked(c);
  ctr_unlock();
  if (pid <= 0) return;
  undo_held_start(d, c, pid);
  log_debug("container %.12s: its start made ahead undone", c->id);
  start_done(c);
}

struct ahead_arg {
  struct daemon *d;
  struct container *c;
};

/* with start_in_progress set for it: made, then held for a start to take
 * it over until AHEAD_HOLD_MS, else undone */
static void ahead_make(struct daemon *d, struct container *c) {
  /* after create's reply, which it must not delay: a start that comes
   * meanwhile gives it the normal priority back (ctr_start) */
  setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
  cgroup_prime();
  pid_t pid = 0;
  struct berth_err err = {0};
  int r = start_shim(d, c, &pid, &err);
  if (r < 0) log_debug("container %.12s: no start made ahead: %s", c->id, err.msg);
  ctr_lock();
  c->ahead = r == 0 ? AHEAD_READY : AHEAD_NONE;
  c->ahead_pid = r == 0 ? pid : 0;
  c->start_in_progress = false;
  ctr_broadcast();
  int64_t until = now_ns() + AHEAD_HOLD_MS * 1000000LL;
  for (int64_t left; c->ahead == AHEAD_READY && !ctr_stopping && (left = until - now_ns()) > 0;)
    ctr_wait((int)(left / 1000000) + 1);
  ctr_unlock();
  ctr_ahead_drop(d, c); /* not taken over */
}

static void *ahead_main(void *p) {
  struct ahead_arg a = *(struct ahead_arg *)p;
  free(p);
  struct container *c = a.c;
  bool work = work_begin(); /* false: berthd stops (main waits for work_end) */
  ctr_lock();
  bool go = work && c->status == CTR_CREATED && c->ahead == AHEAD_NONE && !c->start_in_progress &&
            !c->removing && !c->removed && !ctr_stopping;
  if (go) {
    c->ahead = AHEAD_MAKING;
    c->ahead_tid = gettid();
    c->start_in_progress = true;
  }
  ctr_unlock();
  if (go) ahead_make(a.d, c);
  if (work) work_end();
  ctr_lock();
  aheads--;
  ctr_unlock();
  ctr_put(c);
  return NULL;
}

static void start_ahead(struct daemon *d, struct container *c) {
  struct ctr_opts *o = ctr_opts_get(c);
  bool fits = ahead_fits(d, c, o);
  ctr_opts_put(o);
  if (!fits) return;
  ctr_lock();
  bool room = aheads < AHEAD_MAX;
  if (room) {
    aheads++;
    c->refs++;
  }
  ctr_unlock();
  if (!room) return;
  struct ahead_arg *a = xcalloc(1, sizeof *a);
  *a = (struct ahead_arg){d, c};
  pthread_t t;
  if (pthread_create(&t, NULL, ahead_main, a) == 0) {
    pthread_detach(t);
    return;
  }
  free(a);
  ctr_lock();
  aheads--;
  ctr_unlock();
  ctr_put(c);
}

int ctr_start(struct daemon *d, struct container *c, struct berth_err *err) {
  ctr_lock();
  if (c->ahead == AHEAD_MAKING) setpriority(PRIO_PROCESS, (id_t)c->ahead_tid, 0); /* wanted now */
  while (c->start_in_progress && !ctr_stopping)
    ctr_wait(1000); /* one start at a time */
  if (ctr_is_running(c) || c->start_in_progress) {
    ctr_unlock();
    return 1;
  }
  if (c->removed || c->removing || c->status == CTR_REMOVING) {
    ctr_unlock();
    return berth_err_set(err, BERTH_ECONFLICT, 0,
                         "container %s is marked for removal and cannot be started", c->id);
  }
  c->start_in_progress = true;
  pid_t pid = c->ahead == AHEAD_READY ? c->ahead_pid : 0; /* made ahead: taken over */
  c->ahead = AHEAD_NONE;
  ctr_unlock();
  cgroup_prime();
  int r = pid > 0 ? 0 : start_shim(d, c, &pid, err);
  if (r < 0) {
    ctr_lock();
    snprintf(c->error, sizeof c->error, "%s", err->msg);
    if (c->exit_code == 0) c->exit_code = 128; /* dockerd's: a failed start is never left at 0 */
    ctr_unlock();
    ctr_save(d, c);
    start_done(c);
    return r;
  }
  /* let attach clients that came before start connect, then release init */
  ctr_lock();
  c->shim_ready = true;
  c->shim_gen++;
  ctr_broadcast();
  for (int i = 0; c->pending_attach > 0 && i < 50; i++)
    ctr_wait(100);
  ctr_unlock();
  cleanup_free char *sockp = ctr_socket(d, c->id);
  char reason[1200] = "";
  int64_t t = trace_phase(c->id, "", 0);
  if (shim_start(sockp, reason, sizeof reason) < 0) {
    r = start_refused(d, c, sockp, reason, sizeof reason, err);
    start_done(c);
    return r;
  }
  failpoint("start-released");
  ctr_lock();
  c->pid = pid;
  c->status = CTR_RUNNING;
  c->started_ns = now_ns();
  c->finished_ns = 0;
  c->exit_code = 0;
  c->oom_killed = false;
  c->error[0] = 0;
  c->stopped_by_user = false;
  ctr_broadcast();
  bool keep = c->opts->restart != RESTART_NO; /* a power cut must not lose what restarts */
  ctr_unlock();
  t = trace_phase(c->id, "start START", t);
  ctr_save_record(d, c, keep);
  ctr_event(c, "start", NULL);
  ctr_health_start(d, c, false);
  start_monitor(d, c);
  trace_phase(c->id, "start save+monitor", t);
  /* only now may a remove take over: the monitor will see the exit */
  start_done(c);
  failpoint("start-done");
  return 0;
}

/* ---------------- exit monitor and restart policy ---------------- */

struct monitor_arg {
  struct daemon *d;
  struct container *c;
};

/* false (and 255) when the shim wrote none */
static bool read_exit_file(struct daemon *d, struct container *c, int *code, bool *oom, char *error,
                           size_t elen) {
  cleanup_free char *dir = ctr_dir(d, c->id);
  cleanup_free char *p = xasprintf("%s/exit.json", dir);
  json_t *j = json_load_file(p, 0, NULL);
  *code = j ? (int)json_integer_value(json_object_get(j, "exit_code")) : 255;
  *oom = json_is_true(json_object_get(j, "oom_killed"));
  snprintf(error, elen, "%s",
           j ? json_string_value(json_object_get(j, "error")) ?: ""
             : "berth-shim died without recording the exit; the container's processes were "
               "killed");
  json_decref(j);
  return j != NULL;
}

/* with ctr_lock held */
static bool should_restart(struct container *c, int code) {
  const struct ctr_opts *o = c->opts;
  if (o->restart == RESTART_NO || c->removed || c->stopped_by_user) return false;
  if (o->restart == RESTART_ON_FAILURE)
    return code != 0 && (o->restart_max <= 0 || c->restart_count < o->restart_max);
  return true;
}

/* the container's shim said EXIT or went away (shim_watch_async) */
static void monitor_exit(void *p, bool framed, int fcode, bool foom) {
  struct monitor_arg *a = p;
  struct daemon *d = a->d;
  struct container *c = a->c;
  free(a);
  if (!work_begin()) { /* berthd stops: the next start reads the exit from disk */
    ctr_put(c);
    return;
  }
  cleanup_free char *sock = ctr_socket(d, c->id);
  /* the exit frame comes after exit.json is written: the shim's last steps
   * (its cgroup, its socket) are waited for by what comes next for the
   * container (shim_settle in start and remove).  Without the frame, wait
   * for it to go and see whether it died. */
  bool died = !framed && !shim_wait_gone(sock, 2000) && shim_status(sock, NULL) == SHIM_GONE;
  int code;
  bool oom;
  char error[512];
  if (died) {
    /* the shim crashed (its socket is left, no one listens): nothing
     * supervises the container any more, so it goes too */
    log_error("container %.12s: berth-shim died; killing what is left of the container", c->id);
    cgroup_ops()->destroy(c->id);
    unlink(sock);
    ctr_lock();
    pid_t init = c->pid; /* now berthd's child: the shim was its subreaper's child */
    ctr_unlock();
    shim_reap_later(init);
  }
  if (!read_exit_file(d, c, &code, &oom, error, sizeof error) && framed) {
    /* exit.json could not be written (a full disk): the frame said it */
    code = fcode;
    oom = foom;
    error[0] = 0;
  }
  ctr_lock();
  bool autoremove = c->opts->auto_remove && !should_restart(c, code);
  bool removing = c->removing; /* rm -f killed it: its remove unmounts it, its record goes */
  ctr_unlock();
  mark_exited(d, c, code, oom, error, autoremove || removing);
  log_debug("container %.12s exited with %d", c->id, code);
  ctr_lock();
  bool restart = should_restart(c, code);
  if (restart) {
    c->status = CTR_RESTARTING;
    c->restart_count++;
    ctr_broadcast();
  }
  ctr_unlock();
  if (restart) {
    int delay = 100 << (c->restart_count > 8 ? 8 : c->restart_count - 1);
    int64_t until = now_ns() + (int64_t)delay * 1000000;
    struct berth_err e = {0};
    ctr_lock();
    for (int64_t left; !ctr_stopping && (left = (until - now_ns()) / 1000000) > 0;)
      ctr_wait((int)left); /* berthd's stop ends the wait: the next start restarts it */
    bool still = c->status == CTR_RESTARTING && !c->removed && !c->removing && !ctr_stopping;
    ctr_unlock();
    /* "restarting" until the start is done: no client sees a false "exited" */
    if (still && ctr_start(d, c, &e) < 0) {
      log_warn("container %.12s: restart failed: %s", c->id, e.msg);
      ctr_lock();
      if (c->status == CTR_RESTARTING) c->status = CTR_EXITED;
      ctr_broadcast();
      ctr_unlock();
      ctr_save(d, c);
    }
  } else if (autoremove) {
    failpoint("exit-rm"); /* exited, not yet removed: its record still says running */
    struct berth_err e = {0};
    ctr_remove(d, c, true, true, &e);
  }
  ctr_put(c);
  work_end();
}

static void start_monitor(struct daemon *d, struct container *c) {
  struct monitor_arg *a = xmalloc(sizeof *a);
  a->d = d;
  a->c = c;
  ctr_lock();
  c->refs++;
  ctr_unlock();
  cleanup_free char *sock = ctr_socket(d, c->id);
  shim_watch_async(sock, monitor_exit, a);
}

/* ---------------- stop, kill, pause ---------------- */

/* with ctr_lock held */
static int default_stop_signal(struct container *c) {
  return c->opts->stop_signal > 0 ? c->opts->stop_signal : SIGTERM;
}

static bool wait_exit_locked(struct container *c, uint64_t exits, int timeout_ms);

static void kill_event(struct container *c, int sig) {
  char num[16];
  snprintf(num, sizeof num, "%d", sig);
  ctr_event(c, "kill", json_pack("{s:s}", "signal", num));
}

/* SIGKILL (the default) returns once the exit is recorded, as docker's kill
 * does: an inspect right after shows it stopped, with its exit code */
int ctr_kill(struct daemon *d, struct container *c, const char *signal, struct berth_err *err) {
  int sig = signal && *signal ? parse_signal(signal) : SIGKILL;
  if (sig < 0) return berth_err_set(err, BERTH_EINVAL, 0, "Invalid signal: %s", signal);
  ctr_lock();
  if (!ctr_is_running(c)) {
    ctr_unlock();
    return berth_err_set(err, BERTH_ECONFLICT, 0, "Container %s is not running", c->id);
  }
  pid_t pid = c->pid;
  if (sig == SIGKILL) c->stopped_by_user = true;
  bool paused = c->status == CTR_PAUSED;
  uint64_t exits = c->exits;
  ctr_unlock();
  kill_event(c, sig);
  if (kill(pid, sig) < 0 && errno != ESRCH)
    return err_sys(err, BERTH_EINTERNAL, "kill %d", (int)pid);
  if (paused && sig == SIGKILL) {
    struct berth_err e = {0};
    cgroup_ops()->freeze(c->id, false, &e);
  } else if (paused) { /* dockerd resumes it, so that the signal is taken */
    struct berth_err e = {0};
    ctr_pause(d, c, false, &e);
  }
  if (sig == SIGKILL) {
    ctr_lock();
    wait_exit_locked(c, exits, 10000);
    ctr_unlock();
  }
  return 0;
}

/* until the exit is recorded (mark_exited counts it once its record is on
 * disk: the status alone flips before the save) */
static bool wait_exit_locked(struct container *c, uint64_t exits, int timeout_ms) {
  int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000LL;
  while (c->exits == exits && c->status != CTR_CREATED) {
    int64_t left = (deadline - now_ns()) / 1000000LL;
    if (timeout_ms >= 0 && left <= 0) return false;
    ctr_wait(timeout_ms < 0 ? 1000 : (int)(left > 1000 ? 1000 : left));
  }
  return true;
}

int ctr_stop(struct daemon *d, struct container *c, int timeout, const char *signal,
             struct berth_err *err) {
  ctr_lock();
  if (c->status == CTR_RESTARTING) {
    c->stopped_by_user = true;
    c->status = CTR_EXITED;
    ctr_broadcast();
    ctr_unlock();
    ctr_save(d, c);
    return 0;
  }
  if (!ctr_is_running(c)) {
    ctr_unlock();
    return 1;
  }
  c->stopped_by_user = true;
  uint64_t exits = c->exits;
  pid_t pid = c->pid;
  bool paused = c->status == CTR_PAUSED;
  if (timeout < 0) timeout = c->opts->stop_timeout >= 0 ? c->opts->stop_timeout : 10;
  int sig = signal && *signal ? parse_signal(signal) : default_stop_signal(c);
  ctr_unlock();
  if (sig < 0) return berth_err_set(err, BERTH_EINVAL, 0, "Invalid signal: %s", signal);
  if (paused) {
    struct berth_err e = {0};
    cgroup_ops()->freeze(c->id, false, &e);
  }
  kill_event(c, sig);
  kill(pid, sig);
  ctr_lock();
  bool done = wait_exit_locked(c, exits, timeout * 1000);
  ctr_unlock();
  if (!done) {
    kill_event(c, SIGKILL);
    kill(pid, SIGKILL);
    ctr_lock();
    done = wait_exit_locked(c, exits, 10000);
    ctr_unlock();
    if (!done)
      return berth_err_set(err, BERTH_EINTERNAL, 0, "container %s did not stop after SIGKILL",
                           c->id);
  }
  ctr_event(c, "stop", NULL);
  return 0;
}

int ctr_restart(struct daemon *d, struct container *c, int timeout, const char *signal,
                struct berth_err *err) {
  int r = ctr_stop(d, c, timeout, signal, err);
  if (r >= 0) r = ctr_start(d, c, err);
  if (r >= 0) ctr_event(c, "restart", NULL);
  return r < 0 ? r : 0;
}

int ctr_pause(struct daemon *d, struct container *c, bool pause, struct berth_err *err) {
  ctr_lock();
  enum ctr_status st = c->status;
  ctr_unlock();
  if (pause && st != CTR_RUNNING)
    return berth_err_set(
        err, BERTH_ECONFLICT, 0,
        st == CTR_PAUSED ? "Container %s is already paused" : "Container %s is not running", c->id);
  if (!pause && st != CTR_PAUSED)
    return berth_err_set(err, BERTH_ECONFLICT, 0, "Container %s is not paused", c->id);
  int r = cgroup_ops()->freeze(c->id, pause, err);
  if (r < 0) return r;
  ctr_lock();
  if (ctr_is_running(c)) c->status = pause ? CTR_PAUSED : CTR_RUNNING;
  ctr_broadcast();
  ctr_unlock();
  ctr_save(d, c);
  ctr_event(c, pause ? "pause" : "unpause", NULL);
  return 0;
}

/* ---------------- remove, rename ---------------- */

/* dockerd's refusal of an rm without -f (its state in the words); with
 * ctr_lock held */
static int not_removable_locked(struct container *c, struct berth_err *err) {
  bool paused = c->status == CTR_PAUSED;
  return berth_err_set(err, BERTH_ECONFLICT, 0,
                       "You cannot remove a %s container %s. %s the container before attempting "
                       "removal or force remove",
                       paused ? "paused" : "running", c->id,
                       paused ? "Unpause and then stop" : "Stop");
}

int ctr_remove(struct daemon *d, struct container *c, bool force, bool volumes,
               struct berth_err *err) {
  ctr_lock();
  bool running = ctr_is_running(c);
  if (c->removed || c->removing) {
    ctr_unlock();
    return 0;
  }
  if (running && !force) {
    int r = not_removable_locked(c, err);
    ctr_unlock();
    return r;
  }
  if (c->status == CTR_RESTARTING && !force) {
    ctr_unlock();
    return berth_err_set(err, BERTH_ECONFLICT, 0,
                         "You cannot remove a restarting container %s. Stop the container before "
                         "attempting removal or force remove",
                         c->id);
  }
  c->stopped_by_user = true;
  c->removing = true;
  /* one owner at a time: a start in flight (a restart policy's) finishes
   * first; no new one begins now that removing is set */
  while (c->start_in_progress)
    ctr_wait(1000);
  running = ctr_is_running(c);
  if (running && !force) {
    c->removing = false;
    int r = not_removable_locked(c, err);
    ctr_unlock();
    return r;
  }
  uint64_t exits = c->exits;
  ctr_unlock();
  ctr_ahead_drop(d, c); /* removing is set: no start takes it meanwhile */
  if (running) {
    struct berth_err e = {0};
    ctr_kill(d, c, "KILL", &e);
    ctr_lock();
    wait_exit_locked(c, exits, 10000);
    ctr_unlock();
  }
  ctr_lock();
  c->status = CTR_REMOVING;
  ctr_unlock();
  /* out of the table first: a `wait --condition removed` (run --rm) hears
   * of it now, while its mount, cgroup and files go below; a caller of
   * ctr_remove (DELETE) returns after them.  A crash in between leaves the
   * record, which the restart removes again. */
  ctr_lock();
  ctr_table_remove_locked(c);
  ctr_broadcast();
  ctr_unlock();
  int64_t t = trace_phase(c->id, "", 0);
  exec_forget_container(c);
  unmount_rootfs(d, c);
  if (volumes) ctr_mounts_remove_anonymous(d, c); /* it is out of the table: not a user */
  t = trace_phase(c->id, "rm unmount", t);
  shim_settle(d, c);
  cgroup_ops()->destroy(c->id);
  t = trace_phase(c->id, "rm cgroup", t);
  struct berth_err e = {0};
  drv_storage_remove(d->storage, c->rw_id, &e);
  t = trace_phase(c->id, "rm layer", t);
  cleanup_free char *dir = ctr_dir(d, c->id);
  rm_rf_later(dir);
  trace_phase(c->id, "rm state", t);
  ctr_event(c, "destroy", NULL);
  return 0;
}

int ctr_rename(struct daemon *d, struct container *c, const char *name, struct berth_err *err) {
  ctr_ahead_drop(d, c); /* the log driver got the old name */
  /* dockerd's order and words (ContainerRename, reserveName wrapped) */
  if (!name || !*name)
    return berth_err_set(err, BERTH_EINVAL, 0, "Neither old nor new names may be empty");
  cleanup_free char *full = name[0] == '/' ? xstrdup(name) : xasprintf("/%s", name);
  ctr_lock();
  if (!strcmp(full, c->name)) {
    ctr_unlock();
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Renaming a container with the same name as its current name");
  }
  if (!valid_name(full)) {
    ctr_unlock();
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "Error when allocating new name: Invalid container name (%s), only "
                         "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                         full);
  }
  char other[65];
  if (ctr_name_taken_locked(full, c, other)) {
    ctr_unlock();
    return berth_err_set(err, BERTH_ECONFLICT, 0,
                         "Error when allocating new name: Conflict. The container name \"%s\" is "
                         "already in use by container \"%s\". You have to remove (or rename) "
                         "that container to be able to reuse that name.",
                         full, other);
  }
  cleanup_free char *old = c->name;
  c->name = xstrdup(full);
  ctr_unlock();
  ctr_save(d, c);
  ctr_event(c, "rename", json_pack("{s:s}", "oldName", old));
  return 0;
}

/* ---------------- restore after a berthd restart ---------------- */

/* A start that a crash of berthd cut short: its shim may be up (init
 * waiting for START, or even released), its rootfs mounted without a
 * record of it.  Undo both; a --rm container goes, as its client would
 * have removed it. */
static void restore_unstarted(struct daemon *d, struct container *c) {
  cleanup_free char *sock = ctr_socket(d, c->id);
  int pid = 0;
  enum shim_state st = shim_status(sock, &pid);
  if (st != SHIM_GONE) {
    if (st == SHIM_RUNNING && pid > 0) kill(pid, SIGKILL);
    shim_wait_gone(sock, 2000);
    log_info("container %.12s: ended the shim of a start berthd did not finish", c->id);
  }
  c->mounted = true; /* a mount made before the crash is not on record: unmount is safe to repeat */
  unmount_rootfs(d, c);
  ctrnet_release(d, c);
  ctr_lock();
  bool autoremove = c->opts->auto_remove;
  ctr_unlock();
  if (autoremove) {
    struct berth_err e = {0};
    ctr_remove(d, c, true, true, &e);
  } else {
    ctr_save(d, c);
  }
}

void ctr_restore(struct daemon *d) {
  size_t n;
  struct container **all = ctr_list(&n);
  for (size_t i = 0; i < n; i++) {
    struct container *c = all[i];
    if (c->status == CTR_CREATED) {
      restore_unstarted(d, c);
    } else if (ctr_is_running(c) || c->status == CTR_RESTARTING) {
      cleanup_free char *sock = ctr_socket(d, c->id);
      if (shim_status(sock, NULL) == SHIM_RUNNING) {
        log_info("container %.12s: shim found, still running", c->id);
        ctrnet_restore(d, c, true);
        ctr_mounts_readopt(d, c);
        c->shim_ready = true;
        start_monitor(d, c);
        ctr_health_start(d, c, true);
      } else {
        int code;
        bool oom;
        char error[512];
        read_exit_file(d, c, &code, &oom, error, sizeof error);
        log_info("container %.12s exited with %d while berthd was away", c->id, code);
        mark_exited(d, c, code, oom, error, false);
        ctr_lock();
        bool restart = should_restart(c, code), autoremove = c->opts->auto_remove;
        if (restart) c->restart_count++;
        ctr_unlock();
        if (restart) {
          struct berth_err e = {0};
          if (ctr_start(d, c, &e) < 0)
            log_warn("container %.12s: restart failed: %s", c->id, e.msg);
        } else if (autoremove) {
          struct berth_err e = {0};
          ctr_remove(d, c, true, true, &e);
        }
      }
    } else if (c->mounted) {
      unmount_rootfs(d, c);
      ctr_save(d, c);
    }
    /* restart policy "always" also covers containers stopped by a daemon restart */
    ctr_lock();
    bool always =
        c->status == CTR_EXITED && c->opts->restart == RESTART_ALWAYS && !c->stopped_by_user;
    ctr_unlock();
    if (always) {
      struct berth_err e = {0};
      ctr_start(d, c, &e);
    }
    ctr_put(c);
  }
  free(all);
  /* sockets of shims that died with no container left to own them */
  cleanup_free char *sdir = xasprintf("%s/c", d->cfg.exec_root);
  DIR *dir = opendir(sdir);
  struct dirent *de;
  while (dir && (de = readdir(dir))) {
    size_t l = strlen(de->d_name);
    if (l != 37 || strcmp(de->d_name + 32, ".sock")) continue;
    char prefix[33];
    memcpy(prefix, de->d_name, 32);
    prefix[32] = 0;
    struct container *c = ctr_get(prefix);
    if (c) {
      ctr_put(c);
      continue;
    }
    cleanup_free char *p = xasprintf("%s/%s", sdir, de->d_name);
    if (shim_status(p, NULL) == SHIM_GONE) unlink(p); /* a live shim: leave it be */
  }
  if (dir) closedir(dir);
}

/* ---------------- update ---------------- */

/* the limits of a running container applied; on a refusal the
 * container's HostConfig and opts go back to old_hc and old (unless
 * another update came in between), as dockerd restores its config */
static int update_apply(struct container *c, struct ctr_opts *o, json_t *old_hc,
                        struct ctr_opts *old, struct berth_err *err) {
  struct cg_limits l;
  json_t *devs = ctr_cg_limits(&o->res, &l, err);
  int r = devs ? cgroup_ops()->update(c->id, &l, err) : -err->code;
  json_decref(devs);
  if (r == 0) {
    ctr_opts_put(old);
    return 0;
  }
  char why[sizeof err->msg];
  snprintf(why, sizeof why, "%s", err->msg);
  r = berth_err_set(err, BERTH_EINTERNAL, 0, "Cannot update container %s: %s", c->id, why);
  ctr_lock();
  if (c->opts == o) {
    json_decref(c->host_config);
    c->host_config = json_incref(old_hc);
    c->opts = old;
    old = o; /* the one to put below */
  }
  ctr_unlock();
  ctr_opts_put(old);
  return r;
}

int ctr_update(struct daemon *d, struct container *c, json_t *body, json_t *warnings,
               struct berth_err *err) {
  ctr_ahead_drop(d, c); /* its cgroup was made with the old limits */
  /* a new HostConfig and opts, swapped in under the lock: a start in
   * flight keeps the opts it took */
  char why[200];
  ctr_lock();
  json_t *hc = ctr_hostconfig_update(c->host_config, body, err);
  bool conflict = hc && ctr_update_conflict(c->host_config, body, why, sizeof why);
  json_t *cfg = json_deep_copy(c->config); /* a copy: json_incref is not atomic enough */
  ctr_unlock();
  if (conflict) {
    json_decref(hc);
    hc = NULL;
    berth_err_set(err, BERTH_ECONFLICT, 0, "Cannot update container %s: %s", c->id, why);
  }
  if (hc && ctr_resources_fit(hc, warnings, err) < 0) {
    json_decref(hc);
    hc = NULL;
  }
  struct ctr_opts *o = hc ? ctr_opts_parse(cfg, hc, err) : NULL;
  json_decref(cfg);
  if (!o) {
    json_decref(hc);
    return -err->code;
  }
  o->refs++; /* ours, besides the container's: not yet shared */
  ctr_lock();
  json_t *old_hc = c->host_config;
  c->host_config = hc;
  struct ctr_opts *old = c->opts;
  c->opts = o;
  bool running = ctr_is_running(c);
  ctr_unlock();
  int r = running ? update_apply(c, o, old_hc, old, err) : (ctr_opts_put(old), 0);
  json_decref(old_hc);
  ctr_opts_put(o);
  ctr_save(d, c);
  if (r == 0) ctr_event(c, "update", NULL);
  return r;
}
