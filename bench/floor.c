/* The kernel's floor for one `run --rm true`: what any engine must have
 * the kernel do, with nothing else around it (no daemon, no CLI, no
 * state, no logs, no seccomp).  Each round: an overlay mount of LOWER, a
 * cgroup in every mounted hierarchy, a child in new mount, pid, uts, ipc
 * and net namespaces that joins the cgroups, pivots into the overlay,
 * mounts /proc and execs /bin/true; then the wait, the unmount, the
 * cgroups' removal.  Prints the median, min and max of ROUNDS in ms.
 *
 *   cc -O2 -o floor bench/floor.c && ./floor LOWER SCRATCH [ROUNDS]
 *
 * bench/run-latency.sh builds and runs it in its temp dir, so that every
 * figure it prints can be read against this machine's floor of the hour.
 *
 * The floor for one `exec c true`, the same way: a child that joins the
 * cgroups and every namespace of a running container's process PID (one
 * setns through a pidfd), forks (the pid namespace is its children's)
 * and waits for its child's exec of the container's /bin/true.
 *
 *   ./floor exec PID [ROUNDS] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CG 32

static char cg_mounts[MAX_CG][256];
static char cg_opts[MAX_CG][256]; /* the super options: "rw,memory", "rw" (cgroup2) */
static int n_cg;

static void die(const char *what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* every cgroup (v1) and cgroup2 mount point, from mountinfo */
static void find_cgroups(void) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  if (!f) die("mountinfo");
  char line[4096];
  while (fgets(line, sizeof line, f) && n_cg < MAX_CG) {
    char mnt[256], fstype[64];
    const char *sep = strstr(line, " - ");
    char opts[256] = "";
    if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 ||
        sscanf(sep + 3, "%63s %*s %255s", fstype, opts) < 1)
      continue;
    if (!strcmp(fstype, "cgroup") || !strcmp(fstype, "cgroup2")) {
      snprintf(cg_opts[n_cg], sizeof cg_opts[0], "%s", !strcmp(fstype, "cgroup2") ? "" : opts);
      snprintf(cg_mounts[n_cg++], sizeof cg_mounts[0], "%s", mnt);
    }
  }
  fclose(f);
}

struct child {
  const char *merged;
  int go; /* read end: the parent has put the child in its cgroups */
};

static int child_main(void *p) {
  const struct child *c = p;
  char b;
  if (read(c->go, &b, 1) != 1) _exit(10);
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) _exit(11);
  if (mount(c->merged, c->merged, NULL, MS_BIND | MS_REC, NULL) < 0) _exit(12);
  if (chdir(c->merged) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) _exit(13);
  if (umount2(".", MNT_DETACH) < 0) _exit(14);
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) _exit(15);
  sethostname("floor", 5);
  char *argv[] = {"true", NULL}, *envp[] = {"PATH=/bin", NULL};
  execve("/bin/true", argv, envp);
  _exit(16);
}

/* a new cpuset cgroup has no cpus and no mems: the parent's, as engines do */
static void cpuset_fill(const char *mnt, const char *dir) {
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (int k = 0; k < 2; k++) {
    char from[512], to[512], v[256];
    snprintf(from, sizeof from, "%s/%s", mnt, files[k]);
    snprintf(to, sizeof to, "%s/%s", dir, files[k]);
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return; /* not the cpuset hierarchy */
    ssize_t n = read(fd, v, sizeof v);
    close(fd);
    fd = open(to, O_WRONLY | O_CLOEXEC);
    if (n <= 0 || fd < 0 || write(fd, v, (size_t)n) != n) die(to);
    close(fd);
  }
}

static void write_pid(const char *dir, pid_t pid) {
  char path[512], num[16];
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  int n = snprintf(num, sizeof num, "%d", (int)pid);
  if (fd < 0 || write(fd, num, (size_t)n) != n) die(path);
  close(fd);
}

static double round_ms(const char *lower, const char *scratch, int i) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  char up[512], wk[512], mg[512], opts[2048], cg[MAX_CG][512];
  snprintf(up, sizeof up, "%s/up%d", scratch, i);
  snprintf(wk, sizeof wk, "%s/wk%d", scratch, i);
  snprintf(mg, sizeof mg, "%s/mg%d", scratch, i);
  if (mkdir(up, 0755) < 0 || mkdir(wk, 0755) < 0 || mkdir(mg, 0755) < 0) die("mkdir");
  snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, up, wk);
  if (mount("overlay", mg, "overlay", 0, opts) < 0) die("mount overlay");
  for (int k = 0; k < n_cg; k++) {
    snprintf(cg[k], sizeof cg[k], "%s/berth-floor-%d-%d", cg_mounts[k], (int)getpid(), i);
    if (mkdir(cg[k], 0755) < 0) die(cg[k]);
    cpuset_fill(cg_mounts[k], cg[k]);
  }
  int go[2];
  if (pipe2(go, O_CLOEXEC) < 0) die("pipe");
  static char stack[256 * 1024];
  struct child c = {mg, go[0]};
  pid_t pid =
      clone(child_main, stack + sizeof stack,
            CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD, &c);
  if (pid < 0) die("clone");
  close(go[0]);
  for (int k = 0; k < n_cg; k++)
    write_pid(cg[k], pid);
  if (write(go[1], "x", 1) != 1) die("go");
  close(go[1]);
  int st;
  if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "floor: the child failed (status %d)\n", st);
    exit(1);
  }
  if (umount2(mg, 0) < 0) die("umount");
  for (int k = 0; k < n_cg; k++)
    if (rmdir(cg[k]) < 0) die("rmdir cgroup");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  /* the layer's files are not part of the figure (an engine removes them
   * after the reply) */
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", up, wk, mg);
  if (system(cmd) != 0) die("rm");
  return (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

/* ---- exec ---- */

static char exec_cg[MAX_CG][512]; /* the container's cgroup.procs in each hierarchy */
static int n_exec_cg;

/* does a mount's super options name every controller of "cpu,cpuacct"? */
static int has_ctrls(const char *opts, const char *ctrls) {
  char want[256], hay[300];
  snprintf(want, sizeof want, "%s", ctrls);
  snprintf(hay, sizeof hay, ",%.256s,", opts);
  for (char *save = NULL, *c = strtok_r(want, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
    char pad[300];
    snprintf(pad, sizeof pad, ",%.256s,", c);
    if (!strstr(hay, pad)) return 0;
  }
  return 1;
}

/* /proc/PID/cgroup's "id:controllers:path" lines, each at its mount */
static void find_exec_cgroups(pid_t pid) {
  char p[64], line[1024];
  snprintf(p, sizeof p, "/proc/%d/cgroup", (int)pid);
  FILE *f = fopen(p, "r");
  if (!f) die(p);
  while (fgets(line, sizeof line, f) && n_exec_cg < MAX_CG) {
    line[strcspn(line, "\n")] = 0;
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = 0;
    const char *ctrls = c1 + 1, *path = c2 + 1;
    for (int k = 0; k < n_cg; k++) {
      int v2 = !cg_opts[k][0];
      if (v2 != !*ctrls || (!v2 && !has_ctrls(cg_opts[k], ctrls))) continue;
      if (strcmp(path, "/")) /* the root: nothing of its own */
        snprintf(exec_cg[n_exec_cg++], sizeof exec_cg[0], "%.255s%.255s", cg_mounts[k], path);
      break;
    }
  }
  fclose(f);
}

static double exec_round_ms(pid_t target) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    for (int k = 0; k < n_exec_cg; k++)
      write_pid(exec_cg[k], getpid());
    int pfd = (int)syscall(SYS_pidfd_open, target, 0);
    if (pfd < 0 || setns(pfd, CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
                                  CLONE_NEWPID | CLONE_NEWNS) < 0)
      _exit(20);
    pid_t c = vfork();
    if (c == 0) {
      char *argv[] = {"true", NULL}, *envp[] = {"PATH=/bin", NULL};
      execve("/bin/true", argv, envp);
      _exit(21);
    }
    int st;
    _exit(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) ? WEXITSTATUS(st) : 22);
  }
  int st;
  if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "floor: the exec failed (status %d)\n", st);
    exit(1);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: floor LOWER SCRATCH [ROUNDS]\n       floor exec PID [ROUNDS]\n");
    return 2;
  }
  int rounds = argc > 3 ? atoi(argv[3]) : 20;
  if (rounds < 1 || rounds > 10000) rounds = 20;
  find_cgroups();
  bool exec = !strcmp(argv[1], "exec");
  pid_t target = exec ? (pid_t)atoi(argv[2]) : 0;
  if (exec) find_exec_cgroups(target);
  double *ms = calloc((size_t)rounds, sizeof *ms);
  if (!ms) die("calloc");
  if (exec)
    exec_round_ms(target); /* warm up */
  else
    round_ms(argv[1], argv[2], rounds);
  for (int i = 0; i < rounds; i++)
    ms[i] = exec ? exec_round_ms(target) : round_ms(argv[1], argv[2], i);
  qsort(ms, (size_t)rounds, sizeof *ms, cmp);
  printf("floor%s: median %.2f ms, min %.2f, max %.2f (%d rounds, %d cgroup hierarchies)\n",
         exec ? " exec" : "", ms[rounds / 2], ms[0], ms[rounds - 1], rounds,
         exec ? n_exec_cg : n_cg);
  free(ms);
  return 0;
}
