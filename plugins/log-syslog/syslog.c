/* syslog: every line to a syslog server, as docker's syslog driver sends it.
 *
 * --log-opt (or daemon.conf log.syslog, as defaults):
 *   syslog-address   udp://HOST[:514], tcp://HOST[:514], unix:///PATH,
 *                    unixgram:///PATH; default the local /dev/log
 *   syslog-facility  daemon (default), user, local0..local7, ... or a number
 *   syslog-format    rfc5424 (default), rfc5424micro, rfc3164
 *   tag              a template of {{.ID}} {{.FullID}} {{.Name}} {{.ImageID}}
 *                    {{.ImageFullID}} {{.ImageName}} {{.DaemonName}};
 *                    default {{.ID}} (the 12-character id)
 * stdout lines go at severity info, stderr at err; stream sockets end each
 * message with "\n".  Write-only: `logs` says the driver cannot read.
 * Runs in berth-shim; berthd only validates options. */
#include <berth/logger.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../common/logopt.h"

struct sconf {
  const char *address, *facility, *format, *tag;
};

struct sdrv {
  const struct berth_host *host;
  struct sconf conf;
};

static const struct berth_conf_key keys[] = {
    BERTH_CONF_KEY("syslog-address", BERTH_CONF_STRING, struct sconf, address, ""),
    BERTH_CONF_KEY("syslog-facility", BERTH_CONF_STRING, struct sconf, facility, "daemon"),
    BERTH_CONF_KEY("syslog-format", BERTH_CONF_STRING, struct sconf, format, "rfc5424"),
    BERTH_CONF_KEY("tag", BERTH_CONF_STRING, struct sconf, tag, "{{.ID}}"),
};

static const struct {
  const char *name;
  int code;
} facilities[] = {{"kern", 0},      {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},
                  {"syslog", 5},    {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},
                  {"authpriv", 10}, {"ftp", 11},    {"local0", 16}, {"local1", 17}, {"local2", 18},
                  {"local3", 19},   {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23}};

enum fmt { FMT_5424, FMT_5424MICRO, FMT_3164 };

/* the settings one container's messages go out with */
struct target {
  int facility;
  enum fmt fmt;
  int socktype; /* SOCK_DGRAM or SOCK_STREAM */
  int family;   /* AF_UNIX, or 0: resolve host/port */
  bool local;   /* no address: the host's syslog socket, wherever it is */
  char host[256], port[16], path[108];
  const char *tag;
};

/* Go's net.Dial words: "dial unixgram /dev/log: connect: no such file..." */
static const char *go_errstr(int e, char *buf, size_t len) {
  snprintf(buf, len, "%s", strerror(e));
  buf[0] = (char)tolower((unsigned char)buf[0]);
  return buf;
}

static int parse_facility(const char *s, int *out) {
  for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
    if (!strcmp(s, facilities[i].name)) return *out = facilities[i].code, 0;
  char *end;
  long v = strtol(s, &end, 10);
  if (*s && !*end && v >= 0 && v <= 23) return *out = (int)v, 0;
  return -1;
}

static int parse_format(const char *s, enum fmt *out) {
  if (!strcmp(s, "rfc5424") || !*s) return *out = FMT_5424, 0;
  if (!strcmp(s, "rfc5424micro")) return *out = FMT_5424MICRO, 0;
  if (!strcmp(s, "rfc3164")) return *out = FMT_3164, 0;
  return -1;
}

/* "udp://h:p", "tcp://h:p", "unix:///p", "unixgram:///p", "" (/dev/log) */
static int parse_address(const char *a, struct target *t, struct berth_err *err) {
  const char *rest;
  t->family = 0;
  t->local = !*a;
  if (!*a) a = "unixgram:///dev/log";
  if (!strncmp(a, "udp://", 6) || !strncmp(a, "tcp://", 6)) {
    t->socktype = a[0] == 'u' ? SOCK_DGRAM : SOCK_STREAM;
    rest = a + 6;
    const char *colon = strrchr(rest, ':');
    bool v6 = rest[0] == '[';
    if (v6) colon = strstr(rest, "]:") ? strstr(rest, "]:") + 1 : NULL;
    size_t hl = colon ? (size_t)(colon - rest) : strlen(rest);
    if (v6) rest++, hl -= hl ? 2 : 0;
    if (!hl || hl >= sizeof t->host) goto bad;
    snprintf(t->host, sizeof t->host, "%.*s", (int)hl, rest);
    snprintf(t->port, sizeof t->port, "%s", colon ? colon + 1 : "514");
    char *end;
    long p = strtol(t->port, &end, 10);
    if (*end || p < 1 || p > 65535) goto bad;
    return 0;
  }
  if (!strncmp(a, "unix://", 7) || !strncmp(a, "unixgram://", 11)) {
    t->family = AF_UNIX;
    t->socktype = a[4] == 'g' ? SOCK_DGRAM : SOCK_STREAM;
    rest = strstr(a, "://") + 3;
    if (rest[0] != '/' || strlen(rest) >= sizeof t->path) goto bad;
    snprintf(t->path, sizeof t->path, "%s", rest);
    return 0;
  }
bad:
  return berth_err_set(err, BERTH_EINVAL, 0,
                       "syslog-address should be in form proto://address, got %s", a);
}

/* the options over the daemon's defaults, all checked */
static int make_target(const struct sconf *def, const struct berth_kv *opts, size_t n,
                       struct target *t, struct berth_err *err) {
  struct sconf c = *def;
  for (size_t i = 0; i < n; i++) {
    const struct berth_kv *kv = BERTH_ELEM(opts, i);
    const char *v = kv->value ? kv->value : "";
    if (!strcmp(kv->key, "syslog-address"))
      c.address = v;
    else if (!strcmp(kv->key, "syslog-facility"))
      c.facility = v;
    else if (!strcmp(kv->key, "syslog-format"))
      c.format = v;
    else if (!strcmp(kv->key, "tag"))
      c.tag = v;
    else
      return berth_err_set(err, BERTH_EINVAL, 0, "unknown log opt '%s' for syslog log driver",
                           kv->key);
  }
  if (parse_facility(c.facility, &t->facility) < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "invalid syslog facility: %s", c.facility);
  if (parse_format(c.format, &t->fmt) < 0)
    return berth_err_set(err, BERTH_EINVAL, 0, "Invalid syslog format: %s", c.format);
  t->tag = c.tag;
  return parse_address(c.address, t, err);
}

static int s_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  struct sdrv *d = calloc(1, sizeof *d);
  if (!d) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  d->host = host;
  struct target t;
  int r = host->conf_bind(host, keys, sizeof keys / sizeof keys[0], &d->conf, err);
  if (r == 0) r = make_target(&d->conf, NULL, 0, &t, err);
  if (r < 0) {
    free(d);
    return r;
  }
  *drv = d;
  return 0;
}

static void s_fini(void *drv) {
  free(drv);
}

static int s_validate(void *drv, const struct berth_kv *opts, size_t n, struct berth_err *err) {
  struct target t;
  int r = make_target(&((struct sdrv *)drv)->conf, opts, n, &t, err);
  /* a unix address names a socket that must be there at create, as
   * dockerd's check (os.Stat) */
  struct stat st;
  char why[128];
  if (r == 0 && t.family == AF_UNIX && !t.local && stat(t.path, &st) < 0)
    r = berth_err_set(err, BERTH_EINVAL, errno, "stat %s: %s", t.path,
                      go_errstr(errno, why, sizeof why));
  return r;
}

/* ---------------- writing (berth-shim) ---------------- */

struct ssink {
  struct target t;
  int fd;
  char tag[256];
  char hostname[256];
  pid_t pid;
};

static int connect_unix(const struct target *t, struct berth_err *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", t->path);
  int fd = socket(AF_UNIX, t->socktype | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) return fd;
  int e = errno;
  if (fd >= 0) close(fd);
  char why[128];
  return berth_err_set(err, BERTH_EUNAVAILABLE, e, "dial %s %s: connect: %s",
                       t->socktype == SOCK_DGRAM ? "unixgram" : "unix", t->path,
                       go_errstr(e, why, sizeof why));
}

static int connect_inet(const struct target *t, struct berth_err *err) {
  struct addrinfo hints = {.ai_socktype = t->socktype}, *res = NULL;
  int g = getaddrinfo(t->host, t->port, &hints, &res);
  if (g)
    return berth_err_set(err, BERTH_EUNAVAILABLE, 0, "dial %s: lookup %s: %s",
                         t->socktype == SOCK_DGRAM ? "udp" : "tcp", t->host, gai_strerror(g));
  int fd = -1, e = 0;
  for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
      e = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) {
    char why[128];
    return berth_err_set(err, BERTH_EUNAVAILABLE, e, "dial %s %s:%s: connect: %s",
                         t->socktype == SOCK_DGRAM ? "udp" : "tcp", t->host, t->port,
                         go_errstr(e, why, sizeof why));
  }
  return fd;
}

/* no address: Go's log/syslog looks for the local socket as a datagram or
 * a stream one at each of its usual paths; the first that answers is
 * kept (so a stream's reconnect goes back to it) */
static int connect_local(struct target *t, struct berth_err *err) {
  static const char *const paths[] = {"/dev/log", "/var/run/syslog", "/var/run/log"};
  static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    for (size_t k = 0; k < 2; k++) {
      struct target c = *t;
      struct berth_err e = {0};
      c.socktype = types[k];
      snprintf(c.path, sizeof c.path, "%s", paths[i]);
      int fd = connect_unix(&c, &e);
      if (fd >= 0) {
        t->socktype = c.socktype;
        memcpy(t->path, c.path, sizeof t->path);
        t->local = false;
        return fd;
      }
    }
  return berth_err_set(err, BERTH_EUNAVAILABLE, 0, "Unix syslog delivery error");
}

static int connect_target(struct target *t, struct berth_err *err) {
  if (t->local) return connect_local(t, err);
  if (t->family == AF_UNIX) return connect_unix(t, err);
  return connect_inet(t, err);
}

static int s_open(void *drv, const struct berth_log_info *info, void **out, struct berth_err *err) {
  struct ssink *s = calloc(1, sizeof *s);
  if (!s) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  int r = make_target(&((struct sdrv *)drv)->conf, info->opts, info->n_opts, &s->t, err);
  if (r == 0 && (r = connect_target(&s->t, err)) >= 0) {
    s->fd = r;
    r = 0;
  }
  if (r < 0) {
    free(s);
    return r;
  }
  logopt_tag(s->t.tag, info, s->tag, sizeof s->tag);
  s->t.tag = NULL; /* the template's memory is not ours to keep */
  if (gethostname(s->hostname, sizeof s->hostname - 1) < 0) strcpy(s->hostname, "-");
  s->pid = getpid();
  *out = s;
  return 0;
}

static size_t stamp(const struct ssink *s, int64_t ns, char *out, size_t len) {
  time_t sec = (time_t)(ns / 1000000000);
  struct tm tm;
  if (s->t.fmt == FMT_3164) {
    localtime_r(&sec, &tm);
    return strftime(out, len, "%b %e %H:%M:%S", &tm);
  }
  gmtime_r(&sec, &tm);
  size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
  if (s->t.fmt == FMT_5424MICRO)
    n += (size_t)snprintf(out + n, len - n, ".%06lld", (long long)(ns % 1000000000 / 1000));
  return n + (size_t)snprintf(out + n, len - n, "Z");
}

static int s_log(void *sink, const struct berth_log_msg *m, struct berth_err *err) {
  struct ssink *s = sink;
  int pri = s->t.facility * 8 + (m->stream == BERTH_STREAM_STDERR ? 3 : 6);
  char ts[64], head[1024];
  stamp(s, m->time_ns, ts, sizeof ts);
  int hl = s->t.fmt == FMT_3164 ? snprintf(head, sizeof head, "<%d>%s %s %s[%d]: ", pri, ts,
                                           s->hostname, s->tag, (int)s->pid)
                                : snprintf(head, sizeof head, "<%d>1 %s %s %s %d %s - ", pri, ts,
                                           s->hostname, s->tag, (int)s->pid, s->tag);
  if (hl < 0 || (size_t)hl >= sizeof head) hl = (int)sizeof head - 1;
  size_t len = (size_t)hl + m->len + 1;
  char *msg = malloc(len);
  if (!msg) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  memcpy(msg, head, (size_t)hl);
  memcpy(msg + hl, m->line, m->len);
  msg[len - 1] = '\n';
  /* datagrams carry one message each; a stream needs the newline */
  size_t n = s->t.socktype == SOCK_DGRAM ? len - 1 : len;
  ssize_t w = send(s->fd, msg, n, MSG_NOSIGNAL);
  if (w < 0 && s->t.socktype == SOCK_STREAM) { /* the server went: once more */
    struct berth_err e2 = {0};
    int fd = connect_target(&s->t, &e2);
    if (fd >= 0) {
      close(s->fd);
      s->fd = fd;
      w = send(s->fd, msg, n, MSG_NOSIGNAL);
    }
  }
  int e = errno;
  free(msg);
  if (w < 0) return berth_err_set(err, BERTH_EUNAVAILABLE, e, "syslog: send: %s", strerror(e));
  return 0;
}

static int s_close(void *sink, struct berth_err *err) {
  struct ssink *s = sink;
  (void)err;
  close(s->fd);
  free(s);
  return 0;
}

static const struct berth_logger_ops s_ops = {
    .struct_size = sizeof(struct berth_logger_ops),
    .open = s_open,
    .log = s_log,
    .close = s_close,
    .validate_opts = s_validate,
};

BERTH_PLUGIN(syslog, .kind = BERTH_KIND_LOGGER, .name = "syslog", .version = "1.0.0",
             .description = "RFC 5424/3164 to a unix, udp or tcp syslog server",
             .flags = BERTH_PLUGIN_F_THREADSAFE, .init = s_init, .fini = s_fini, .ops = &s_ops);
