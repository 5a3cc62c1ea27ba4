#include "util.h"

#include <ctype.h>
#include <pthread.h>
#include <sys/utsname.h>

#include "rmtree.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <time.h>

int berth_log_threshold = BERTH_LOG_INFO;

void berth_vlog(int level, const char *prefix, const char *fmt, va_list ap) {
  static const char *names[] = {"error", "warning", "info", "debug"};
  if (level > berth_log_threshold) return;
  char ts[40];
  format_rfc3339(now_ns(), ts, sizeof ts);
  char line[2048];
  vsnprintf(line, sizeof line, fmt, ap);
  fprintf(stderr, "time=\"%s\" level=%s msg=\"%s%s%s\"\n", ts,
          names[level < 0   ? 0
                : level > 3 ? 3
                            : level],
          prefix ? prefix : "", prefix ? ": " : "", line);
}

void berth_log(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  berth_vlog(level, NULL, fmt, ap);
  va_end(ap);
}

int err_sys_(struct berth_err *err, int code, int sys_errno, const char *fmt, ...) {
  if (!err) return -code;
  char what[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return berth_err_set(err, code, sys_errno, "%s: %s", what, strerror(sys_errno));
}

int err_wrap(struct berth_err *err, const char *fmt, ...) {
  if (!err) return -BERTH_EINTERNAL;
  char ctx[256], old[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx, sizeof ctx, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  char joined[sizeof ctx + sizeof old + 2];
  snprintf(joined, sizeof joined, "%s: %s", ctx, old);
  size_t n = strlen(joined);
  if (n >= sizeof err->msg) n = sizeof err->msg - 1;
  memcpy(err->msg, joined, n);
  err->msg[n] = 0;
  if (!err->code) err->code = BERTH_EINTERNAL;
  return -err->code;
}

int err_http_status(int code) {
  switch (code) {
  case BERTH_EINVAL: return 400;
  case BERTH_EUNAUTHORIZED: return 401;
  case BERTH_EFORBIDDEN: return 403;
  case BERTH_ENOTFOUND: return 404;
  case BERTH_ECONFLICT: return 409;
  case BERTH_ENOTSUP: return 501;
  case BERTH_EUNAVAILABLE: return 503;
  default: return 500;
  }
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}
void *xcalloc(size_t n, size_t m) {
  void *p = calloc(n ? n : 1, m ? m : 1);
  if (!p) abort();
  return p;
}
void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) abort();
  return p;
}
char *xstrdup(const char *s) {
  char *p = strdup(s ? s : "");
  if (!p) abort();
  return p;
}
char *xasprintf(const char *fmt, ...) {
  char *s;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) abort();
  va_end(ap);
  return s;
}

int strp_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char *xstrndup(const char *s, size_t n) {
  char *r = xmalloc(n + 1);
  memcpy(r, s, n);
  r[n] = 0;
  return r;
}

void strbuf_add(struct strbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->s = xrealloc(b->s, b->cap);
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = 0;
}

int mkdir_p(const char *path, mode_t mode) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -ENAMETOOLONG;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, mode) < 0 && errno != EEXIST) return -errno;
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST) return -errno;
  return 0;
}

int rm_rf(const char *path) {
  return rm_tree_at(AT_FDCWD, path);
}

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  unsigned n;
  bool draining;
} work = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};

bool work_begin(void) {
  pthread_mutex_lock(&work.mu);
  bool ok = !work.draining;
  if (ok) work.n++;
  pthread_mutex_unlock(&work.mu);
  return ok;
}

void work_end(void) {
  pthread_mutex_lock(&work.mu);
  if (--work.n == 0) pthread_cond_broadcast(&work.cv);
  pthread_mutex_unlock(&work.mu);
}

void work_drain(void) {
  pthread_mutex_lock(&work.mu);
  work.draining = true;
  while (work.n)
    pthread_cond_wait(&work.cv, &work.mu);
  pthread_mutex_unlock(&work.mu);
}

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char **q;
  size_t n, cap;
  bool running;
} later = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, false};

static void *later_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&later.mu);
  for (;;) {
    while (!later.n)
      pthread_cond_wait(&later.cv, &later.mu);
    char *p = later.q[--later.n];
    pthread_mutex_unlock(&later.mu);
    rm_rf(p);
    free(p);
    pthread_mutex_lock(&later.mu);
  }
  return NULL;
}

/* trash (taken) to the thread; false: delete it yourself */
static bool later_push(char *trash) {
  pthread_mutex_lock(&later.mu);
  if (!later.running) {
    pthread_t t;
    later.running = pthread_create(&t, NULL, later_main, NULL) == 0;
    if (later.running) pthread_detach(t);
  }
  if (later.running && later.n == later.cap) {
    later.cap = later.cap ? 2 * later.cap : 16;
    later.q = xrealloc(later.q, later.cap * sizeof *later.q);
  }
  if (later.running) {
    later.q[later.n++] = trash;
    pthread_cond_signal(&later.cv);
  }
  bool ok = later.running;
  pthread_mutex_unlock(&later.mu);
  return ok;
}

int rm_rf_later(const char *path) {
  static unsigned seq;
  cleanup_free char *dir = xstrdup(path);
  char *slash = strrchr(dir, '/');
  if (!slash || !slash[1]) return rm_rf(path);
  *slash = 0;
  cleanup_free char *bin = xasprintf("%s/.removed", dir);
  if (mkdir(bin, 0700) < 0 && errno != EEXIST) return rm_rf(path);
  for (int i = 0; i < 100; i++) {
    char *t = xasprintf("%s/%s.%u", bin, slash + 1, __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
    if (rename(path, t) == 0) {
      if (later_push(t)) return 0;
      int r = rm_rf(t);
      free(t);
      return r;
    }
    int e = errno;
    free(t);
    if (e != EEXIST && e != ENOTEMPTY) return e == ENOENT ? 0 : rm_rf(path);
  }
  return rm_rf(path);
}

void rm_rf_sweep(const char *dir) {
  cleanup_free char *bin = xasprintf("%s/.removed", dir);
  cleanup_dir DIR *d = opendir(bin);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char *t = xasprintf("%s/%s", bin, de->d_name);
    if (!later_push(t)) {
      rm_rf(t);
      free(t);
    }
  }
}

int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int r = fsync(fd) < 0 ? -errno : 0;
  close(fd);
  return r;
}

static int write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                              bool durable);

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode) {
  return write_file_replace(path, data, len, mode, true);
}

int write_file_derived(const char *path, const void *data, size_t len, mode_t mode) {
  return write_file_replace(path, data, len, mode, false);
}

static int write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                              bool durable) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp-%d-%lx", path, (int)getpid(), (unsigned long)random());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return -errno;
  const char *p = data;
  size_t left = len;
  while (left) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp);
      return -e;
    }
    p += n;
    left -= (size_t)n;
  }
  if ((durable && fsync(fd) < 0) || close(fd) < 0) {
    int e = errno;
    unlink(tmp);
    return -e;
  }
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return -e;
  }
  if (!durable) return 0;
  char dir[4200];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = 0;
    fsync_dir(*dir ? dir : "/");
  }
  return 0;
}

char *read_file(const char *path, size_t *lenp) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, len = 0;
  char *buf = xmalloc(cap + 1);
  for (;;) {
    if (len == cap) buf = xrealloc(buf, (cap *= 2) + 1);
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(buf);
      close(fd);
      errno = e;
      return NULL;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = 0;
  if (lenp) *lenp = len;
  return buf;
}

bool path_exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static int copy_file_fd(int src, int dst) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(src, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) return 0;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(dst, buf + off, (size_t)(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return -errno;
      }
      off += w;
    }
  }
}

static void copy_xattrs(const char *src, const char *dst);

int copy_tree(const char *src, const char *dst) {
  struct stat st;
  if (lstat(src, &st) < 0) return -errno;
  int r = 0;
  if (S_ISDIR(st.st_mode)) {
    if (mkdir(dst, st.st_mode & 07777) < 0 && errno != EEXIST) return -errno;
    DIR *d = opendir(src);
    if (!d) return -errno;
    struct dirent *de;
    while ((de = readdir(d)) && r == 0) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
      cleanup_free char *s = xasprintf("%s/%s", src, de->d_name);
      cleanup_free char *t = xasprintf("%s/%s", dst, de->d_name);
      r = copy_tree(s, t);
    }
    closedir(d);
    if (r < 0) return r;
    chmod(dst, st.st_mode & 07777);
  } else if (S_ISREG(st.st_mode)) {
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -errno;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
    if (out < 0) {
      r = -errno;
      close(in);
      return r;
    }
    r = copy_file_fd(in, out);
    close(in);
    close(out);
    if (r < 0) return r;
    chmod(dst, st.st_mode & 07777);
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(src, target, sizeof target - 1);
    if (n < 0) return -errno;
    target[n] = 0;
    if (symlink(target, dst) < 0) return -errno;
  } else {
    if (mknod(dst, st.st_mode, st.st_rdev) < 0) return -errno;
  }
  if (lchown(dst, st.st_uid, st.st_gid) < 0 && errno != EPERM) return -errno;
  /* times of every entry, links too: a copy reads as unchanged (vfs's diff) */
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  utimensat(AT_FDCWD, dst, ts, AT_SYMLINK_NOFOLLOW);
  if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) chmod(dst, st.st_mode & 07777);
  copy_xattrs(src, dst);
  return 0;
}

#include <sys/xattr.h>
static void copy_xattrs(const char *src, const char *dst) {
  char names[4096];
  ssize_t n = llistxattr(src, names, sizeof names);
  for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(names + off) + 1) {
    char val[4096];
    ssize_t vl = lgetxattr(src, names + off, val, sizeof val);
    if (vl >= 0) lsetxattr(dst, names + off, val, (size_t)vl, 0);
  }
}

bool is_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

void random_hex(char *out, size_t nbytes) {
  unsigned char buf[64];
  if (nbytes > sizeof buf) nbytes = sizeof buf;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, buf, nbytes) != (ssize_t)nbytes) abort();
  close(fd);
  for (size_t i = 0; i < nbytes; i++)
    sprintf(out + 2 * i, "%02x", buf[i]);
  out[2 * nbytes] = 0;
}

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct timespec deadline_after_ms(clockid_t clock, int ms) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

int64_t trace_phase(const char *id, const char *phase, int64_t since_ns) {
  static int on = -1; /* read once; threads may race to set the same value */
  int v = __atomic_load_n(&on, __ATOMIC_RELAXED);
  if (v < 0) __atomic_store_n(&on, v = getenv("BERTH_TRACE") != NULL, __ATOMIC_RELAXED);
  if (!v) return 0;
  int64_t t = now_ns();
  if (since_ns) log_info("trace %.12s %s %.2f ms", id, phase, (double)(t - since_ns) / 1e6);
  return t;
}

bool device_access_valid(const char *a) {
  if (!*a || strlen(a) > 3) return false;
  for (const char *p = a; *p; p++)
    if (!strchr("rwm", *p) || strchr(p + 1, *p)) return false;
  return true;
}

void failpoint(const char *name) {
  static const char *at = (const char *)1; /* read once, as trace_phase */
  const char *v = __atomic_load_n(&at, __ATOMIC_RELAXED);
  if (v == (const char *)1) __atomic_store_n(&at, v = getenv("BERTH_FAILPOINT"), __ATOMIC_RELAXED);
  size_t n = strlen(name);
  if (!v || strncmp(v, name, n) || (v[n] && strcmp(v + n, ":sleep"))) return;
  if (v[n]) { /* NAME:sleep: a slow step, for a race a test makes certain */
    log_warn("failpoint %s: sleeping 500 ms", name);
    usleep(500000);
    return;
  }
  log_warn("failpoint %s: killing myself with SIGKILL", name);
  raise(SIGKILL);
}

void format_rfc3339(int64_t ns, char *out, size_t len) {
  time_t s = (time_t)(ns / 1000000000LL);
  long frac = (long)(ns % 1000000000LL);
  struct tm tm;
  gmtime_r(&s, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, len, "%s.%09ldZ", base, frac);
}

int64_t parse_rfc3339(const char *s) {
  struct tm tm = {0};
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p) return INT64_MIN;
  int64_t frac = 0;
  if (*p == '.') {
    int digits = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, digits++)
      if (digits < 9) frac = frac * 10 + (*p - '0');
    for (; digits < 9; digits++)
      frac *= 10;
  }
  int64_t off = 0;
  if (*p == '+' || *p == '-') {
    int hh = 0, mm = 0;
    if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2) return INT64_MIN;
    off = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
  } else if (*p != 'Z') {
    return INT64_MIN;
  }
  int64_t secs = (int64_t)timegm(&tm) - off;
  /* before 1970 (Go's zero time "0001-01-01T00:00:00Z") is 0 */
  if (secs < 0) return 0;
  return secs * 1000000000LL + frac;
}

bool str_has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}
bool str_has_suffix(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}
bool parse_bool_value(const char *s) {
  if (!s) return false;
  static const char *falsy[] = {"", "0", "no", "false", "none"};
  for (size_t i = 0; i < ARRAY_SIZE(falsy); i++)
    if (!strcasecmp(s, falsy[i])) return false;
  return true;
}

int write_all_fd(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* "ctrl-p,ctrl-q" -> the bytes 0x10 0x11 (docker's detach-keys syntax) */
bool parse_detach_keys(const char *s, unsigned char *out, size_t *n) {
  *n = 0;
  cleanup_free char *copy = xstrdup(s);
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t && *n < 16; t = strtok_r(NULL, ",", &save)) {
    if (str_has_prefix(t, "ctrl-") && strlen(t) == 6) {
      char ch = t[5];
      if (ch >= 'a' && ch <= 'z')
        out[(*n)++] = (unsigned char)(ch - 'a' + 1);
      else if (ch == '@')
        out[(*n)++] = 0;
      else if (ch == '[')
        out[(*n)++] = 27;
      else if (ch == '\\')
        out[(*n)++] = 28;
      else if (ch == ']')
        out[(*n)++] = 29;
      else if (ch == '^')
        out[(*n)++] = 30;
      else if (ch == '_')
        out[(*n)++] = 31;
      else
        return false;
    } else if (strlen(t) == 1) {
      out[(*n)++] = (unsigned char)t[0];
    } else {
      return false;
    }
  }
  return *n > 0;
}

void close_fds_except(int *keep, size_t n) {
  /* insertion sort: n is tiny, and no allocation after fork */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  unsigned int from = 3;
  for (size_t i = 0; i < n; i++) {
    if (keep[i] < (int)from) continue;
    if ((unsigned int)keep[i] > from) syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0U);
    from = (unsigned int)keep[i] + 1;
  }
  syscall(SYS_close_range, from, ~0U, 0U);
}

char *base64_decode(const char *in, size_t *out_len) {
  size_t n = strlen(in);
  char *out = xmalloc(n * 3 / 4 + 4);
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)in[i], v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else if (c == '=')
      break;
    else
      continue;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (char)(acc >> bits & 0xff);
    }
  }
  out[o] = 0;
  if (out_len) *out_len = o;
  return out;
}

char *base64_encode(const void *data, size_t len, bool url) {
  const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                      : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *p = data;
  char *out = xmalloc((len + 2) / 3 * 4 + 1);
  size_t o = 0, i = 0;
  for (; i + 2 < len; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    out[o++] = a[v >> 18 & 63];
    out[o++] = a[v >> 12 & 63];
    out[o++] = a[v >> 6 & 63];
    out[o++] = a[v & 63];
  }
  if (i < len) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
    out[o++] = a[v >> 18 & 63];
    out[o++] = a[v >> 12 & 63];
    out[o++] = i + 1 < len ? a[v >> 6 & 63] : '=';
    out[o++] = '=';
  }
  out[o] = 0;
  return out;
}

int host_buf_append(struct berth_buf *buf, const void *data, size_t len) {
  if (!buf) return -BERTH_EINTERNAL;
  if (buf->len + len + 1 > buf->cap) {
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < buf->len + len + 1)
      cap *= 2;
    char *p = realloc(buf->data, cap);
    if (!p) return -BERTH_EINTERNAL;
    buf->data = p;
    buf->cap = cap;
  }
  memcpy(buf->data + buf->len, data, len);
  buf->len += len;
  buf->data[buf->len] = 0;
  return 0;
}

/* go-units HumanDuration */
void human_duration(int64_t s, char *out, size_t len) {
  int64_t minutes = s / 60, hours = (s + 1800) / 3600;
  if (s < 1)
    snprintf(out, len, "Less than a second");
  else if (s == 1)
    snprintf(out, len, "1 second");
  else if (s < 60)
    snprintf(out, len, "%lld seconds", (long long)s);
  else if (minutes == 1)
    snprintf(out, len, "About a minute");
  else if (minutes < 60)
    snprintf(out, len, "%lld minutes", (long long)minutes);
  else if (hours == 1)
    snprintf(out, len, "About an hour");
  else if (hours < 48)
    snprintf(out, len, "%lld hours", (long long)hours);
  else if (hours < 24 * 7 * 2)
    snprintf(out, len, "%lld days", (long long)(hours / 24));
  else if (hours < 24 * 30 * 2)
    snprintf(out, len, "%lld weeks", (long long)(hours / 24 / 7));
  else if (hours < 24 * 365 * 2)
    snprintf(out, len, "%lld months", (long long)(hours / 24 / 30));
  else
    snprintf(out, len, "%lld years", (long long)(s / 3600 / 24 / 365));
}

static char arch_buf[32], platform_buf[48];
static pthread_once_t arch_once = PTHREAD_ONCE_INIT;

static void compute_arch(void) {
  struct utsname u;
  const char *m = uname(&u) == 0 ? u.machine : "x86_64";
  const char *a = !strcmp(m, "x86_64")    ? "amd64"
                  : !strcmp(m, "aarch64") ? "arm64"
                  : !strcmp(m, "i686")    ? "386"
                                          : m;
  snprintf(arch_buf, sizeof arch_buf, "%s", a);
  snprintf(platform_buf, sizeof platform_buf, "linux/%s", arch_buf);
}

const char *host_arch(void) {
  pthread_once(&arch_once, compute_arch);
  return arch_buf;
}

const char *host_platform(void) {
  pthread_once(&arch_once, compute_arch);
  return platform_buf;
}

int parse_signal(const char *s) {
  static const struct {
    const char *name;
    int sig;
  } sigs[] = {{"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
              {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
              {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
              {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
              {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
              {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
              {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
              {"PWR", SIGPWR},       {"SYS", SIGSYS}};
  if (!s || !*s) return -1;
  char *end;
  long n = strtol(s, &end, 10);
  if (!*end) return n > 0 && n < 65 ? (int)n : -1;
  const char *name = strncasecmp(s, "SIG", 3) ? s : s + 3;
  for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
    if (!strcasecmp(sigs[i].name, name)) return sigs[i].sig;
  return -1;
}

unsigned long mount_options(const char *opts, unsigned long flags, char *data, size_t len) {
  static const struct {
    const char *name;
    unsigned long set, clear;
  } words[] = {{"ro", MS_RDONLY, 0},
               {"rw", 0, MS_RDONLY},
               {"exec", 0, MS_NOEXEC},
               {"noexec", MS_NOEXEC, 0},
               {"suid", 0, MS_NOSUID},
               {"nosuid", MS_NOSUID, 0},
               {"dev", 0, MS_NODEV},
               {"nodev", MS_NODEV, 0},
               {"sync", MS_SYNCHRONOUS, 0},
               {"async", 0, MS_SYNCHRONOUS},
               {"dirsync", MS_DIRSYNC, 0},
               {"atime", 0, MS_NOATIME},
               {"noatime", MS_NOATIME, 0},
               {"diratime", 0, MS_NODIRATIME},
               {"nodiratime", MS_NODIRATIME, 0},
               {"relatime", MS_RELATIME, 0},
               {"norelatime", 0, MS_RELATIME},
               {"strictatime", MS_STRICTATIME, 0},
               {"defaults", 0, 0}};
  unsigned long fl = flags;
  size_t used = 0;
  data[0] = 0;
  for (const char *p = opts ? opts : ""; *p;) {
    size_t n = strcspn(p, ",");
    size_t k = 0;
    while (k < ARRAY_SIZE(words) && (strlen(words[k].name) != n || strncmp(words[k].name, p, n)))
      k++;
    if (k < ARRAY_SIZE(words))
      fl = (fl | words[k].set) & ~words[k].clear;
    else if (n && used + n + 2 < len)
      used += (size_t)snprintf(data + used, len - used, "%s%.*s", used ? "," : "", (int)n, p);
    p += n + (p[n] == ',');
  }
  return fl;
}

const char *go_errstr(int e, char *buf, size_t len) {
  snprintf(buf, len, "%s", strerror(e));
  if (len && buf[0] >= 'A' && buf[0] <= 'Z') buf[0] = (char)(buf[0] - 'A' + 'a');
  return buf;
}

int parse_go_duration(const char *s, int64_t *ns) {
  static const struct {
    const char *unit;
    double mul;
  } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
               {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
  int sign = *s == '-' ? -1 : 1;
  if (*s == '-' || *s == '+') s++;
  if (!strcmp(s, "0")) return *ns = 0, 0;
  if (!*s) return -1;
  double total = 0;
  while (*s) {
    char *end;
    if (!isdigit((unsigned char)*s) && *s != '.') return -1;
    double v = strtod(s, &end);
    if (end == s) return -1;
    s = end;
    size_t best = 0, best_len = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
      size_t l = strlen(units[i].unit);
      if (!strncmp(s, units[i].unit, l) && l > best_len) best = i, best_len = l;
    }
    if (!best_len) return -1;
    total += v * units[best].mul;
    s += best_len;
  }
  if (total > 9.2e18) return -1;
  *ns = sign * (int64_t)(total + 0.5);
  return 0;
}

/* a date, with a time and a zone or not: "2006-01-02", "…T15", "…T15:04",
 * "…T15:04:05[.frac]", each with "Z" or "±07:00" after, else local time */
static int parse_date(const char *s, int64_t *ns) {
  struct tm tm = {0};
  int n = 0, frac_ns = 0;
  if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3) return -1;
  s += n;
  if (*s == 'T' || *s == 't') {
    s++;
    if (sscanf(s, "%2d%n", &tm.tm_hour, &n) != 1) return -1;
    s += n;
    if (*s == ':' && sscanf(s, ":%2d%n", &tm.tm_min, &n) == 1) s += n;
    if (*s == ':' && sscanf(s, ":%2d%n", &tm.tm_sec, &n) == 1) s += n;
    if (*s == '.') {
      int digits = 0;
      for (s++; isdigit((unsigned char)*s); s++, digits++)
        if (digits < 9) frac_ns = frac_ns * 10 + (*s - '0');
      for (; digits < 9; digits++)
        frac_ns *= 10;
    }
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return -1;
  time_t t;
  if (!*s) {
    tm.tm_isdst = -1;
    t = mktime(&tm);
  } else if ((*s == 'Z' || *s == 'z') && !s[1]) {
    t = timegm(&tm);
  } else if (*s == '+' || *s == '-') {
    int hh, mm;
    if (sscanf(s + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || s[1 + n]) return -1;
    t = timegm(&tm) - (*s == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
  } else {
    return -1;
  }
  *ns = (int64_t)t * 1000000000 + frac_ns;
  return 0;
}

static int parse_unix(const char *s, int64_t *ns) {
  size_t d = strspn(s, "0123456789");
  if (!d || (s[d] && (s[d] != '.' || s[d + 1 + strspn(s + d + 1, "0123456789")]))) return -1;
  *ns = (int64_t)(strtod(s, NULL) * 1e9);
  return 0;
}

int docker_timestamp(const char *v, int64_t *ns) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t d;
  if (strcmp(v, "0") && parse_go_duration(v, &d) == 0) {
    *ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - d;
    return 0;
  }
  return strchr(v, '-') ? parse_date(v, ns) : parse_unix(v, ns);
}
