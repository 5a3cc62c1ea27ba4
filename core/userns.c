/* userns.h: --userns-remap's mapping, resolved once at start-up. */
#include "userns.h"

#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "driver.h"

#define DEFAULT_USER "berthremap"
#define RANGE 65536u

/* the first range of name (or of its numeric id) in an /etc/subuid-style
 * file: 0 with *start, *count; -1 when there is none */
static int first_range(const char *file, const char *name, unsigned long id, uint32_t *start,
                       uint32_t *count) {
  cleanup_fclose FILE *f = fopen(file, "re");
  if (!f) return -1;
  char line[512], idstr[32];
  snprintf(idstr, sizeof idstr, "%lu", id);
  while (fgets(line, sizeof line, f)) {
    char *save = NULL;
    char *who = strtok_r(line, ":\n", &save), *s = strtok_r(NULL, ":\n", &save),
         *n = strtok_r(NULL, ":\n", &save);
    if (!who || !s || !n || (strcmp(who, name) && strcmp(who, idstr))) continue;
    char *e1, *e2;
    unsigned long a = strtoul(s, &e1, 10), c = strtoul(n, &e2, 10);
    if (*e1 || *e2 || !c || a > UINT32_MAX || c > UINT32_MAX - a) continue;
    *start = (uint32_t)a;
    *count = (uint32_t)c;
    return 0;
  }
  return -1;
}

/* the end of the highest range anyone has in file (100000 at least) */
static unsigned long ranges_end(const char *file) {
  unsigned long end = 100000;
  cleanup_fclose FILE *f = fopen(file, "re");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    char *p = strchr(line, ':');
    unsigned long a, c;
    if (p && sscanf(p, ":%lu:%lu", &a, &c) == 2 && a + c > end) end = a + c;
  }
  return end;
}

static int run_tool(char *const argv[], struct berth_err *err) {
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[0], argv);
    _exit(127);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
    return berth_err_set(err, BERTH_EINTERNAL, 0, "userns-remap: %s %s failed (status %d)", argv[0],
                         argv[1], WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}

/* docker's "default": a system user of its own with one free range */
static int make_default_user(const char *subuid, const char *subgid, struct berth_err *err) {
  if (!getpwnam(DEFAULT_USER)) {
    char *const a[] = {"useradd",    "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                       DEFAULT_USER, NULL};
    if (run_tool(a, err) < 0) return -err->code;
  }
  uint32_t s, c;
  if (first_range(subuid, DEFAULT_USER, (unsigned long)-1, &s, &c) == 0 &&
      first_range(subgid, DEFAULT_USER, (unsigned long)-1, &s, &c) == 0)
    return 0;
  unsigned long a = ranges_end(subuid), b = ranges_end(subgid), start = a > b ? a : b;
  char range[64];
  snprintf(range, sizeof range, "%lu-%lu", start, start + RANGE - 1);
  char *const u[] = {"usermod", "--add-subuids", range, "--add-subgids", range, DEFAULT_USER, NULL};
  return run_tool(u, err);
}

static bool all_digits(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (!isdigit((unsigned char)*s)) return false;
  return true;
}

int userns_resolve(const char *spec, const char *subuid_file, const char *subgid_file,
                   struct idmap *out, char **user_out, struct berth_err *err) {
  cleanup_free char *copy = xstrdup(!strcmp(spec, "default") ? DEFAULT_USER : spec);
  if (!strcmp(spec, "default") && make_default_user(subuid_file, subgid_file, err) < 0)
    return -err->code;
  char *grp = strchr(copy, ':');
  if (grp) *grp++ = 0;
  struct passwd *pw = all_digits(copy) ? getpwuid((uid_t)atol(copy)) : getpwnam(copy);
  if (!pw && !all_digits(copy))
    return berth_err_set(err, BERTH_EINVAL, 0, "userns-remap: no such user: %s", copy);
  const char *uname = pw ? pw->pw_name : copy;
  unsigned long uid = pw ? pw->pw_uid : strtoul(copy, NULL, 10);
  cleanup_free char *gname = xstrdup(grp ? grp : uname);
  unsigned long gid = uid;
  struct group *gr = grp ? (all_digits(grp) ? getgrgid((gid_t)atol(grp)) : getgrnam(grp)) : NULL;
  if (grp && !gr && !all_digits(grp))
    return berth_err_set(err, BERTH_EINVAL, 0, "userns-remap: no such group: %s", grp);
  if (gr) {
    free(gname);
    gname = xstrdup(gr->gr_name);
    gid = gr->gr_gid;
  } else if (grp) {
    gid = strtoul(grp, NULL, 10);
  } else if (pw) {
    gid = pw->pw_gid;
  }
  uint32_t us, uc, gs, gc;
  if (first_range(subuid_file, uname, uid, &us, &uc) < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "userns-remap: no subordinate uids for %s in %s",
                         uname, subuid_file);
  if (first_range(subgid_file, gname, gid, &gs, &gc) < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "userns-remap: no subordinate gids for %s in %s",
                         gname, subgid_file);
  *out = (struct idmap){us, gs, uc < gc ? uc : gc};
  if (user_out) *user_out = xasprintf("%s:%s", uname, gname);
  return 0;
}

int userns_setup(struct daemon *d, struct berth_err *err) {
  d->remap_fd = -1;
  if (!d->cfg.userns_remap || !*d->cfg.userns_remap) return 0;
  if (!drv_storage_can_idmap(d->storage))
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "userns-remap: the storage driver %s cannot map ids (it needs the ABI "
                         "1.3 op mount_idmapped)",
                         d->storage->name);
  if (userns_resolve(d->cfg.userns_remap, "/etc/subuid", "/etc/subgid", &d->remap, &d->remap_user,
                     err) < 0)
    return -err->code;
  int fd = idmap_userns(&d->remap);
  if (fd < 0)
    return berth_err_set(err, BERTH_EINTERNAL, -fd, "userns-remap: a user namespace: %s",
                         strerror(-fd));
  d->remap_fd = fd;
  log_info("userns-remap: containers' root is %u:%u on the host (%u ids, %s)", d->remap.uid,
           d->remap.gid, d->remap.size, d->remap_user);
  return 0;
}
