/* The pull and push engines without HTTP (core/image/registry.h), against
 * a real docker-registry this test starts on a loopback port: an image
 * imported from a tar made here is pushed, deleted, pulled back (same id,
 * the progress a person sees), pulled again (nothing downloaded), and a
 * missing tag gives docker's message.  The sink records what the engine
 * said, as api/jsonmessage.c would render it. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "../../core/daemon.h"
#include "../../core/image/archive.h"
#include "../../core/image/registry.h"
#include "tap.h"

static char T[] = "/tmp/berth-pull-XXXXXX";
static pid_t registry_pid;

static int free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t l = sizeof a;
  bind(s, (struct sockaddr *)&a, sizeof a);
  getsockname(s, (struct sockaddr *)&a, &l);
  close(s);
  return ntohs(a.sin_port);
}

static bool port_open(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bool ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
  close(s);
  return ok;
}

static bool start_registry(int port) {
  cleanup_free char *conf = xasprintf("%s/registry.yml", T);
  cleanup_free char *yml =
      xasprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                "    rootdirectory: %s/registry\nhttp:\n  addr: 127.0.0.1:%d\n",
                T, port);
  write_file_atomic(conf, yml, strlen(yml), 0600);
  registry_pid = fork();
  if (registry_pid == 0) {
    int nul = open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    dup2(nul, 2);
    execlp("docker-registry", "docker-registry", "serve", conf, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 100; i++, usleep(50000))
    if (port_open(port)) return true;
  return false;
}

/* a one-file rootfs tar */
static int make_tar(const char *path) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_filename(a, path);
  struct archive_entry *e = archive_entry_new();
  static const char body[] = "hello from a pushed layer\n";
  archive_entry_set_pathname(e, "hello");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, sizeof body - 1);
  archive_write_header(a, e);
  archive_write_data(a, body, sizeof body - 1);
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return open(path, O_RDONLY | O_CLOEXEC);
}

/* what the engine said, one line per call */
struct record {
  char *text;
  size_t len;
};

static void rec(struct record *r, const char *fmt, const char *a, const char *b) {
  char line[1200];
  int n = snprintf(line, sizeof line, fmt, a ? a : "-", b ? b : "");
  r->text = xrealloc(r->text, r->len + (size_t)n + 2);
  memcpy(r->text + r->len, line, (size_t)n);
  r->len += (size_t)n;
  r->text[r->len++] = '\n';
  r->text[r->len] = 0;
}
static void on_status(void *ctx, const char *id, const char *text) {
  rec(ctx, "status %s %s", id, text);
}
static void on_bytes(void *ctx, const char *action, const char *id, uint64_t cur, uint64_t tot) {
  (void)cur;
  (void)tot;
  rec(ctx, "bytes %s %s", action, id);
}
static void on_aux(void *ctx, json_t *aux) {
  rec(ctx, "aux %s %s", json_string_value(json_object_get(aux, "Tag")), "");
  json_decref(aux);
}

static void reset(struct record *r) {
  free(r->text);
  r->text = NULL;
  r->len = 0;
}

static int setup(struct daemon *d, struct berth_err *err) {
  cleanup_free char *conf = xasprintf("%s/daemon.conf", T);
  cleanup_free char *text = xasprintf("data-root = \"%s/data\";\nexec-root = \"%s/run\";\n"
                                      "plugin-dir = \"%s/plugins/.libs\";\nstorage: { driver = "
                                      "\"vfs\"; };\nregistry: { driver = \"distribution\"; };\n",
                                      T, T, TEST_BUILDDIR);
  write_file_atomic(conf, text, strlen(text), 0600);
  int r = config_load(&d->cfg, conf, err);
  struct loaded_plugin *p = NULL;
  if (r == 0) r = plugin_load(&d->plugins, d->cfg.plugin_dir, BERTH_KIND_STORAGE, "vfs", &p, err);
  if (r == 0) r = plugin_init(p, &d->cfg, err);
  d->storage = p;
  if (r == 0)
    r = plugin_load(&d->plugins, d->cfg.plugin_dir, BERTH_KIND_REGISTRY, "distribution", &p, err);
  if (r == 0) r = plugin_init(p, &d->cfg, err);
  d->registry = p;
  if (r == 0) r = store_open(&d->images, d->cfg.data_root, d->storage, err);
  return r;
}

static void test_push_pull(struct daemon *d, int port) {
  struct record r = {0};
  struct xfer_progress pr = {&r, on_status, on_bytes, NULL, on_aux};
  struct berth_err err = {0};
  cleanup_free char *tarp = xasprintf("%s/rootfs.tar", T);
  int fd = make_tar(tarp);
  char chain[DIGEST_LEN + 1], id[DIGEST_LEN + 1], id2[DIGEST_LEN + 1] = "";
  cleanup_free char *name = xasprintf("127.0.0.1:%d/berth/pulltest", port);
  cleanup_free char *full = xasprintf("%s:v1", name);
  struct image_ref ref;
  ok(ref_parse(full, true, &ref, &err) == 0, "reference %s", full);
  ok(image_import_receive(&d->images, fd, chain, &err) == 0, "layer imported: %s", err.msg);
  close(fd);
  ok(image_import(&d->images, chain, NULL, 0, "pull test", &ref, id, &err) == 0, "image made");

  int rc = image_push(d, name, "v1", NULL, &pr, &err);
  ok(rc == 0, "pushed without HTTP: %s", err.msg);
  contains(r.text, "status - The push refers to repository [", "push: the repository line");
  contains(r.text, " Pushed\n", "push: a layer pushed");
  contains(r.text, "aux v1", "push: the aux Tag/Digest record");
  reset(&r);

  json_t *res = json_array();
  ok(store_delete(&d->images, full, true, false, res, &err) == 0, "deleted locally");
  json_decref(res);
  rc = image_pull(d, &ref, NULL, NULL, &pr, id2, &err);
  ok(rc == 0, "pulled without HTTP: %s", err.msg);
  is_str(id2, id, "the pulled image has the pushed id");
  contains(r.text, "status v1 Pulling from berth/pulltest", "pull: Pulling from");
  contains(r.text, " Pulling fs layer\n", "pull: Pulling fs layer");
  contains(r.text, "bytes Downloading ", "pull: download progress");
  contains(r.text, " Verifying Checksum\n", "pull: checksum verified");
  contains(r.text, " Pull complete\n", "pull: layer applied");
  contains(r.text, "status - Digest: sha256:", "pull: the manifest digest");
  contains(r.text, "Status: Downloaded newer image for", "pull: the final status");
  reset(&r);

  rc = image_pull(d, &ref, NULL, NULL, &pr, id2, &err);
  ok(rc == 0 && !strcmp(id2, id), "pulled again");
  contains(r.text, " Already exists\n", "again: the layer is not downloaded");
  ok(!strstr(r.text, "Downloading"), "again: no bytes moved");
  contains(r.text, "Status: Image is up to date for", "again: up to date");
  reset(&r);

  struct image_ref missing;
  cleanup_free char *mfull = xasprintf("%s:nosuchtag", name);
  ref_parse(mfull, true, &missing, &err);
  rc = image_pull(d, &missing, NULL, NULL, &pr, NULL, &err);
  ok(rc == -BERTH_ENOTFOUND, "a missing tag: ENOTFOUND (404)");
  contains(err.msg, "manifest for 127.0.0.1:", "docker's message: %s", err.msg);
  contains(err.msg, "not found: manifest unknown", "docker's message ends so");
  ref_free(&missing);
  ref_free(&ref);
  free(r.text);
}

int main(void) {
  if (!mkdtemp(T)) return 1;
  int port = free_port();
  bool up = start_registry(port);
  ok(up, "docker-registry serves on 127.0.0.1:%d", port);
  static struct daemon d;
  struct berth_err err = {0};
  int r = up ? setup(&d, &err) : -1;
  ok(r == 0, "store and drivers set up without berthd: %s", err.msg);
  if (r == 0) test_push_pull(&d, port);
  if (registry_pid > 0) {
    kill(registry_pid, SIGTERM);
    waitpid(registry_pid, NULL, 0);
  }
  if (r == 0) store_close(&d.images);
  plugin_set_free(&d.plugins);
  config_free(&d.cfg);
  rm_rf(T);
  return done();
}
