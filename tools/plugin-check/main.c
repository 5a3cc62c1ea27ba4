/* berth-plugin-check [-o KEY=VALUE]... [--registry HOST:PORT] [--no-faults]
 *                    [-v] FILE.so
 *
 * Loads a berth driver the way berthd does, in a child process, prints its
 * descriptor, checks it (magic, ABI, sizes, name, required ops, op
 * groups), runs the conformance suite of its kind against a host table
 * whose services can fail, then sweeps: the suite again with each host
 * service failing at its first, middle and last call, each run in its own
 * child.  A crash, a hang, or an op that reports success over a failed
 * host service fails the check.  TAP on stdout; exit 0 when all passed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dlfcn.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fakehost.h"

static const char *file, *registry;
static const char **opts;
static size_t n_opts;
static bool verbose, faults = true;
static int timeout_s = 600;

static const char *kind_name(uint32_t k) {
  static const char *const n[] = {"?", "storage", "network", "log", "registry", "volume"};
  return k <= 5 ? n[k] : "?";
}

/* required ops per kind: name and offset in the kind's ops struct */
struct req {
  uint32_t kind;
  const char *name;
  size_t off;
};
#define R(k, T, f)                                                                                 \
  { k, #f, offsetof(T, f) }
static const struct req required[] = {
    R(BERTH_KIND_STORAGE, struct berth_storage_ops, create),
    R(BERTH_KIND_STORAGE, struct berth_storage_ops, remove),
    R(BERTH_KIND_STORAGE, struct berth_storage_ops, exists),
    R(BERTH_KIND_STORAGE, struct berth_storage_ops, mount),
    R(BERTH_KIND_STORAGE, struct berth_storage_ops, unmount),
    R(BERTH_KIND_STORAGE, struct berth_storage_ops, status),
    R(BERTH_KIND_NETWORK, struct berth_network_ops, create_network),
    R(BERTH_KIND_NETWORK, struct berth_network_ops, delete_network),
    R(BERTH_KIND_LOGGER, struct berth_logger_ops, open),
    R(BERTH_KIND_LOGGER, struct berth_logger_ops, log),
    R(BERTH_KIND_LOGGER, struct berth_logger_ops, close),
    R(BERTH_KIND_REGISTRY, struct berth_registry_ops, open),
    R(BERTH_KIND_REGISTRY, struct berth_registry_ops, close),
    R(BERTH_KIND_REGISTRY, struct berth_registry_ops, get_manifest),
    R(BERTH_KIND_REGISTRY, struct berth_registry_ops, stat_blob),
    R(BERTH_KIND_REGISTRY, struct berth_registry_ops, get_blob),
    R(BERTH_KIND_REGISTRY, struct berth_registry_ops, put_blob),
    R(BERTH_KIND_REGISTRY, struct berth_registry_ops, put_manifest),
    R(BERTH_KIND_VOLUME, struct berth_volume_ops, create),
    R(BERTH_KIND_VOLUME, struct berth_volume_ops, remove),
    R(BERTH_KIND_VOLUME, struct berth_volume_ops, mount),
    R(BERTH_KIND_VOLUME, struct berth_volume_ops, unmount),
    R(BERTH_KIND_VOLUME, struct berth_volume_ops, path),
};

static size_t ops_size(uint32_t kind) {
  switch (kind) {
  case BERTH_KIND_STORAGE: return sizeof(struct berth_storage_ops);
  case BERTH_KIND_NETWORK: return sizeof(struct berth_network_ops);
  case BERTH_KIND_LOGGER: return sizeof(struct berth_logger_ops);
  case BERTH_KIND_REGISTRY: return sizeof(struct berth_registry_ops);
  case BERTH_KIND_VOLUME: return sizeof(struct berth_volume_ops);
  default: return 0;
  }
}

static bool valid_name(const char *n) {
  if (!n || !isalnum((unsigned char)n[0]) || strlen(n) > 64) return false;
  for (; *n; n++)
    if (!isalnum((unsigned char)*n) && !strchr("._-", *n)) return false;
  return true;
}

/* dlopen the file and call <ident>_LTX_berth_plugin_entry */
static const struct berth_plugin *load(void) {
  void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
  chk_ok(h != NULL, "dlopen %s%s%s", file, h ? "" : ": ", h ? "" : dlerror());
  if (!h) return NULL;
  const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
  char sym[512];
  size_t i = 0;
  for (; base[i] && base[i] != '.' && i < 200; i++)
    sym[i] = isalnum((unsigned char)base[i]) ? base[i] : '_';
  snprintf(sym + i, sizeof sym - i, "_LTX_berth_plugin_entry");
  berth_plugin_entry_fn entry = (berth_plugin_entry_fn)dlsym(h, sym);
  chk_ok(entry != NULL, "it exports %s", sym);
  return entry ? entry() : NULL;
}

static void describe(const struct berth_plugin *p) {
  if (chk_quiet) return;
  printf("# name:        %s\n# kind:        %s\n# version:     %s\n# ABI:         %u.%u (this "
         "checker: %u.%u)\n# description: %s\n# flags:       %s\n",
         p->name ? p->name : "(none)", kind_name(p->kind), p->version ? p->version : "",
         p->abi_major, p->abi_minor, BERTH_ABI_MAJOR, BERTH_ABI_MINOR,
         p->description ? p->description : "",
         p->flags & BERTH_PLUGIN_F_THREADSAFE ? "threadsafe" : "(none: calls are serialised)");
}

/* the descriptor's own checks; false when nothing more can be tried */
static bool check_descriptor(const struct berth_plugin *p) {
  chk_ok(p->magic == BERTH_PLUGIN_MAGIC, "magic is BERTH_PLUGIN_MAGIC");
  chk_ok(p->abi_major == BERTH_ABI_MAJOR, "ABI major %u is this berth's", p->abi_major);
  chk_ok(p->abi_minor <= BERTH_ABI_MINOR, "ABI minor %u is not newer than this berth's %u",
         p->abi_minor, BERTH_ABI_MINOR);
  chk_ok(p->struct_size >= offsetof(struct berth_plugin, ops) + sizeof(void *),
         "the descriptor is at least ABI 1.0's size (%u bytes)", p->struct_size);
  if (p->magic != BERTH_PLUGIN_MAGIC || p->abi_major != BERTH_ABI_MAJOR ||
      p->struct_size < offsetof(struct berth_plugin, ops) + sizeof(void *))
    return false;
  describe(p);
  chk_ok(p->kind >= 1 && p->kind <= 5, "a known kind (%u)", p->kind);
  if (p->kind == BERTH_KIND_VOLUME)
    chk_ok(p->abi_minor >= 1, "a volume driver is built for ABI 1.1 or later (the kind's own)");
  chk_ok(valid_name(p->name), "a valid name: letters, digits, '.', '_', '-', at most 64");
  chk_ok(p->init != NULL, "it has init");
  chk_ok(p->ops != NULL && *(const uint32_t *)p->ops >= 8, "it has an ops table with its size");
  return p->kind >= 1 && p->kind <= 5 && p->init && p->ops;
}

/* the ops, zero-extended to this checker's size, and their required ones */
static void *copy_ops(const struct berth_plugin *p) {
  size_t ours = ops_size(p->kind), theirs = *(const uint32_t *)p->ops;
  void *ops = calloc(1, ours);
  if (!ops) abort();
  memcpy(ops, p->ops, theirs < ours ? theirs : ours);
  *(uint32_t *)ops = (uint32_t)ours;
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    if (required[i].kind != p->kind) continue;
    void *fn;
    memcpy(&fn, (char *)ops + required[i].off, sizeof fn);
    chk_ok(fn != NULL, "required op %s is there", required[i].name);
  }
  if (p->kind == BERTH_KIND_LOGGER) {
    const struct berth_logger_ops *l = ops;
    if (l->features & BERTH_LOG_F_READ)
      chk_ok(l->read_open && l->read_next && l->read_close,
             "it says it reads back (BERTH_LOG_F_READ): read_open, read_next, read_close");
  }
  return ops;
}

static int run_suite(struct target *t) {
  switch (t->desc->kind) {
  case BERTH_KIND_STORAGE: return suite_storage(t);
  case BERTH_KIND_NETWORK: return suite_network(t);
  case BERTH_KIND_LOGGER: return suite_log(t);
  case BERTH_KIND_REGISTRY: return suite_registry(t);
  case BERTH_KIND_VOLUME: return suite_volume(t);
  default: return -1;
  }
}

static void on_violation(const char *op, const char *service) {
  if (!fake_shared->violation[0])
    snprintf(fake_shared->violation, sizeof fake_shared->violation,
             "%s returned success though host->%s failed", op ? op : "?", service);
}

static void on_crash(int sig) {
  const char *op = chk_current_op();
  snprintf(fake_shared->op, sizeof fake_shared->op, "%s", op ? op : "(outside the driver)");
  signal(sig, SIG_DFL);
  raise(sig);
}

/* the child: load, check, init, run the suite, fini */
static void child(const char *scratch) {
  int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    signal(sigs[i], on_crash);
  chk_on_violation = on_violation;
  const struct berth_plugin *p = load();
  if (p && check_descriptor(p)) {
    struct berth_host host;
    struct target t = {p, copy_ops(p), NULL, &host, scratch, registry};
    struct berth_err e = {0};
    if (fake_host_setup(&host, scratch, opts, n_opts, verbose) < 0) {
      chk_ok(false, "set up a scratch directory in %s", scratch);
    } else {
      int r = OP(&t, "init", p->init(&host, &t.drv, &e));
      if (r == -BERTH_ESKIP) chk_note("init says the driver cannot work here: %s", e.msg);
      chk_ok(r == 0 || r == -BERTH_ESKIP, "init%s%s", r ? ": " : "", r ? e.msg : "");
      if (r == 0 && run_suite(&t) < 0) chk_note("the suite could not run here");
      if (r == 0 && p->fini) OP_VOID(&t, "fini", p->fini(t.drv));
    }
  }
  chk_counts(&fake_shared->n_checks, &fake_shared->n_failed);
  fflush(stdout);
  _exit(0);
}

struct outcome {
  int sig; /* the signal the child died of, or 0 */
  bool hung;
};

/* one child run in a fresh scratch directory under base */
static struct outcome run_child(const char *base, int n, bool quiet) {
  char scratch[4096];
  snprintf(scratch, sizeof scratch, "%s/%d", base, n);
  fake_shared->op[0] = fake_shared->violation[0] = 0;
  memset(fake_shared->calls, 0, sizeof fake_shared->calls);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    chk_quiet = quiet;
    if (quiet) freopen("/dev/null", "w", stderr);
    child(scratch);
  }
  struct outcome o = {0, false};
  int st = 0;
  for (int waited = 0; waitpid(pid, &st, WNOHANG) == 0; waited += 50) {
    if (waited >= timeout_s * 1000) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      o.hung = true;
      break;
    }
    nanosleep(&(struct timespec){0, 50 * 1000000}, NULL);
  }
  if (!o.hung && WIFSIGNALED(st)) o.sig = WTERMSIG(st);
  fake_rm_rf(scratch);
  return o;
}

/* each host service the driver called, failing at its first, middle and
 * last call */
static void sweep(const char *base, const int calls[N_SERVICES]) {
  int n = 1;
  for (int s = 0; s < N_SERVICES; s++) {
    if (!calls[s]) continue;
    int at[3] = {1, (calls[s] + 1) / 2, calls[s]}, bad = 0;
    char why[512] = "";
    for (int i = 0; i < 3 && !bad; i++) {
      if (i && at[i] == at[i - 1]) continue;
      fake_shared->fail_service = s;
      fake_shared->fail_at = at[i];
      struct outcome o = run_child(base, n++, true); /* its own checks do not count */
      if (o.sig || o.hung || fake_shared->violation[0]) {
        bad = 1;
        snprintf(why, sizeof why, " -- with call %d failing: %s%s%s", at[i],
                 o.hung  ? "it hung"
                 : o.sig ? "it crashed (signal "
                         : "",
                 o.sig ? strsignal(o.sig) : "", o.sig ? ")" : fake_shared->violation);
        if (o.sig)
          snprintf(why + strlen(why), sizeof why - strlen(why), " in op %s", fake_shared->op);
      }
    }
    chk_ok(!bad, "host->%s failing (of %d calls: the first, middle, last): reported, no crash%s",
           fake_services[s], calls[s], why);
  }
  fake_shared->fail_service = -1;
}

static int usage(FILE *f) {
  fprintf(f, "usage: berth-plugin-check [-o KEY=VALUE]... [--registry HOST:PORT] [--no-faults] "
             "[--timeout SECONDS] [-v] FILE.so\n"
             "  Loads a berth driver in a child process, prints its descriptor, runs the\n"
             "  conformance suite of its kind, then again with each host service failing.\n"
             "  -o KEY=VALUE         a setting of the driver (as in its daemon.conf group)\n"
             "  --registry H:P       the registry a registry driver is checked against\n"
             "  --no-faults          no fault sweep\n"
             "  -v                   the driver's own log lines too\n");
  return f == stdout ? 0 : 2;
}

int main(int argc, char **argv) {
  static const struct option lo[] = {{"registry", 1, 0, 'r'},
                                     {"no-faults", 0, 0, 'n'},
                                     {"timeout", 1, 0, 't'},
                                     {"help", 0, 0, 'h'},
                                     {0, 0, 0, 0}};
  opts = calloc((size_t)argc, sizeof *opts);
  int c;
  while ((c = getopt_long(argc, argv, "o:vh", lo, NULL)) != -1) {
    switch (c) {
    case 'o': opts[n_opts++] = optarg; break;
    case 'r': registry = optarg; break;
    case 'n': faults = false; break;
    case 't': timeout_s = atoi(optarg) > 0 ? atoi(optarg) : timeout_s; break;
    case 'v': verbose = true; break;
    case 'h': return usage(stdout);
    default: return usage(stderr);
    }
  }
  if (optind != argc - 1) return usage(stderr);
  file = argv[optind];
  char base[] = "/tmp/berth-plugin-check-XXXXXX";
  fake_shared =
      mmap(NULL, sizeof *fake_shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (fake_shared == MAP_FAILED || !mkdtemp(base)) {
    perror("berth-plugin-check");
    return 2;
  }
  fake_shared->fail_service = -1;
  struct outcome o = run_child(base, 0, false);
  chk_continue(fake_shared->n_checks, fake_shared->n_failed);
  if (o.hung) chk_ok(false, "the driver hung (more than --timeout %d s)", timeout_s);
  if (o.sig) chk_ok(false, "the driver crashed (%s) in op %s", strsignal(o.sig), fake_shared->op);
  int calls[N_SERVICES];
  memcpy(calls, fake_shared->calls, sizeof calls);
  if (faults && !o.sig && !o.hung && fake_shared->n_failed == 0) sweep(base, calls);
  fake_rm_rf(base);
  return chk_done() ? 1 : 0;
}
