/* The tar berth cp writes and reads on the client side: ustar headers with
 * pax records for long names, long link targets and large files; read:
 * those, GNU long names and base-256 numbers.  Small on purpose: linking
 * libarchive (and the 16 libraries it loads) would cost every berth
 * command 2.5 ms of start-up. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "cli.h"

/* ---------------- writing ---------------- */

struct tar_hdr {
  char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], type, link[100];
  char magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8], prefix[155], pad[12];
};

static void octal(char *f, size_t n, uint64_t v) {
  snprintf(f, n, "%0*llo", (int)n - 1, (unsigned long long)v);
}

static int emit(struct tar_writer *w, const void *buf, size_t len) {
  if (write_all_fd(w->fd, buf, len) < 0) return -1;
  w->bytes += len;
  return 0;
}

static int emit_padded(struct tar_writer *w, const char *buf, size_t len) {
  static const char zero[512];
  if (emit(w, buf, len) < 0) return -1;
  return len % 512 ? emit(w, zero, 512 - len % 512) : 0;
}

static void pax_add(char **rec, size_t *len, const char *key, const char *val) {
  size_t body = strlen(key) + strlen(val) + 3, n = body + 1;
  while (snprintf(NULL, 0, "%zu", n) + body != n)
    n++;
  char *r = xasprintf("%zu %s=%s\n", n, key, val);
  *rec = xrealloc(*rec, *len + n + 1);
  memcpy(*rec + *len, r, n);
  *len += n;
  free(r);
}

static int write_header(struct tar_writer *w, const char *name, const struct stat *st, char type,
                        const char *link) {
  struct tar_hdr h;
  memset(&h, 0, sizeof h);
  char *pax = NULL;
  size_t plen = 0;
  uint64_t size = type == '0' ? (uint64_t)st->st_size : 0;
  if (strlen(name) >= sizeof h.name) pax_add(&pax, &plen, "path", name);
  if (strlen(link) >= sizeof h.link) pax_add(&pax, &plen, "linkpath", link);
  if (size > 077777777777ULL) {
    char s[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)size);
    pax_add(&pax, &plen, "size", s);
  }
  if (pax) { /* a pax header first, its record as the data */
    struct stat ps = {.st_size = (off_t)plen, .st_mode = 0644, .st_mtime = st->st_mtime};
    int r = write_header(w, "././@PaxHeader", &ps, 'x', "");
    if (r == 0) r = emit_padded(w, pax, plen);
    free(pax);
    if (r < 0) return -1;
  }
  memcpy(h.name, name, strnlen(name, sizeof h.name));
  octal(h.mode, sizeof h.mode, st->st_mode & 07777);
  octal(h.uid, sizeof h.uid, st->st_uid & 07777777);
  octal(h.gid, sizeof h.gid, st->st_gid & 07777777);
  octal(h.size, sizeof h.size,
        type == 'x'              ? (uint64_t)st->st_size
        : size > 077777777777ULL ? 0
                                 : size);
  octal(h.mtime, sizeof h.mtime, (uint64_t)(st->st_mtime < 0 ? 0 : st->st_mtime));
  h.type = type;
  memcpy(h.link, link, strnlen(link, sizeof h.link));
  memcpy(h.magic, "ustar", 6);
  memcpy(h.version, "00", 2);
  if (type == '3' || type == '4') {
    octal(h.devmajor, sizeof h.devmajor, major(st->st_rdev));
    octal(h.devminor, sizeof h.devminor, minor(st->st_rdev));
  }
  memset(h.chksum, ' ', sizeof h.chksum);
  unsigned sum = 0;
  for (size_t i = 0; i < 512; i++)
    sum += ((unsigned char *)&h)[i];
  snprintf(h.chksum, sizeof h.chksum, "%06o", sum);
  return emit(w, &h, 512);
}

static int write_file(struct tar_writer *w, const char *path, const struct stat *st) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  char buf[65536];
  uint64_t left = (uint64_t)st->st_size;
  int r = 0;
  while (r == 0 && left) {
    ssize_t n = read(fd, buf, left < sizeof buf ? left : sizeof buf);
    if (n <= 0) { /* shrank meanwhile: zeros keep the header's size true */
      memset(buf, 0, sizeof buf);
      n = (ssize_t)(left < sizeof buf ? left : sizeof buf);
    }
    r = emit(w, buf, (size_t)n);
    left -= (uint64_t)n;
  }
  close(fd);
  static const char zero[512];
  if (r == 0 && st->st_size % 512) r = emit(w, zero, 512 - (size_t)(st->st_size % 512));
  return r;
}

int tar_write_one(struct tar_writer *w, const char *path, const char *name, bool follow) {
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) < 0) return -1;
  char link[4096] = "", type;
  switch (st.st_mode & S_IFMT) {
  case S_IFREG: type = '0'; break;
  case S_IFDIR: type = '5'; break;
  case S_IFLNK: {
    ssize_t n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    type = '2';
    break;
  }
  case S_IFCHR: type = '3'; break;
  case S_IFBLK: type = '4'; break;
  case S_IFIFO: type = '6'; break;
  default: return 0; /* sockets: not archived, as docker's tar does */
  }
  if (type == '0' && st.st_nlink > 1) { /* a hard link to one written before */
    for (size_t i = 0; i < w->n_links; i++)
      if (w->links[i].dev == st.st_dev && w->links[i].ino == st.st_ino)
        return write_header(w, name, &st, '1', w->links[i].name);
    w->links = xrealloc(w->links, (w->n_links + 1) * sizeof *w->links);
    w->links[w->n_links++] = (struct tar_link){st.st_dev, st.st_ino, xstrdup(name)};
  }
  cleanup_free char *dname = type == '5' ? xasprintf("%s/", name) : NULL;
  if (write_header(w, dname ? dname : name, &st, type, link) < 0) return -1;
  return type == '0' ? write_file(w, path, &st) : 0;
}

int tar_walk(struct tar_writer *w, const char *path, const char *name, bool follow,
             tar_keep_fn keep, void *ctx) {
  struct stat st;
  if ((follow ? stat(path, &st) : lstat(path, &st)) < 0) return -1;
  bool top = !*name; /* "": the directory itself is not an entry */
  if (!top && (!keep || keep(name, ctx)) && tar_write_one(w, path, name, follow) < 0) return -1;
  if (!S_ISDIR(st.st_mode)) return 0;
  DIR *d = opendir(path);
  if (!d) return -1;
  int r = 0;
  struct dirent *de;
  while (r == 0 && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    cleanup_free char *cp = xasprintf("%s/%s", path, de->d_name);
    cleanup_free char *cn = xasprintf("%s%s%s", name, top ? "" : "/", de->d_name);
    r = tar_walk(w, cp, cn, false, keep, ctx);
  }
  closedir(d);
  return r;
}

int tar_write_tree(struct tar_writer *w, const char *path, const char *name, bool follow) {
  return tar_walk(w, path, name, follow, NULL, NULL);
}

int tar_write_data(struct tar_writer *w, const char *name, const char *data, size_t len) {
  struct stat st = {.st_mode = S_IFREG | 0644, .st_size = (off_t)len, .st_mtime = time(NULL)};
  if (write_header(w, name, &st, '0', "") < 0) return -1;
  return emit_padded(w, data, len);
}

int tar_write_end(struct tar_writer *w) {
  static const char zero[1024];
  for (size_t i = 0; i < w->n_links; i++)
    free(w->links[i].name);
  free(w->links);
  w->links = NULL;
  w->n_links = 0;
  return emit(w, zero, sizeof zero);
}

/* ---------------- reading ---------------- */

static int read_full(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return got ? -1 : 0;
    got += (size_t)n;
  }
  return 1;
}

static uint64_t number(const char *f, size_t n) {
  uint64_t v = 0;
  if ((unsigned char)f[0] & 0x80) { /* base-256 */
    for (size_t i = 1; i < n; i++)
      v = v << 8 | (unsigned char)f[i];
    return v;
  }
  for (size_t i = 0; i < n && f[i]; i++)
    if (f[i] >= '0' && f[i] <= '7') v = v * 8 + (uint64_t)(f[i] - '0');
  return v;
}

/* a data section of len bytes (padded to 512) into a string, or skipped */
static char *read_data(int fd, uint64_t len, bool keep) {
  char *s = keep && len < (1 << 20) ? xmalloc(len + 1) : NULL;
  char buf[512];
  for (uint64_t off = 0; off < len; off += 512) {
    if (read_full(fd, buf, 512) != 1) {
      free(s);
      return NULL;
    }
    if (s) memcpy(s + off, buf, len - off < 512 ? len - off : 512);
  }
  if (s) s[len] = 0;
  return s ? s : xstrdup("");
}

static void pax_parse(const char *rec, struct tar_entry *e) {
  for (const char *p = rec; *p;) {
    char *end;
    unsigned long n = strtoul(p, &end, 10);
    if (!n || *end != ' ' || strlen(p) < n) return;
    const char *kv = end + 1, *eq = strchr(kv, '='), *stop = p + n - 1;
    if (eq && eq < stop) {
      cleanup_free char *val = xasprintf("%.*s", (int)(stop - eq - 1), eq + 1);
      size_t kl = (size_t)(eq - kv);
      if (kl == 4 && !strncmp(kv, "path", 4)) free(e->name), e->name = xstrdup(val);
      if (kl == 8 && !strncmp(kv, "linkpath", 8)) free(e->link), e->link = xstrdup(val);
      if (kl == 4 && !strncmp(kv, "size", 4)) e->size = strtoull(val, NULL, 10), e->pax_size = true;
      if (kl == 5 && !strncmp(kv, "mtime", 5)) e->mtime = strtoll(val, NULL, 10);
      if (kl == 3 && !strncmp(kv, "uid", 3)) e->uid = (uid_t)strtoul(val, NULL, 10);
      if (kl == 3 && !strncmp(kv, "gid", 3)) e->gid = (gid_t)strtoul(val, NULL, 10);
    }
    p += n;
  }
}

void tar_entry_free(struct tar_entry *e) {
  free(e->name);
  free(e->link);
  memset(e, 0, sizeof *e);
}

int tar_next(int fd, struct tar_entry *e) {
  tar_entry_free(e);
  struct tar_entry ext = {0}; /* what pax and GNU headers said for the next one */
  for (;;) {
    struct tar_hdr h;
    int r = read_full(fd, &h, 512);
    if (r <= 0) return tar_entry_free(&ext), r; /* EOF without the end blocks: the end */
    if (!h.name[0]) return tar_entry_free(&ext), 0;
    unsigned sum = 0, want = (unsigned)number(h.chksum, sizeof h.chksum);
    memset(h.chksum, ' ', sizeof h.chksum);
    for (size_t i = 0; i < 512; i++)
      sum += ((unsigned char *)&h)[i];
    if (sum != want) return tar_entry_free(&ext), -1;
    uint64_t size = number(h.size, sizeof h.size);
    if (h.type == 'x' || h.type == 'g' || h.type == 'L' || h.type == 'K') {
      cleanup_free char *data = read_data(fd, size, h.type != 'g');
      if (!data) return tar_entry_free(&ext), -1;
      if (h.type == 'x') pax_parse(data, &ext);
      if (h.type == 'L') free(ext.name), ext.name = xstrdup(data);
      if (h.type == 'K') free(ext.link), ext.link = xstrdup(data);
      continue;
    }
    *e = ext;
    if (!e->name) {
      e->name = h.prefix[0] ? xasprintf("%.*s/%.*s", (int)strnlen(h.prefix, sizeof h.prefix),
                                        h.prefix, (int)strnlen(h.name, sizeof h.name), h.name)
                            : xasprintf("%.*s", (int)strnlen(h.name, sizeof h.name), h.name);
      e->mtime = (int64_t)number(h.mtime, sizeof h.mtime);
    }
    if (!e->link) e->link = xasprintf("%.*s", (int)strnlen(h.link, sizeof h.link), h.link);
    if (!e->pax_size) e->size = size;
    if (!ext.uid) e->uid = (uid_t)number(h.uid, sizeof h.uid);
    if (!ext.gid) e->gid = (gid_t)number(h.gid, sizeof h.gid);
    if (!e->mtime) e->mtime = (int64_t)number(h.mtime, sizeof h.mtime);
    e->mode = (mode_t)number(h.mode, sizeof h.mode) & 07777;
    e->type = h.type ? h.type : '0';
    e->rdev = makedev((unsigned)number(h.devmajor, 8), (unsigned)number(h.devminor, 8));
    if (e->type != '0' && e->type != '7') e->size = 0;
    return 1;
  }
}

int tar_copy_data(int fd, const struct tar_entry *e, int out) {
  char buf[65536];
  uint64_t left = e->size, padded = (e->size + 511) / 512 * 512;
  uint64_t extra = padded - e->size;
  while (left) {
    size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
    if (read_full(fd, buf, n) != 1) return -1;
    if (out >= 0 && write_all_fd(out, buf, n) < 0) out = -2;
    left -= n;
  }
  if (extra && read_full(fd, buf, (size_t)extra) != 1) return -1;
  return out == -2 ? -1 : 0;
}
