/* attach: a client's socket joined to the container's stdio through its
 * shim (ATTACH), with docker's detach keys; an attach made before start
 * is registered so the start waits for it to reach the shim. */
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "../daemon.h"
#include "../shim/client.h"
#include "../shim/protocol.h"
#include "config.h"
#include "container.h"
#include "stream.h"

struct ctr_attach {
  struct daemon *d;
  struct container *c;
  int mask;
  bool tty;
  unsigned char keys[16];
  size_t n_keys;
  /* registered before the 101 (so before the client can send start): the
   * start waits for this attach to reach the shim */
  bool pending;
  uint64_t gen; /* the shim generation to wait past */
};

/* Before replying 101: an attach to a container whose shim is not up yet
 * waits for the next one, and the start waits for it. */
static void attach_register(struct ctr_attach *a) {
  struct container *c = a->c;
  ctr_lock();
  if (!c->shim_ready &&
      (c->status == CTR_CREATED || c->status == CTR_EXITED || c->status == CTR_RESTARTING)) {
    a->pending = true;
    a->gen = c->shim_gen;
    c->pending_attach++;
  }
  ctr_unlock();
}

static void attach_unregister_locked(struct ctr_attach *a) {
  if (!a->pending) return;
  a->pending = false;
  a->c->pending_attach--;
  ctr_broadcast();
}

void ctr_attach_free(void *p) {
  struct ctr_attach *a = p;
  ctr_lock();
  attach_unregister_locked(a);
  ctr_unlock();
  ctr_put(a->c);
  free(a);
}

/* "ctrl-p,ctrl-q" -> bytes; false if invalid */
struct stdin_pump {
  int sock, shim;
  const unsigned char *keys;
  size_t n_keys;
  bool detached;
  const char *extra;
  size_t extra_len;
};

static bool flush_stdin(struct stdin_pump *p, const unsigned char *out, size_t o) {
  return !o || shim_send_frame(p->shim, SHIM_F_STDIN, out, (uint32_t)o) == 0;
}

/* Forward stdin to the shim; detach keys are held back until they can no
 * longer match.  false: stop reading (detached or shim gone). */
size_t detach_scan(struct detach_match *m, const unsigned char *in, size_t n, unsigned char *out,
                   bool *hit) {
  size_t o = 0;
  *hit = false;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = in[i];
    if (m->n_keys) {
      if (ch == m->keys[m->matched]) {
        if (++m->matched == m->n_keys) {
          *hit = true;
          return o;
        }
        continue;
      }
      if (m->matched) {
        memcpy(out + o, m->keys, m->matched);
        o += m->matched;
        m->matched = 0;
        if (ch == m->keys[0]) {
          m->matched = 1;
          continue;
        }
      }
    }
    out[o++] = ch;
  }
  return o;
}

static bool forward_stdin(struct stdin_pump *p, const unsigned char *buf, size_t n,
                          struct detach_match *m) {
  unsigned char out[32768 + 32];
  bool hit;
  size_t o = detach_scan(m, buf, n, out, &hit);
  bool ok = flush_stdin(p, out, o);
  if (hit) p->detached = true;
  return ok && !hit;
}

static void *stdin_thread(void *arg) {
  struct stdin_pump *p = arg;
  struct detach_match m = {.n_keys = p->n_keys};
  memcpy(m.keys, p->keys, p->n_keys);
  bool ok = true;
  const unsigned char *x = (const unsigned char *)p->extra;
  for (size_t off = 0; ok && off < p->extra_len; off += 32768) /* chunks fit forward's buffer */
    ok = forward_stdin(p, x + off, p->extra_len - off < 32768 ? p->extra_len - off : 32768, &m);
  unsigned char buf[32768];
  while (ok) {
    ssize_t n = read(p->sock, buf, sizeof buf);
    if (n <= 0) break;
    ok = forward_stdin(p, buf, (size_t)n, &m);
  }
  if (!p->detached) {
    shim_send_frame(p->shim, SHIM_F_STDIN_CLOSE, NULL, 0);
  } else {
    shutdown(p->shim, SHUT_RDWR); /* ends the output loop too */
  }
  return NULL;
}

/* Connect to the container's shim, waiting for start if need be. -1: the
 * container is not going to run. */
static int connect_shim(struct ctr_attach *a) {
  struct container *c = a->c;
  char cmd[32];
  snprintf(cmd, sizeof cmd, "ATTACH %d\n", a->mask);
  ctr_lock();
  if (!a->pending) {
    bool up = c->shim_ready;
    ctr_unlock();
    if (!up) return -1;
    cleanup_free char *sock = ctr_socket(a->d, c->id);
    return shim_connect(sock, cmd);
  }
  while (c->shim_gen == a->gen && !c->removed && !ctr_stopping)
    ctr_wait(1000);
  cleanup_free char *sock = ctr_socket(a->d, c->id);
  int fd = c->removed || ctr_stopping ? -1 : shim_connect(sock, cmd);
  attach_unregister_locked(a);
  ctr_unlock();
  return fd;
}

/* Waits for the shim's next frame; false once the client is gone for good
 * (hung up, or its socket shut down by berthd's stop): a quiet container
 * would otherwise hold the session until its next output. */
static bool client_here(int sock, int shim) {
  struct pollfd p[2] = {{shim, POLLIN, 0}, {sock, 0, 0}};
  while (poll(p, 2, -1) < 0)
    if (errno != EINTR) return true;
  return !(p[1].revents & POLLHUP);
}

void ctr_attach_run(int sock, const char *extra, size_t extra_len, void *p) {
  struct ctr_attach *a = p;
  int shim = connect_shim(a);
  if (shim < 0) {
    shutdown(sock, SHUT_WR);
    return;
  }
  struct stdin_pump pump = {sock, shim, a->keys, a->n_keys, false, extra, extra_len};
  pthread_t t;
  bool have_stdin =
      (a->mask & SHIM_ATTACH_STDIN) && pthread_create(&t, NULL, stdin_thread, &pump) == 0;
  unsigned char h[8];
  char *buf = xmalloc(65536);
  uint32_t len;
  while (client_here(sock, shim) && shim_read_frame(shim, h, buf, 65536, &len) == 1 &&
         h[0] != SHIM_F_EXIT) {
    if (a->tty) {
      if (write_all_fd(sock, buf, len) < 0) break;
    } else if (write_all_fd(sock, h, 8) < 0 || write_all_fd(sock, buf, len) < 0) {
      break;
    }
  }
  free(buf);
  shutdown(sock, SHUT_WR);
  if (have_stdin) {
    shutdown(sock, SHUT_RD);
    pthread_join(t, NULL);
  }
  close(shim);
}

struct ctr_attach *ctr_attach_new(struct daemon *d, struct container *c, bool in, bool out,
                                  bool err, const char *keys, struct berth_err *e) {
  struct ctr_attach *a = xcalloc(1, sizeof *a);
  a->d = d;
  a->c = c;
  struct ctr_opts *o = ctr_opts_get(c);
  a->tty = o->tty;
  bool open_stdin = o->open_stdin;
  ctr_opts_put(o);
  a->mask = (in && open_stdin ? SHIM_ATTACH_STDIN : 0) | (out ? SHIM_ATTACH_STDOUT : 0) |
            (err ? SHIM_ATTACH_STDERR : 0);
  if (!parse_detach_keys(keys && *keys ? keys : "ctrl-p,ctrl-q", a->keys, &a->n_keys)) {
    berth_err_set(e, BERTH_EINVAL, 0, "Invalid detach keys (%s) provided", keys);
    a->c = NULL; /* the caller keeps its reference */
    free(a);
    return NULL;
  }
  attach_register(a);
  ctr_event(c, "attach", NULL);
  return a;
}

void ctr_resize(struct daemon *d, struct container *c, int h, int w) {
  cleanup_free char *sock = ctr_socket(d, c->id);
  shim_resize(sock, h, w);
  char hs[16], ws[16];
  snprintf(hs, sizeof hs, "%d", h);
  snprintf(ws, sizeof ws, "%d", w);
  ctr_event(c, "resize", json_pack("{s:s,s:s}", "height", hs, "width", ws));
}

bool ctr_attach_tty(const struct ctr_attach *a) {
  return a->tty;
}
