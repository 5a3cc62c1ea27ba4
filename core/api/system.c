/* /_ping, /version, /info */
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../container/container.h"
#include "../daemon.h"
#include "../driver.h"
#include "../events/events.h"
#include "../runtime/cgroup.h"
#include "../runtime/runtime.h"
#include "../util/filters.h"
#include "../volume/volume.h"
#include "images.h"
#include "routes.h"

static int ping(struct api_request *req) {
  struct MHD_Response *resp;
  bool head = !strcmp(req->method, "HEAD");
  resp = MHD_create_response_from_buffer(head ? 0 : 2, (void *)"OK", MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
  MHD_add_response_header(resp, "Cache-Control", "no-cache, no-store, must-revalidate");
  MHD_add_response_header(resp, "Pragma", "no-cache");
  MHD_add_response_header(resp, "Builder-Version", "1");
  MHD_add_response_header(resp, "Swarm", "inactive");
  MHD_add_response_header(resp, "Api-Version", API_VERSION);
  MHD_add_response_header(resp, "Ostype", "linux");
  MHD_add_response_header(resp, "Docker-Experimental", "false");
  MHD_add_response_header(resp, "Server", "Berth/" PACKAGE_VERSION " (linux)");
  MHD_queue_response(req->conn, 200, resp);
  MHD_destroy_response(resp);
  req->responded = true;
  return 0;
}

static int version(struct api_request *req) {
  struct utsname u;
  uname(&u);
  const char *arch = host_arch();
  char abi[16];
  snprintf(abi, sizeof abi, "%u.%u", BERTH_ABI_MAJOR, BERTH_ABI_MINOR);
  json_t *details = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ApiVersion", API_VERSION, "MinAPIVersion",
      API_MIN_VERSION, "GitCommit", "", "GoVersion", "none (C)", "Os", "linux", "Arch", arch,
      "KernelVersion", u.release, "BuildTime", "", "Experimental", "false", "PluginABI", abi);
  json_t *v = json_pack("{s:{s:s},s:[{s:s,s:s,s:o}],s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}",
                        "Platform", "Name", "Berth Engine", "Components", "Name", "Engine",
                        "Version", PACKAGE_VERSION, "Details", details, "Version", PACKAGE_VERSION,
                        "ApiVersion", API_VERSION, "MinAPIVersion", API_MIN_VERSION, "GitCommit",
                        "", "GoVersion", "none (C)", "Os", "linux", "Arch", arch, "KernelVersion",
                        u.release, "BuildTime", "", "Experimental", 0);
  return api_reply_json(req, 200, v);
}

static json_t *status_rows(struct loaded_plugin *p) {
  json_t *rows = json_array();
  struct berth_buf b = {sizeof b, NULL, 0, 0};
  struct berth_err e = {0};
  int r = drv_storage_status(p, &b, &e);
  if (r == 0 && b.data) {
    char *save = NULL;
    for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char *tab = strchr(line, '\t');
      if (!tab) continue;
      *tab = 0;
      json_array_append_new(rows, json_pack("[s,s]", line, tab + 1));
    }
  }
  host_buf_free(&b);
  return rows;
}

/* a KEY= line of /etc/os-release, unquoted; or def */
static const char *os_release(const char *key, const char *def, char *buf, size_t len) {
  cleanup_free char *s = read_file("/etc/os-release", NULL);
  size_t kl = strlen(key);
  char *p = s;
  while (p && strncmp(p, key, kl) && (p = strchr(p, '\n')))
    p++;
  if (!p || !*p) return def;
  p += kl;
  if (*p == '"') p++;
  size_t n = strcspn(p, "\"\n");
  snprintf(buf, len, "%.*s", (int)n, p);
  return buf;
}

/* a proxy setting of berthd's environment, its password masked as docker
 * masks it ("http://user:xxxxx@host") */
static json_t *proxy_env(const char *upper, const char *lower) {
  const char *v = getenv(upper) ?: getenv(lower) ?: "";
  const char *scheme = strstr(v, "://"), *at = strrchr(v, '@');
  const char *user = scheme ? scheme + 3 : v;
  const char *colon = at ? memchr(user, ':', (size_t)(at - user)) : NULL;
  if (!colon) return json_string(v);
  return json_sprintf("%.*sxxxxx%s", (int)(colon + 1 - v), v, at);
}

static bool sysctl_on(const char *path) {
  cleanup_free char *b = read_file(path, NULL);
  return b && b[0] == '1';
}

/* berthd's open descriptors and threads (docker's NFd and NGoroutines) */
static json_int_t count_dir(const char *path) {
  cleanup_dir DIR *dp = opendir(path);
  json_int_t n = 0;
  for (struct dirent *de; dp && (de = readdir(dp));)
    n += de->d_name[0] != '.';
  return n;
}

/* the members of docker's info that describe the host and the daemon's
 * process rather than berth's parts */
static void info_host(json_t *j) {
  char osv[64], now[64];
  format_rfc3339(now_ns(), now, sizeof now);
  json_object_set_new(j, "KernelMemory", json_false()); /* refused: docs/compat.md */
  json_object_set_new(j, "KernelMemoryTCP", json_false());
  json_object_set_new(j, "BridgeNfIptables",
                      json_boolean(sysctl_on("/proc/sys/net/bridge/bridge-nf-call-iptables")));
  json_object_set_new(j, "BridgeNfIp6tables",
                      json_boolean(sysctl_on("/proc/sys/net/bridge/bridge-nf-call-ip6tables")));
  json_object_set_new(j, "NFd", json_integer(count_dir("/proc/self/fd") - 1)); /* not opendir's */
  json_object_set_new(j, "NGoroutines", json_integer(count_dir("/proc/self/task")));
  json_object_set_new(j, "SystemTime", json_string(now));
  json_object_set_new(j, "NEventsListener", json_integer((json_int_t)ev_listeners()));
  json_object_set_new(j, "OSVersion", json_string(os_release("VERSION_ID=", "", osv, sizeof osv)));
  json_object_set_new(j, "GenericResources", json_null());
  json_object_set_new(j, "HttpProxy", proxy_env("HTTP_PROXY", "http_proxy"));
  json_object_set_new(j, "HttpsProxy", proxy_env("HTTPS_PROXY", "https_proxy"));
  json_object_set_new(j, "NoProxy", proxy_env("NO_PROXY", "no_proxy"));
  json_object_set_new(j, "Labels", json_array());
  json_object_set_new(j, "Isolation", json_string(""));
  json_object_set_new(j, "InitBinary", json_string("berth-init"));
  /* no containerd, runc or docker-init: berth-shim and berth-init are
   * berth's own, of ServerVersion */
  static const char *const commits[] = {"ContainerdCommit", "RuncCommit", "InitCommit"};
  for (size_t i = 0; i < ARRAY_SIZE(commits); i++)
    json_object_set_new(j, commits[i], json_pack("{s:s,s:s}", "ID", "", "Expected", ""));
}

static json_t *plugin_list(struct daemon *d, int kind) {
  json_t *a = json_array();
  for (size_t i = 0; i < d->plugins.n; i++)
    if ((int)d->plugins.items[i]->desc.kind == kind && d->plugins.items[i]->state == PLUGIN_ACTIVE)
      json_array_append_new(a, json_string(d->plugins.items[i]->name));
  return a;
}

/* docker's RegistryConfig: the registry driver's mirrors and insecure
 * hosts (its resolved settings), loopback always insecure */
static json_t *registry_config(struct daemon *d) {
  json_t *rc = json_pack("{s:[],s:[],s:[s,s],s:{},s:[]}", "AllowNondistributableArtifactsCIDRs",
                         "AllowNondistributableArtifactsHostnames", "InsecureRegistryCIDRs",
                         "127.0.0.0/8", "::1/128", "IndexConfigs", "Mirrors");
  json_t *conf = d->registry ? plugin_resolved_config(d->registry) : NULL;
  json_t *mirrors = json_object_get(rc, "Mirrors"), *index = json_object_get(rc, "IndexConfigs");
  const char *m = json_string_value(json_object_get(conf, "mirrors")) ?: "";
  const char *in = json_string_value(json_object_get(conf, "insecure")) ?: "";
  cleanup_free char *mc = xstrdup(m), *ic = xstrdup(in);
  for (char *save = NULL, *t = strtok_r(mc, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
    json_array_append_new(mirrors, json_string(t));
  json_object_set_new(index, "docker.io",
                      json_pack("{s:s,s:O,s:b,s:b}", "Name", "docker.io", "Mirrors", mirrors,
                                "Secure", 1, "Official", 1));
  for (char *save = NULL, *t = strtok_r(ic, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
    json_object_set_new(
        index, t,
        json_pack("{s:s,s:[],s:b,s:b}", "Name", t, "Mirrors", "Secure", 0, "Official", 0));
  json_decref(conf);
  return rc;
}

static int info(struct api_request *req) {
  struct daemon *d = req->d;
  struct utsname u;
  uname(&u);
  struct sysinfo si;
  sysinfo(&si);
  char hostname[256] = "";
  gethostname(hostname, sizeof hostname - 1);
  char osbuf[256];
  pthread_mutex_lock(&d->images.lock);
  size_t n_images = d->images.n_images;
  pthread_mutex_unlock(&d->images.lock);

  json_t *drivers = json_array();
  for (size_t i = 0; i < d->plugins.n; i++) {
    struct loaded_plugin *p = d->plugins.items[i];
    char abi[16], status[600];
    snprintf(abi, sizeof abi, "%u.%u", p->desc.abi_major, p->desc.abi_minor);
    json_array_append_new(drivers,
                          json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Kind",
                                    plugin_kind_name((int)p->desc.kind), "Name", p->name, "Version",
                                    p->desc.version ? p->desc.version : "", "ABI", abi, "Origin",
                                    p->origin, "Status", plugin_status(p, status, sizeof status)));
  }
  json_t *plugins =
      json_pack("{s:o,s:o,s:o,s:n,s:o,s:o}", "Volume", plugin_list(d, BERTH_KIND_VOLUME), "Network",
                plugin_list(d, BERTH_KIND_NETWORK), "Log", plugin_list(d, BERTH_KIND_LOGGER),
                "Authorization", "Storage", plugin_list(d, BERTH_KIND_STORAGE), "Drivers", drivers);
  json_t *warnings = json_array();
  for (size_t i = 0; i < d->n_warnings; i++)
    json_array_append_new(warnings, json_string(d->warnings[i]));
  char abi[16];
  snprintf(abi, sizeof abi, "%u.%u", BERTH_ABI_MAJOR, BERTH_ABI_MINOR);

  json_t *j = json_object();
  json_object_set_new(j, "ID", json_string(d->id));
  size_t n_ctr = 0, running = 0, paused = 0;
  struct container **cs = ctr_list(&n_ctr);
  ctr_lock();
  for (size_t i = 0; i < n_ctr; i++) {
    if (cs[i]->status == CTR_RUNNING || cs[i]->status == CTR_RESTARTING) running++;
    if (cs[i]->status == CTR_PAUSED) paused++;
  }
  ctr_unlock();
  for (size_t i = 0; i < n_ctr; i++)
    ctr_put(cs[i]);
  free(cs);
  json_object_set_new(j, "Containers", json_integer((json_int_t)n_ctr));
  json_object_set_new(j, "ContainersRunning", json_integer((json_int_t)running));
  json_object_set_new(j, "ContainersPaused", json_integer((json_int_t)paused));
  json_object_set_new(j, "ContainersStopped", json_integer((json_int_t)(n_ctr - running - paused)));
  json_object_set_new(j, "Images", json_integer((json_int_t)n_images));
  json_object_set_new(j, "Driver", json_string(d->storage->name));
  json_object_set_new(j, "DriverStatus", status_rows(d->storage));
  json_object_set_new(j, "Plugins", plugins);
  /* what this host's cgroups can hold, as docker's sysinfo finds it */
  const struct cgroup_ops *cg = cgroup_ops();
  json_object_set_new(j, "MemoryLimit", json_boolean(cg->has(CG_MEMORY)));
  json_object_set_new(j, "SwapLimit", json_boolean(cg->has(CG_MEMORY_SWAP)));
  json_object_set_new(j, "CpuCfsPeriod", json_boolean(cg->has(CG_CPU_CFS)));
  json_object_set_new(j, "CpuCfsQuota", json_boolean(cg->has(CG_CPU_CFS)));
  json_object_set_new(j, "CPUShares", json_boolean(cg->has(CG_CPU_SHARES)));
  json_object_set_new(j, "CPUSet", json_boolean(cg->has(CG_CPUSET)));
  json_object_set_new(j, "PidsLimit", json_boolean(cg->has(CG_PIDS)));
  json_object_set_new(j, "IPv4Forwarding", json_true());
  json_object_set_new(j, "OomKillDisable", json_boolean(cg->has(CG_OOM_KILL_DISABLE)));
  json_object_set_new(j, "Debug", json_boolean(berth_log_threshold >= BERTH_LOG_DEBUG));
  json_object_set_new(j, "LoggingDriver", json_string(d->logger->name));
  json_object_set_new(j, "CgroupDriver", json_string("cgroupfs"));
  json_object_set_new(j, "CgroupVersion",
                      json_string(path_exists("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1"));
  json_object_set_new(j, "KernelVersion", json_string(u.release));
  json_object_set_new(j, "OperatingSystem",
                      json_string(os_release("PRETTY_NAME=", "Linux", osbuf, sizeof osbuf)));
  json_object_set_new(j, "OSType", json_string("linux"));
  json_object_set_new(j, "Architecture", json_string(u.machine));
  json_object_set_new(j, "NCPU", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
  json_object_set_new(j, "MemTotal", json_integer((json_int_t)si.totalram * si.mem_unit));
  json_object_set_new(j, "Name", json_string(hostname));
  json_object_set_new(j, "ServerVersion", json_string(PACKAGE_VERSION));
  json_object_set_new(j, "DockerRootDir", json_string(d->cfg.data_root));
  json_object_set_new(j, "IndexServerAddress", json_string("https://index.docker.io/v1/"));
  json_object_set_new(j, "RegistryConfig", registry_config(d));
  json_object_set_new(j, "Swarm",
                      json_pack("{s:s,s:s,s:s,s:b,s:s,s:n}", "NodeID", "", "NodeAddr", "",
                                "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "",
                                "RemoteManagers"));
  json_object_set_new(j, "Runtimes", json_pack("{s:{s:s}}", "berth", "path", "berth-shim"));
  json_object_set_new(j, "DefaultRuntime", json_string("berth"));
  cleanup_free char *sec = xasprintf("name=seccomp,profile=%s", req->d->seccomp_source);
  json_t *secopts = json_pack("[s]", sec);
  if (req->d->remap.size) json_array_append_new(secopts, json_string("name=userns"));
  json_object_set_new(j, "SecurityOptions", secopts);
  /* berth's own: what it does about the host's AppArmor (docker lists
   * name=apparmor only when it applies a profile; berth never does) */
  json_object_set_new(j, "AppArmor",
                      json_string(rt_apparmor_enabled()
                                      ? "enabled on the host, not applied by berth"
                                      : "not on this kernel"));
  json_object_set_new(j, "ExperimentalBuild", json_false());
  json_object_set_new(j, "LiveRestoreEnabled", json_true());
  json_object_set_new(j, "Warnings", warnings);
  json_object_set_new(j, "PluginABI", json_string(abi));
  json_object_set_new(j, "DefaultNetwork", json_string(d->cfg.default_network));
  info_host(j);
  return api_reply_json(req, 200, j);
}

/* GET /system/df: images (with the containers using each and the size of
 * every layer once), containers with their sizes, volumes with their usage */
static json_t *df_images(struct daemon *d, struct container **all, size_t n) {
  struct image_store *s = &d->images;
  json_t *images = json_array();
  pthread_mutex_lock(&s->lock);
  int64_t layers = 0;
  for (size_t i = 0; i < s->n_layers; i++)
    layers += (int64_t)s->layers[i]->size;
  /* docker's: the images its list shows (not the intermediate ones), each
   * with the bytes of its layers another of them shares */
  struct image **shown = xcalloc(s->n_images + 1, sizeof *shown);
  size_t n_shown = 0;
  for (size_t i = 0; i < s->n_images; i++)
    if (!store_hidden_locked(s, s->images[i])) shown[n_shown++] = s->images[i];
  json_t *refs = store_layer_refs_locked(s, shown, n_shown);
  for (size_t i = 0; i < n_shown; i++) {
    json_t *j = image_summary_json(s, shown[i]);
    int users = 0;
    for (size_t k = 0; k < n; k++)
      users += !strcmp(all[k]->image_id, shown[i]->id);
    json_object_set_new(j, "Containers", json_integer(users));
    json_object_set_new(j, "SharedSize",
                        json_integer((json_int_t)store_shared_size_locked(s, shown[i], refs)));
    json_array_append_new(images, j);
  }
  json_decref(refs);
  free(shown);
  pthread_mutex_unlock(&s->lock);
  return json_pack("{s:I,s:o}", "LayersSize", (json_int_t)layers, "Images", images);
}

static int df(struct api_request *req) {
  struct daemon *d = req->d;
  size_t n;
  struct container **all = ctr_list(&n);
  json_t *out = df_images(d, all, n);
  json_t *ctrs = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(ctrs, ctr_summary_json(d, all[i], true));
  struct berth_err err = {0};
  struct filters none = {0};
  json_t *vl = vol_list(d, &none, ctr_volume_in_use, &err);
  json_t *vols = json_incref(json_object_get(vl, "Volumes"));
  json_decref(vl);
  size_t i;
  json_t *v;
  json_array_foreach(vols, i, v) {
    const char *name = json_string_value(json_object_get(v, "Name"));
    json_t *users = ctr_volume_users(name);
    json_object_set_new(v, "UsageData",
                        json_pack("{s:I,s:I}", "Size", (json_int_t)vol_size(name), "RefCount",
                                  (json_int_t)json_array_size(users)));
    json_decref(users);
  }
  for (size_t k = 0; k < n; k++)
    ctr_put(all[k]);
  free(all);
  json_object_set_new(out, "Containers", ctrs);
  json_object_set_new(out, "Volumes", vols ? vols : json_array());
  json_object_set_new(out, "BuildCache", json_array());
  return api_reply_json(req, 200, out);
}

const struct api_route system_routes[] = {
    {"GET", "/_ping", ping, BODY_BUFFER, NULL},
    {"GET", "/version", version, BODY_BUFFER, NULL},
    {"GET", "/info", info, BODY_BUFFER, NULL},
    {"GET", "/system/df", df, BODY_BUFFER, NULL},
};
const size_t n_system_routes = ARRAY_SIZE(system_routes);
