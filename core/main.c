/* berthd: flags, daemon.conf, plugins, image store, the API socket. */
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "api/routes.h"
#include "container/container.h"
#include "daemon.h"
#include "driver.h"
#include "events/events.h"
#include "network/network.h"
#include "runtime/runtime.h"
#include "userns.h"
#include "volume/volume.h"

static void usage(FILE *f) {
  fprintf(f, "Usage: berthd [OPTIONS]\n\n"
             "A container engine that speaks the Docker Engine API.\n\n"
             "Options:\n"
             "      --config-file FILE   daemon.conf to read (default " SYSCONFDIR
             "/berth/daemon.conf)\n"
             "      --data-root DIR      root of persistent state (default /var/lib/berth)\n"
             "      --exec-root DIR      root of runtime state (default /run/berth)\n"
             "  -H, --host unix:///PATH  API socket (default unix:///run/berth.sock)\n"
             "  -D, --debug              debug logging\n"
             "  -v, --version            print the version and exit\n"
             "  -h, --help               this help\n");
}

struct flags {
  const char *config_file;
  const char *data_root;
  const char *exec_root;
  const char *host;
  bool debug;
};

static int parse_flags(int argc, char **argv, struct flags *f) {
  static const struct option opts[] = {{"config-file", required_argument, NULL, 'c'},
                                       {"data-root", required_argument, NULL, 'd'},
                                       {"exec-root", required_argument, NULL, 'e'},
                                       {"host", required_argument, NULL, 'H'},
                                       {"debug", no_argument, NULL, 'D'},
                                       {"version", no_argument, NULL, 'v'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "H:Dvh", opts, NULL)) != -1) {
    switch (c) {
    case 'c': f->config_file = optarg; break;
    case 'd': f->data_root = optarg; break;
    case 'e': f->exec_root = optarg; break;
    case 'H': f->host = optarg; break;
    case 'D': f->debug = true; break;
    case 'v':
      printf("berthd version %s, plugin ABI %u.%u\n", PACKAGE_VERSION, BERTH_ABI_MAJOR,
             BERTH_ABI_MINOR);
      exit(0);
    case 'h': usage(stdout); exit(0);
    default: usage(stderr); return -1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "berthd: unexpected argument '%s'\n", argv[optind]);
    return -1;
  }
  return 0;
}

static void override(char **dst, const char *v) {
  if (!v) return;
  free(*dst);
  *dst = xstrdup(v);
}

static int load_driver(struct daemon *d, int kind, const char *name, struct loaded_plugin **out,
                       struct berth_err *err) {
  struct loaded_plugin *p = NULL;
  int r = plugin_load(&d->plugins, d->cfg.plugin_dir, kind, name, &p, err);
  if (r < 0) return r;
  r = plugin_init(p, &d->cfg, err);
  if (r < 0) return r;
  log_info("loaded %s driver %s %s (ABI %u.%u) from %s", plugin_kind_name(kind), p->name,
           p->desc.version ? p->desc.version : "", p->desc.abi_major, p->desc.abi_minor, p->origin);
  if (out) *out = p;
  return 0;
}

/* Drivers a deployment may use besides its defaults: one that fails is
 * listed as failed (berth info, plugin ls) and berthd goes on, unless it is
 * must_work.  One already loaded (the default log driver) is not loaded
 * twice. */
static int load_extras(struct daemon *d, int kind, char **names, size_t n, const char *must_work,
                       struct berth_err *err) {
  for (size_t i = 0; i < n; i++) {
    const char *nd = names[i];
    struct berth_err e = {0};
    struct loaded_plugin *have = plugin_find(&d->plugins, kind, nd);
    if ((have && nd[0] != '/') || load_driver(d, kind, nd, NULL, &e) == 0) continue;
    if (must_work && !strcmp(nd, must_work)) {
      *err = e;
      return -e.code;
    }
    daemon_warn(d, "%s driver %s is not available: %s", plugin_kind_name(kind), nd, e.msg);
    if (!plugin_find(&d->plugins, kind, nd)) plugin_add_failed(&d->plugins, kind, nd, e.msg);
  }
  return 0;
}

static int load_drivers(struct daemon *d, struct berth_err *err) {
  int r = load_driver(d, BERTH_KIND_STORAGE, d->cfg.storage_driver, &d->storage, err);
  if (r < 0 && !d->cfg.storage_driver_explicit && strcmp(d->cfg.storage_driver, "vfs")) {
    daemon_warn(d, "storage driver %s is not usable (%s); falling back to vfs",
                d->cfg.storage_driver, err->msg);
    r = load_driver(d, BERTH_KIND_STORAGE, "vfs", &d->storage, err);
  }
  if (r < 0) return r;
  /* the default network driver's failure stops berthd (below) */
  if ((r = load_extras(d, BERTH_KIND_NETWORK, d->cfg.network_drivers, d->cfg.n_network_drivers,
                       d->cfg.default_network, err)) < 0)
    return r;
  if (!plugin_find_active(&d->plugins, BERTH_KIND_NETWORK, d->cfg.default_network))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "%s: network.default is '%s', but no such network driver is loaded",
                         d->cfg.file_name, d->cfg.default_network);
  if ((r = load_driver(d, BERTH_KIND_LOGGER, d->cfg.log_driver, &d->logger, err)) < 0) return r;
  if ((r = load_extras(d, BERTH_KIND_LOGGER, d->cfg.log_drivers, d->cfg.n_log_drivers, NULL, err)) <
      0)
    return r;
  /* the built-in local volume driver always; others as configured */
  if ((r = load_driver(d, BERTH_KIND_VOLUME, "local", NULL, err)) < 0) return r;
  if ((r = load_extras(d, BERTH_KIND_VOLUME, d->cfg.volume_drivers, d->cfg.n_volume_drivers, NULL,
                       err)) < 0)
    return r;
  if (d->cfg.registry_driver &&
      (r = load_driver(d, BERTH_KIND_REGISTRY, d->cfg.registry_driver, &d->registry, err)) < 0)
    return r;
  return 0;
}

static int listen_unix(struct daemon *d, struct berth_err *err) {
  const char *path = d->cfg.socket_path;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path)
    return berth_err_set(err, BERTH_EINVAL, 0, "socket path too long: %s", path);
  strcpy(sa.sun_path, path);
  cleanup_free char *dir = xstrdup(path);
  *strrchr(dir, '/') = 0;
  if (*dir) mkdir_p(dir, 0755);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return err_sys(err, BERTH_EINTERNAL, "socket");
  /* A live daemon on the socket is an error; a stale socket file is not. */
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
    close(fd);
    return berth_err_set(err, BERTH_ECONFLICT, 0, "another daemon is listening on %s", path);
  }
  unlink(path);
  mode_t old = umask(0117);
  int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
  umask(old);
  if (r < 0 || listen(fd, 128) < 0) {
    int e = errno;
    close(fd);
    return err_sys_(err, BERTH_EINTERNAL, e, "listen on %s", path);
  }
  chmod(path, 0660);
  if (d->cfg.socket_group) {
    struct group *g = getgrnam(d->cfg.socket_group);
    if (g) {
      if (chown(path, 0, g->gr_gid) < 0) log_warn("chown %s: %s", path, strerror(errno));
    } else {
      log_warn("socket group '%s' does not exist; %s stays root-only", d->cfg.socket_group, path);
    }
  }
  return fd;
}

static void engine_id(struct daemon *d) {
  cleanup_free char *path = xasprintf("%s/engine-id", d->cfg.data_root);
  cleanup_free char *s = read_file(path, NULL);
  if (s && strlen(s) >= 64 && is_hex(s, 64)) {
    memcpy(d->id, s, 64);
    d->id[64] = 0;
    return;
  }
  random_hex(d->id, 32);
  write_file_atomic(path, d->id, 64, 0600);
}

/* The image store asks before deleting an image: 2 running, 1 stopped. */
static int image_in_use(const char *image_id, char cid[65]) {
  size_t n;
  struct container **all = ctr_list(&n);
  int use = 0;
  for (size_t i = 0; i < n; i++) {
    if (!strcmp(all[i]->image_id, image_id)) {
      ctr_lock();
      int u = ctr_is_running(all[i]) ? 2 : 1;
      ctr_unlock();
      if (u > use) {
        use = u;
        memcpy(cid, all[i]->id, 65);
      }
    }
    ctr_put(all[i]);
  }
  free(all);
  return use;
}

static volatile sig_atomic_t stop_signal;

static void *shutdown_watchdog(void *sock) {
  sleep(5);
  log_warn("shutdown: streams still open after 5 s; exiting anyway");
  unlink(sock);
  _exit(0);
}
static void on_signal(int sig) {
  stop_signal = sig;
}

/* One berthd per data root: two would diverge on every state file.  The
 * lock is a POSIX record lock: it belongs to this process alone, so a child
 * between fork and exec (a shim being spawned) does not keep the root
 * locked after a kill -9 of berthd, as a flock on the shared open file
 * would.  The fd stays open (close-on-exec) for the daemon's lifetime. */
static int lock_data_root(const char *root) {
  cleanup_free char *path = xasprintf("%s/berthd.lock", root);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    fprintf(stderr, "berthd: cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  if (fcntl(fd, F_SETLK, &fl) < 0) {
    char pid[32] = "";
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = 0;
    pid[strcspn(pid, "\n")] = 0;
    fprintf(stderr,
            "berthd: the data root %s is in use by another berthd%s%s%s (lock %s); "
            "give this one its own --data-root\n",
            root, *pid ? " (pid " : "", pid, *pid ? ")" : "", path);
    close(fd);
    return -1;
  }
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
  }
  return 0; /* fd stays open: the lock lives as long as this process */
}

/* The default seccomp profile: daemon.conf's seccomp-profile (must load),
 * else <sysconfdir>/berth/seccomp-default.json when installed (a bad one
 * is a warning), else the copy built in.  One the same as the built-in is
 * the built-in (compiled filters are shared). */
static int seccomp_default(struct daemon *d, struct berth_err *err) {
  const char *path = d->cfg.seccomp_profile;
  bool asked = path != NULL;
  ctr_seccomp_init(d->cfg.exec_root);
  if (!path && path_exists(SYSCONFDIR "/berth/seccomp-default.json"))
    path = SYSCONFDIR "/berth/seccomp-default.json";
  d->seccomp_source = xstrdup("builtin");
  if (!path) return 0;
  cleanup_free char *text = read_file(path, NULL);
  int r = !text ? err_sys(err, BERTH_EINVAL, "seccomp-profile %s", path)
                : rt_seccomp_check_profile(text, err);
  /* the built-in's copy needs no compiling to be known good */
  if (r == 0 && strcmp(text, rt_seccomp_default_json)) r = ctr_seccomp_set_default(text, err);
  if (r < 0 && asked) return err_wrap(err, "seccomp-profile %s", path);
  if (r < 0) {
    daemon_warn(d, "%s: %s; using the built-in seccomp profile", path, err->msg);
    return 0;
  }
  free(d->seccomp_source);
  d->seccomp_source = xstrdup(path);
  return 0;
}

int main(int argc, char **argv) {
  /* two malloc arenas, not glibc's 8 per core: with a thread per running
   * container, objects spread over 16 arenas left ~11 KiB of each
   * container's share of berthd's memory in their fragments (measured:
   * 53 -> 42 KiB per container with 100 running) */
  mallopt(M_ARENA_MAX, 2);
  struct flags f = {0};
  if (parse_flags(argc, argv, &f) < 0) return 2;
  static struct daemon d;
  struct berth_err err = {0};
  const char *conf = f.config_file;
  if (!conf && path_exists(SYSCONFDIR "/berth/daemon.conf")) conf = SYSCONFDIR "/berth/daemon.conf";
  if (config_load(&d.cfg, conf, &err) < 0) {
    fprintf(stderr, "berthd: %s\n", err.msg);
    return 1;
  }
  override(&d.cfg.data_root, f.data_root);
  override(&d.cfg.exec_root, f.exec_root);
  if (f.host) {
    if (!str_has_prefix(f.host, "unix:///")) {
      fprintf(stderr, "berthd: -H %s: only unix:///PATH is supported\n", f.host);
      return 1;
    }
    override(&d.cfg.socket_path, f.host + strlen("unix://"));
  }
  if (f.debug || d.cfg.debug) berth_log_threshold = BERTH_LOG_DEBUG;
  drv_install_fault_handler(); /* before the first driver is entered */
  int r;
  if ((r = mkdir_p(d.cfg.data_root, 0711)) < 0 || (r = mkdir_p(d.cfg.exec_root, 0700)) < 0) {
    fprintf(stderr, "berthd: cannot create %s or %s: %s\n", d.cfg.data_root, d.cfg.exec_root,
            strerror(-r));
    return 1;
  }
  if (lock_data_root(d.cfg.data_root) < 0) return 1;
  /* every client connection is an fd: use all the hard limit allows */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  d.started_ns = now_ns();
  engine_id(&d);
  if (load_drivers(&d, &err) < 0) {
    fprintf(stderr, "berthd: %s\n", err.msg);
    plugin_set_free(&d.plugins);
    return 1;
  }
  if (d.cfg.default_network && !strcmp(d.cfg.default_network, "none"))
    daemon_warn(&d, "default network is 'none': no bridge driver is configured yet");
  if (seccomp_default(&d, &err) < 0 || userns_setup(&d, &err) < 0) {
    fprintf(stderr, "berthd: %s\n", err.msg);
    return 1;
  }
  if (store_open(&d.images, d.cfg.data_root, d.storage, &err) < 0) {
    fprintf(stderr, "berthd: %s\n", err.msg);
    return 1;
  }
  int fd = listen_unix(&d, &err);
  if (fd < 0) {
    fprintf(stderr, "berthd: %s\n", err.msg);
    return 1;
  }
  if (net_init(&d, &err) < 0) {
    fprintf(stderr, "berthd: %s\n", err.msg);
    return 1;
  }
  if (vol_init(&d, &err) < 0) {
    fprintf(stderr, "berthd: %s\n", err.msg);
    return 1;
  }
  ev_init(d.cfg.data_root, &err);
  ctr_init(&d);
  d.images.in_use = image_in_use;
  ctr_restore(&d);
  store_sweep_pending(&d.images, ctr_layer_owned);
  ctr_mntns_start(&d); /* after the restore: it must not slow it down */
  ctr_netns_start();
  const struct {
    const struct api_route *r;
    size_t n;
  } tables[] = {{system_routes, n_system_routes}, {registry_routes, n_registry_routes},
                {image_routes, n_image_routes},   {container_routes, n_container_routes},
                {exec_routes, n_exec_routes},     {network_routes, n_network_routes},
                {volume_routes, n_volume_routes}, {archive_routes, n_archive_routes},
                {build_routes, n_build_routes},   {swarm_routes, n_swarm_routes},
                {event_routes, n_event_routes}};
  size_t n = 0;
  for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
    n += tables[i].n;
  struct api_route *routes = xcalloc(n, sizeof *routes);
  n = 0;
  for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
    memcpy(routes + n, tables[i].r, tables[i].n * sizeof *routes);
    n += tables[i].n;
  }
  struct api_server *srv = api_start(fd, routes, n, &d, &err);
  if (!srv) {
    fprintf(stderr, "berthd: %s\n", err.msg);
    return 1;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  log_info("berthd %s serving API %s on unix://%s (storage %s, data root %s)", PACKAGE_VERSION,
           API_VERSION, d.cfg.socket_path, d.storage->name, d.cfg.data_root);
  /* every 10 s: the records a full disk kept from being saved, and the
   * free memory malloc keeps in its arenas (one per connection thread, up
   * to 8 per core) goes back to the system: without it berthd's RSS creeps
   * up with fragmentation though nothing leaks */
  while (!stop_signal) {
    struct timespec ten = {10, 0};
    if (nanosleep(&ten, NULL) != 0) continue;
    ctr_save_unsaved(&d);
    malloc_trim(0);
  }
  log_info("received signal %d, shutting down", (int)stop_signal);
  /* Streams that wait on containers (logs -f, wait, stats) end when their
   * client goes; a client that never goes must not keep berthd up.  All
   * state is on disk and the shims live on, so leaving is safe. */
  pthread_t wd;
  if (pthread_create(&wd, NULL, shutdown_watchdog, d.cfg.socket_path) == 0) pthread_detach(wd);
  ev_shutdown();
  ctr_shutdown();
  api_stop(srv);
  work_drain(); /* a container's exit, an unplumbing, a probe: out of the drivers */
  close(fd);
  unlink(d.cfg.socket_path);
  store_close(&d.images);
  plugin_set_free(&d.plugins);
  for (size_t i = 0; i < d.n_warnings; i++)
    free(d.warnings[i]);
  free(d.warnings);
  free(d.seccomp_source);
  free(d.remap_user);
  if (d.remap_fd >= 0) close(d.remap_fd);
  free(routes);
  config_free(&d.cfg);
  return 0;
}
