/* "-u user[:group]" looked up in the container's /etc/passwd and /etc/group.
 *
 * The files are the image's: they are read inside the container root as
 * bounded regular files (inroot.c) and parsed here without any shared
 * state, so concurrent starts and execs cannot see each other's entries
 * (fgetpwent and friends use one static buffer per process). */
#include "runtime.h"

#define ETC_FILE_MAX (4u << 20)

struct pwent {
  const char *name;
  long id; /* uid or gid */
  long gid;
  const char *home;
  const char *members; /* group: comma-separated */
};

/* Split one passwd or group line in place: fields separated by ':'. */
static size_t split_fields(char *line, char **f, size_t max) {
  size_t n = 0;
  f[n++] = line;
  for (char *p = line; *p && n < max; p++)
    if (*p == ':') {
      *p = 0;
      f[n++] = p + 1;
    }
  return n;
}

static bool parse_id(const char *s, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *end || errno || v < 0 || v > 0xfffffffeL) return false;
  *out = v;
  return true;
}

/* Calls match for each well-formed entry of a passwd file (name:pw:uid:
 * gid:gecos:home:shell) or a group file (name:pw:gid:members) until it
 * returns true.  The text is modified. */
static bool scan(char *text, bool group, bool (*match)(const struct pwent *, void *), void *arg) {
  size_t want = group ? 4 : 7;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *f[7];
    if (split_fields(line, f, want) < want) continue;
    struct pwent e = {.name = f[0]};
    if (!parse_id(f[2], &e.id)) continue;
    if (group)
      e.members = f[3];
    else if (e.home = f[5], !parse_id(f[3], &e.gid))
      continue;
    if (match(&e, arg)) return true;
  }
  return false;
}

struct user_query {
  const char *name; /* or NULL: by id */
  long id;
  struct pwent found;
  char *home;
};

static bool match_user(const struct pwent *e, void *p) {
  struct user_query *q = p;
  if (q->name ? strcmp(e->name, q->name) : e->id != q->id) return false;
  q->found = *e;
  q->home = xstrdup(e->home);
  return true;
}

struct group_query {
  const char *name;
  const char *member;
  long gid;
  gid_t *groups;
  size_t n;
};

static bool match_group(const struct pwent *e, void *p) {
  struct group_query *q = p;
  if (strcmp(e->name, q->name)) return false;
  q->gid = e->id;
  return true;
}

static bool collect_groups(const struct pwent *e, void *p) {
  struct group_query *q = p;
  size_t len = strlen(q->member);
  for (const char *m = e->members; *m;) {
    size_t n = strcspn(m, ",");
    if (n == len && !strncmp(m, q->member, n)) {
      q->groups = xrealloc(q->groups, (q->n + 1) * sizeof *q->groups);
      q->groups[q->n++] = (gid_t)e->id;
      break;
    }
    m += n + (m[n] == ',');
  }
  return false;
}

/* The file's text, or NULL when it is missing; an error when it exists
 * but is not a small regular file. */
static int read_etc(int rootfd, const char *path, char **out, struct berth_err *err) {
  struct berth_err e = {0};
  *out = rt_read_in_root(rootfd, path, ETC_FILE_MAX, NULL, &e);
  if (*out || e.code == BERTH_ENOTFOUND) return 0;
  return berth_err_set(err, BERTH_EINVAL, 0, "unable to read %s: %s", path, e.msg);
}

int rt_resolve_user_at(int rootfd, const char *user, struct rt_user *out, struct berth_err *err) {
  memset(out, 0, sizeof *out);
  if (!user || !*user) user = "0";
  cleanup_free char *u = xstrdup(user);
  char *g = strchr(u, ':');
  if (g) *g++ = 0;
  cleanup_free char *passwd = NULL;
  cleanup_free char *group = NULL;
  if (read_etc(rootfd, "/etc/passwd", &passwd, err) < 0 ||
      read_etc(rootfd, "/etc/group", &group, err) < 0)
    return -err->code;
  struct user_query q = {.name = u};
  if (parse_id(u, &q.id))
    q.name = NULL;
  else if (!*u)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "unable to find user %s: no matching entries in passwd file", user);
  bool found = passwd && scan(passwd, false, match_user, &q);
  if (!found && q.name)
    return berth_err_set(err, BERTH_EINVAL, 0,
                         "unable to find user %s: no matching entries in passwd file", u);
  out->uid = found ? (uid_t)q.found.id : (uid_t)q.id;
  out->gid = found ? (gid_t)q.found.gid : 0;
  out->home = q.home ? q.home : xstrdup("/"); /* runc's default for a user passwd lacks */
  if (g) {
    long gid;
    struct group_query gq = {.name = g};
    cleanup_free char *copy = group ? xstrdup(group) : NULL;
    if (parse_id(g, &gid))
      out->gid = (gid_t)gid;
    else if (copy && scan(copy, true, match_group, &gq))
      out->gid = (gid_t)gq.gid;
    else {
      rt_user_free(out);
      return berth_err_set(err, BERTH_EINVAL, 0,
                           "unable to find group %s: no matching entries in group file", g);
    }
  }
  /* the supplementary groups, as dockerd 20.10.24 sets them: the primary
   * one first (so a file's group-deny bits hold: setgroups replaces the
   * list the process had), then, for a user of the passwd file given
   * without a group, the groups that list it as a member */
  out->groups = xmalloc(sizeof *out->groups);
  out->groups[0] = out->gid;
  out->n_groups = 1;
  if (found && group && !g) {
    struct group_query gq = {.member = q.found.name};
    scan(group, true, collect_groups, &gq);
    for (size_t i = 0; i < gq.n; i++)
      rt_user_add_group(out, gq.groups[i]);
    free(gq.groups);
  }
  return 0;
}

void rt_user_add_group(struct rt_user *u, gid_t gid) {
  for (size_t i = 0; i < u->n_groups; i++)
    if (u->groups[i] == gid) return;
  u->groups = xrealloc(u->groups, (u->n_groups + 1) * sizeof *u->groups);
  u->groups[u->n_groups++] = gid;
}

void rt_user_free(struct rt_user *u) {
  free(u->groups);
  free(u->home);
  memset(u, 0, sizeof *u);
}

struct names_query {
  struct rt_id_name *v;
  size_t n;
};

static bool collect_names(const struct pwent *e, void *p) {
  struct names_query *q = p;
  q->v = xrealloc(q->v, (q->n + 1) * sizeof *q->v);
  q->v[q->n++] = (struct rt_id_name){e->id, xstrdup(e->name)};
  return false;
}

struct rt_id_name *rt_id_names_at(int rootfd, bool group, size_t *n) {
  struct names_query q = {0};
  struct berth_err e = {0};
  cleanup_free char *text = NULL;
  if (read_etc(rootfd, group ? "/etc/group" : "/etc/passwd", &text, &e) == 0 && text)
    scan(text, group, collect_names, &q);
  *n = q.n;
  return q.v;
}

void rt_id_names_free(struct rt_id_name *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i].name);
  free(v);
}
