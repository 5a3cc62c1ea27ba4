/* The containment primitives of core/runtime and core/util: in-root path
 * resolution, bounded reads of container files, the re-entrant user lookup
 * (raced from threads), sealed copies, the device allowlist (on cgroup v2
 * as an eBPF program, on a cgroup2 mount this test makes itself) and tree
 * removal at any depth. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "../../core/runtime/cgroup.h"
#include "../../core/runtime/runtime.h"
#include "../../core/util/rmtree.h"
#include "tap.h"

static char root[] = "/tmp/berth-rt-XXXXXX";
static int rootfd = -1;

static void put(const char *rel, const char *text) {
  cleanup_free char *p = xasprintf("%s/%s", root, rel);
  write_file_atomic(p, text, strlen(text), 0644);
}

static void test_inroot(void) {
  cleanup_free char *outside = xasprintf("%s-outside", root);
  mkdir(outside, 0755);
  cleanup_free char *etc = xasprintf("%s/etc", root);
  /* /etc is a link to a host directory: resolution stays in the root */
  ok(symlink(outside, etc) == 0, "image symlink /etc -> host dir");
  struct berth_err e = {0};
  int fd = rt_target_in_root(rootfd, "/etc/hostname", false, &e);
  ok(fd >= 0, "mount target under the link resolves: %s", e.msg);
  if (fd >= 0) close(fd);
  cleanup_free char *in_root = xasprintf("%s%s/hostname", root, outside);
  cleanup_free char *on_host = xasprintf("%s/hostname", outside);
  ok(path_exists(in_root), "the target was made inside the root");
  ok(!path_exists(on_host), "nothing was made in the host directory");
  ok(rt_openat_in_root(rootfd, "/../../../../etc/passwd", O_RDONLY, 0) < 0,
     "'..' cannot climb out of the root");
  cleanup_free char *magic = xasprintf("%s/magic", root);
  symlink("/proc/self/root/etc/passwd", magic);
  ok(rt_openat_in_root(rootfd, "/magic", O_RDONLY, 0) < 0, "no magic links");
  fd = rt_mkdir_in_root(rootfd, "/a/b/c", 0755);
  ok(fd >= 0, "mkdir -p in the root");
  if (fd >= 0) close(fd);
  cleanup_free char *abc = xasprintf("%s/a/b/c", root);
  ok(path_exists(abc), "mkdir -p made a/b/c");
  rm_rf(outside);
  unlink(etc);
}

static void test_bounded_reads(void) {
  cleanup_free char *etc = xasprintf("%s/etc", root);
  mkdir(etc, 0755);
  cleanup_free char *fifo = xasprintf("%s/fifo", root);
  mkfifo(fifo, 0644);
  struct berth_err e = {0};
  char *t = rt_read_in_root(rootfd, "/fifo", 1024, NULL, &e);
  ok(!t && strstr(e.msg, "not a regular file"), "a FIFO is refused at once: %s", e.msg);
  cleanup_free char *dev = xasprintf("%s/zero", root);
  mknod(dev, S_IFCHR | 0666, makedev(1, 5));
  t = rt_read_in_root(rootfd, "/zero", 1024, NULL, &e);
  ok(!t && strstr(e.msg, "not a regular file"), "/dev/zero is refused");
  put("big", "0123456789");
  t = rt_read_in_root(rootfd, "/big", 5, NULL, &e);
  ok(!t && strstr(e.msg, "larger than"), "a file over the cap is refused");
  size_t len = 0;
  t = rt_read_in_root(rootfd, "/big", 10, &len, &e);
  ok(t && len == 10 && !strcmp(t, "0123456789"), "a regular file within the cap is read");
  free(t);
}

struct race {
  const char *user;
  uid_t want_uid;
  int wrong;
};

static void *lookup_loop(void *p) {
  struct race *r = p;
  for (int i = 0; i < 3000; i++) {
    struct rt_user u;
    struct berth_err e = {0};
    if (rt_resolve_user_at(rootfd, r->user, &u, &e) < 0 || u.uid != r->want_uid)
      r->wrong++;
    else
      rt_user_free(&u);
  }
  return NULL;
}

static void test_users(void) {
  put("etc/passwd",
      "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
      "app:x:1000:1000::/home/app:/bin/sh\nbroken line\n");
  put("etc/group", "root:x:0:\nnogroup:x:65534:\nstaff:x:50:app,other\nwheel:x:10:app\n");
  struct rt_user u;
  struct berth_err e = {0};
  ok(rt_resolve_user_at(rootfd, "app", &u, &e) == 0 && u.uid == 1000 && u.gid == 1000 &&
         u.n_groups == 3 && u.groups[0] == 1000 && u.groups[1] == 50 && u.groups[2] == 10 &&
         !strcmp(u.home, "/home/app"),
     "user by name, with home; its groups: the primary one first, then the ones listing it");
  rt_user_free(&u);
  ok(rt_resolve_user_at(rootfd, "app:staff", &u, &e) == 0 && u.gid == 50 && u.n_groups == 1 &&
         u.groups[0] == 50,
     "user:group by name: the group given alone (no memberships)");
  rt_user_free(&u);
  ok(rt_resolve_user_at(rootfd, "4242", &u, &e) == 0 && u.uid == 4242 && u.gid == 0 &&
         u.n_groups == 1 && u.groups[0] == 0 && !strcmp(u.home, "/"),
     "an unknown numeric uid: gid 0, the only group, home / (runc's, as docker's HOME)");
  rt_user_free(&u);
  ok(rt_resolve_user_at(rootfd, "nosuch", &u, &e) < 0 &&
         strstr(e.msg, "unable to find user nosuch: no matching entries in passwd file"),
     "an unknown name: docker's message");
  ok(rt_resolve_user_at(rootfd, "app:nogrp", &u, &e) < 0 &&
         strstr(e.msg, "unable to find group nogrp"),
     "an unknown group: docker's message");
  struct race a = {"root", 0, 0}, b = {"nobody", 65534, 0};
  pthread_t ta, tb;
  pthread_create(&ta, NULL, lookup_loop, &a);
  pthread_create(&tb, NULL, lookup_loop, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  ok(a.wrong == 0 && b.wrong == 0, "6,000 lookups from two threads, all right (%d, %d wrong)",
     a.wrong, b.wrong);
}

static void test_sealed(void) {
  struct berth_err e = {0};
  int fd = rt_sealed_copy("/bin/true", "test", &e);
  ok(fd >= 0, "a sealed copy of /bin/true: %s", e.msg);
  ok(rt_fd_is_sealed(fd), "it is sealed");
  ok(write(fd, "x", 1) < 0 && errno == EPERM, "writing to it fails with EPERM");
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  int w = open(p, O_WRONLY | O_TRUNC);
  ok(w < 0 || write(w, "x", 1) < 0, "reopened for writing and truncating: refused");
  if (w >= 0) close(w);
  close(fd);
}

static void test_dev_rules(void) {
  size_t n;
  const struct rt_dev_rule *r = rt_default_dev_rules(&n);
  char line[64];
  rt_dev_rule_text(&r[0], line, sizeof line);
  is_str(line, "c *:* m", "v1 rule text: mknod of any char device");
  rt_dev_rule_text(&r[2], line, sizeof line);
  is_str(line, "c 1:3 rwm", "v1 rule text: /dev/null");
}

/* In a child in the filtered cgroup: which opens work. */
static int probe_devices(const char *dir) {
  int bits = 0;
  int fd = open("/dev/null", O_RDWR);
  if (fd >= 0) bits |= 1, close(fd);
  cleanup_free char *blk = xasprintf("%s/sda", dir);
  cleanup_free char *mem = xasprintf("%s/mem", dir);
  if (mknod(blk, S_IFBLK | 0600, makedev(8, 0)) == 0) bits |= 2; /* mknod is allowed */
  fd = open(blk, O_RDONLY);
  if (fd < 0 && errno == EPERM) bits |= 4;
  if (fd >= 0) close(fd);
  mknod(mem, S_IFCHR | 0600, makedev(1, 1));
  fd = open(mem, O_RDONLY);
  if (fd < 0 && errno == EPERM) bits |= 8;
  if (fd >= 0) close(fd);
  return bits;
}

/* the probe's bits in a child of a fresh cgroup (under mnt) the rules
 * filter; -1 when the filter does not attach */
static int filtered_probe(const char *mnt, const struct rt_dev_rule *rules, size_t n, int k) {
  cleanup_free char *cg = xasprintf("%s/berth-devtest-%d-%d", mnt, (int)getpid(), k);
  ok(mkdir(cg, 0755) == 0, "a cgroup for the test (%d)", k);
  int cfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct berth_err e = {0};
  bool att = rt_devfilter_attach(cfd, rules, n, &e) == 0;
  ok(att, "the eBPF device filter loads and attaches (%d rules): %s", (int)n, e.msg);
  pid_t p = att ? fork() : -1;
  if (p == 0) {
    cleanup_free char *procs = xasprintf("%s/cgroup.procs", cg);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    int f = open(procs, O_WRONLY);
    if (f < 0 || write(f, pid, strlen(pid)) < 0) _exit(100);
    close(f);
    cleanup_free char *dir = xasprintf("%s/probe%d", root, k);
    mkdir(dir, 0755);
    _exit(probe_devices(dir));
  }
  int st = 0;
  if (p > 0) waitpid(p, &st, 0);
  close(cfd);
  rmdir(cg);
  return p > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_devfilter(void) {
  cleanup_free char *mnt = xasprintf("%s-cg2", root);
  mkdir(mnt, 0755);
  int mr = mount("cgroup2", mnt, "cgroup2", 0, NULL);
  ok(mr == 0, "a cgroup2 mount of the test's own%s%s", mr ? ": " : "", mr ? strerror(errno) : "");
  size_t n;
  const struct rt_dev_rule *rules = rt_default_dev_rules(&n);
  int bits = filtered_probe(mnt, rules, n, 0);
  ok(bits != 100, "the child joined the cgroup");
  ok(bits >= 0 && (bits & 1), "under the filter: /dev/null opens");
  ok(bits >= 0 && (bits & 2), "under the filter: mknod is allowed");
  ok(bits >= 0 && (bits & 4), "under the filter: a block device (8:0) is refused with EPERM");
  ok(bits >= 0 && (bits & 8), "under the filter: /dev/mem (1:1) is refused with EPERM");
  /* --device-cgroup-rule 'b 8:* r' and 'a 1:1 r' (any type) on top */
  json_t *extra = json_loads("[{\"type\":\"b\",\"major\":8,\"minor\":-1,\"access\":\"r\"},"
                             "{\"type\":\"a\",\"major\":1,\"minor\":1,\"access\":\"r\"}]",
                             0, NULL);
  cleanup_free struct rt_dev_rule *more = rt_dev_rules(extra, &n);
  json_decref(extra);
  char line[64];
  rt_dev_rule_text(&more[n - 1], line, sizeof line);
  is_str(line, "a 1:1 r", "v1 rule text of an extra rule of any type");
  bits = filtered_probe(mnt, more, n, 1);
  ok(bits >= 0 && (bits & 1), "with extra rules: /dev/null still opens");
  ok(bits >= 0 && !(bits & 4), "with 'b 8:* r': the block device 8:0 is no longer refused");
  ok(bits >= 0 && !(bits & 8), "with 'a 1:1 r': /dev/mem is no longer refused");
  umount2(mnt, MNT_DETACH);
  rmdir(mnt);
}

static void test_rm_tree(void) {
  cleanup_free char *top = xasprintf("%s/deep", root);
  mkdir(top, 0755);
  int fd = open(top, O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < 20000 && fd >= 0; i++) {
    mkdirat(fd, "d", 0755);
    int nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY);
    if (i % 100 == 0) close(openat(fd, "f", O_WRONLY | O_CREAT, 0644));
    close(fd);
    fd = nfd;
  }
  if (fd >= 0) close(fd);
  ok(rm_tree_at(AT_FDCWD, top) == 0, "rm_tree_at removes 20,000 nested directories");
  ok(!path_exists(top), "and they are gone");
  ok(rm_tree_at(AT_FDCWD, top) == 0, "removing again is fine");
}

int main(void) {
  if (!mkdtemp(root)) return 1;
  rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  test_inroot();
  test_bounded_reads();
  test_users();
  test_sealed();
  test_dev_rules();
  test_devfilter();
  test_rm_tree();
  close(rootfd);
  rm_rf(root);
  return done();
}
