/* journald: every line to systemd-journald as a journal entry with docker's
 * fields (MESSAGE, PRIORITY 6 for stdout / 3 for stderr, CONTAINER_ID,
 * CONTAINER_ID_FULL, CONTAINER_NAME, CONTAINER_TAG, IMAGE_NAME,
 * SYSLOG_IDENTIFIER), over journald's native datagram protocol (what
 * libsystemd's sd_journal_send speaks), so there is no libsystemd to link.
 * Settings (daemon.conf log.journald): socket, default
 * /run/systemd/journal/socket; without it the driver reports itself skipped.
 * --log-opt: tag (a template as the syslog driver's, default {{.ID}}),
 * labels, env (accepted as docker does; no extra fields are added).
 * Write-only here: reading the journal needs libsystemd. */
#include <berth/logger.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/logopt.h"

struct jconf {
  const char *socket;
};

struct jdrv {
  const struct berth_host *host;
  struct jconf conf;
};

static const struct berth_conf_key keys[] = {
    BERTH_CONF_KEY("socket", BERTH_CONF_STRING, struct jconf, socket,
                   "/run/systemd/journal/socket"),
};

static int j_init(const struct berth_host *host, void **drv, struct berth_err *err) {
  struct jdrv *d = calloc(1, sizeof *d);
  if (!d) return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  d->host = host;
  int r = host->conf_bind(host, keys, sizeof keys / sizeof keys[0], &d->conf, err);
  struct stat st;
  if (r == 0 && strlen(d->conf.socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
    r = berth_err_set(err, BERTH_EINVAL, 0, "socket path too long: %s", d->conf.socket);
  if (r == 0 && (stat(d->conf.socket, &st) < 0 || !S_ISSOCK(st.st_mode)))
    r = berth_err_set(err, BERTH_ESKIP, errno,
                      "no journal socket at %s (systemd-journald is not running here)",
                      d->conf.socket);
  if (r < 0) {
    free(d);
    return r;
  }
  *drv = d;
  return 0;
}

static void j_fini(void *drv) {
  free(drv);
}

static int check_opts(const struct berth_kv *opts, size_t n, const char **tag,
                      struct berth_err *err) {
  for (size_t i = 0; i < n; i++) {
    const struct berth_kv *kv = BERTH_ELEM(opts, i);
    if (!strcmp(kv->key, "tag"))
      *tag = kv->value ? kv->value : "";
    else if (strcmp(kv->key, "labels") && strcmp(kv->key, "labels-regex") &&
             strcmp(kv->key, "env") && strcmp(kv->key, "env-regex"))
      return berth_err_set(err, BERTH_EINVAL, 0, "unknown log opt '%s' for journald log driver",
                           kv->key);
  }
  return 0;
}

static int j_validate(void *drv, const struct berth_kv *opts, size_t n, struct berth_err *err) {
  (void)drv;
  const char *tag = NULL;
  return check_opts(opts, n, &tag, err);
}

/* ---------------- writing (berth-shim) ---------------- */

struct jsink {
  int fd;
  struct sockaddr_un sa;
  char *fixed; /* the fields every entry of this container carries */
  size_t fixed_len;
};

/* "KEY=value\n" with any newline in value dropped: journald's simple form */
static void add_field(char *buf, size_t cap, size_t *len, const char *key, const char *value) {
  int n = snprintf(buf + *len, cap - *len, "%s=", key);
  if (n < 0 || (size_t)n >= cap - *len) return;
  *len += (size_t)n;
  for (const char *v = value ? value : ""; *v && *len + 2 < cap; v++)
    if (*v != '\n') buf[(*len)++] = *v;
  buf[(*len)++] = '\n';
}

static int j_open(void *drv, const struct berth_log_info *info, void **out, struct berth_err *err) {
  struct jdrv *d = drv;
  const char *tmpl = "{{.ID}}";
  int r = check_opts(info->opts, info->n_opts, &tmpl, err);
  if (r < 0) return r;
  struct jsink *s = calloc(1, sizeof *s);
  char tag[256], *fixed = malloc(4096);
  if (!s || !fixed) {
    free(s), free(fixed);
    return berth_err_set(err, BERTH_EINTERNAL, ENOMEM, "out of memory");
  }
  logopt_tag(tmpl, info, tag, sizeof tag);
  size_t len = 0;
  char id12[13];
  snprintf(id12, sizeof id12, "%.12s", info->container_id ? info->container_id : "");
  add_field(fixed, 4096, &len, "CONTAINER_ID", id12);
  add_field(fixed, 4096, &len, "CONTAINER_ID_FULL", info->container_id);
  add_field(fixed, 4096, &len, "CONTAINER_NAME", info->container_name);
  add_field(fixed, 4096, &len, "CONTAINER_TAG", tag);
  add_field(fixed, 4096, &len, "IMAGE_NAME", info->image_name);
  add_field(fixed, 4096, &len, "SYSLOG_IDENTIFIER", tag);
  s->fixed = fixed, s->fixed_len = len;
  s->sa.sun_family = AF_UNIX;
  snprintf(s->sa.sun_path, sizeof s->sa.sun_path, "%s", d->conf.socket);
  s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s->fd < 0) {
    int e = errno;
    free(s->fixed), free(s);
    return berth_err_set(err, BERTH_EINTERNAL, e, "journald: socket: %s", strerror(e));
  }
  *out = s;
  return 0;
}

/* MESSAGE in journald's binary-safe form: "MESSAGE\n", a little-endian
 * 64-bit length, the bytes, "\n" */
static int j_log(void *sink, const struct berth_log_msg *m, struct berth_err *err) {
  struct jsink *s = sink;
  char prio[16];
  int pl = snprintf(prio, sizeof prio, "PRIORITY=%d\n", m->stream == BERTH_STREAM_STDERR ? 3 : 6);
  uint64_t n = m->len;
  unsigned char le[8];
  for (int i = 0; i < 8; i++)
    le[i] = (unsigned char)(n >> (8 * i));
  struct iovec iov[] = {{s->fixed, s->fixed_len},  {prio, (size_t)pl}, {"MESSAGE\n", 8}, {le, 8},
                        {(void *)m->line, m->len}, {"\n", 1}};
  struct msghdr mh = {.msg_name = &s->sa,
                      .msg_namelen = sizeof s->sa,
                      .msg_iov = iov,
                      .msg_iovlen = sizeof iov / sizeof iov[0]};
  if (sendmsg(s->fd, &mh, MSG_NOSIGNAL) < 0)
    return berth_err_set(err, BERTH_EUNAVAILABLE, errno, "journald: send: %s", strerror(errno));
  return 0;
}

static int j_close(void *sink, struct berth_err *err) {
  struct jsink *s = sink;
  (void)err;
  close(s->fd);
  free(s->fixed);
  free(s);
  return 0;
}

static const struct berth_logger_ops j_ops = {
    .struct_size = sizeof(struct berth_logger_ops),
    .open = j_open,
    .log = j_log,
    .close = j_close,
    .validate_opts = j_validate,
};

BERTH_PLUGIN(journald, .kind = BERTH_KIND_LOGGER, .name = "journald", .version = "1.0.0",
             .description = "systemd-journald, over its native protocol",
             .flags = BERTH_PLUGIN_F_THREADSAFE, .init = j_init, .fini = j_fini, .ops = &j_ops);
