/* Raw HTTP on the daemon's socket beside client.c's one-shot requests: the
 * hijacked attach/exec streams (reference §3) and requests whose headers
 * must be seen before the body (wait, sent before start). */
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "cli.h"

int raw_connect(void) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", client_socket_path());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (fd >= 0) close(fd);
    fprintf(stderr, "Cannot connect to the berth daemon at %s. Is berthd running?\n",
            client_host());
    return -1;
  }
  return fd;
}

/* The head, and not a byte of the stream that follows it: what has come
 * is peeked at, and only the head is taken (a read a byte at a time made
 * ~250 system calls of an attach and a wait). */
static int read_head(int fd, char *buf, size_t len) {
  size_t got = 0;
  while (got < len - 1) {
    ssize_t n = recv(fd, buf + got, len - 1 - got, MSG_PEEK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    /* the end may straddle what was taken before and what is peeked now */
    size_t from = got >= 3 ? got - 3 : 0, end = 0;
    for (size_t i = from; i + 4 <= got + (size_t)n; i++)
      if (!memcmp(buf + i, "\r\n\r\n", 4)) {
        end = i + 4;
        break;
      }
    size_t take = end ? end - got : (size_t)n;
    ssize_t r;
    while ((r = read(fd, buf + got, take)) < 0 && errno == EINTR) {
    }
    if (r != (ssize_t)take) return -1;
    got += take;
    if (end) break;
  }
  buf[got] = 0;
  return 0;
}

static bool head_chunked;

int raw_send(int fd, const char *method, const char *path, json_t *body, bool upgrade) {
  cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : xstrdup("");
  cleanup_free char *req = xasprintf(
      "%s %s%s HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth-cli/%s\r\n"
      "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n%s",
      method, CLI_API_PREFIX, path, PACKAGE_VERSION, strlen(text),
      upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n", text);
  return write_all_fd(fd, req, strlen(req));
}

int raw_status(int fd) {
  char head[8192];
  if (read_head(fd, head, sizeof head) < 0) return -1;
  int status = 0;
  if (sscanf(head, "HTTP/1.%*d %d", &status) != 1) return -1;
  head_chunked = strcasestr(head, "\r\nTransfer-Encoding: chunked") != NULL;
  return status;
}

int raw_request(int fd, const char *method, const char *path, json_t *body, bool upgrade) {
  return raw_send(fd, method, path, body, upgrade) < 0 ? -1 : raw_status(fd);
}

char *raw_read_body(int fd, size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = xmalloc(cap);
  for (;;) {
    if (n + 4096 > cap) buf = xrealloc(buf, cap *= 2);
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  buf[n] = 0;
  if (head_chunked) {
    /* de-chunk in place */
    size_t in = 0, out = 0;
    while (in < n) {
      char *end;
      unsigned long sz = strtoul(buf + in, &end, 16);
      char *nl = strstr(end, "\r\n");
      if (!nl || sz == 0) break;
      in = (size_t)(nl + 2 - buf);
      if (in + sz > n) sz = n - in;
      memmove(buf + out, buf + in, sz);
      out += sz;
      in += sz + 2;
    }
    n = out;
    buf[n] = 0;
  }
  if (len) *len = n;
  return buf;
}

/* ---- the stream pump ---- */

static struct termios saved_tio;
static bool tio_saved;

static void restore_terminal(void) {
  if (tio_saved) tcsetattr(0, TCSANOW, &saved_tio);
  tio_saved = false;
}

void send_resize(const char *resize_path) {
  struct winsize ws;
  if (!resize_path || ioctl(1, TIOCGWINSZ, &ws) < 0 || !ws.ws_row) return;
  cleanup_free char *p = xasprintf("%s?h=%u&w=%u", resize_path, ws.ws_row, ws.ws_col);
  struct http_req req = {.method = "POST", .path = p, .upload_fd = -1};
  struct http_resp resp;
  if (http_do(&req, &resp) == 0) http_resp_free(&resp);
}

static void proxy_signal(const char *kill_path, int sig) {
  cleanup_free char *p = xasprintf("%s?signal=%d", kill_path, sig);
  struct http_req req = {.method = "POST", .path = p, .upload_fd = -1};
  struct http_resp resp;
  if (http_do(&req, &resp) == 0) http_resp_free(&resp);
}

/* Demultiplexes 8-byte framed output: [type,0,0,0,size BE32] payload. */
struct demux {
  unsigned char hdr[8];
  size_t hdr_got;
  uint32_t left;
  int out_fd;
};

static void demux_feed(struct demux *d, const char *p, size_t n) {
  while (n) {
    if (d->left == 0) {
      size_t take = 8 - d->hdr_got < n ? 8 - d->hdr_got : n;
      memcpy(d->hdr + d->hdr_got, p, take);
      d->hdr_got += take;
      p += take;
      n -= take;
      if (d->hdr_got < 8) return;
      d->hdr_got = 0;
      d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 | (uint32_t)d->hdr[6] << 8 |
                d->hdr[7];
      d->out_fd = d->hdr[0] == 2 ? 2 : 1;
      continue;
    }
    size_t take = d->left < n ? d->left : n;
    write_all_fd(d->out_fd, p, take);
    d->left -= (uint32_t)take;
    p += take;
    n -= take;
  }
}

int stream_hijacked(int fd, const struct stream_opts *o) {
  unsigned char keys[16];
  size_t n_keys = 0, matched = 0;
  if (o->tty && o->send_stdin)
    parse_detach_keys(o->detach_keys && *o->detach_keys ? o->detach_keys : "ctrl-p,ctrl-q", keys,
                      &n_keys);
  if (o->tty && o->send_stdin && isatty(0) && tcgetattr(0, &saved_tio) == 0) {
    struct termios raw = saved_tio;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST; /* keep \n -> \r\n for our own messages */
    tio_saved = tcsetattr(0, TCSANOW, &raw) == 0;
    atexit(restore_terminal);
  }
  sigset_t mask;
  sigemptyset(&mask);
  if (o->tty) sigaddset(&mask, SIGWINCH);
  if (o->kill_path && !o->tty) {
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
      sigaddset(&mask, sigs[i]);
  }
  sigset_t old;
  sigprocmask(SIG_BLOCK, &mask, &old);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  bool in_open = o->send_stdin;
  struct demux dm = {.out_fd = 1};
  int ret = 0;
  for (;;) {
    struct pollfd p[3] = {{fd, POLLIN, 0}, {in_open ? 0 : -1, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      ret = -1;
      break;
    }
    if (p[2].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH)
          send_resize(o->resize_path);
        else if (o->kill_path)
          proxy_signal(o->kill_path, (int)si.ssi_signo);
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[32768];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (o->tty)
        write_all_fd(1, buf, (size_t)n);
      else
        demux_feed(&dm, buf, (size_t)n);
    }
    if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      unsigned char buf[32768];
      ssize_t n = read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        in_open = false;
        shutdown(fd, SHUT_WR); /* stdin EOF for the container */
        continue;
      }
      if (!n_keys) {
        if (write_all_fd(fd, buf, (size_t)n) < 0) in_open = false;
        continue;
      }
      /* hold back a partial detach sequence until it can no longer match */
      unsigned char outb[sizeof buf + 16];
      size_t on = 0;
      bool detach = false;
      for (ssize_t i = 0; i < n && !detach; i++) {
        if (buf[i] == keys[matched]) {
          if (++matched == n_keys) detach = true;
          continue;
        }
        memcpy(outb + on, keys, matched);
        on += matched;
        matched = 0;
        if (buf[i] == keys[0])
          matched = 1;
        else
          outb[on++] = buf[i];
      }
      if (on) write_all_fd(fd, outb, on);
      if (detach) {
        ret = 1;
        break;
      }
    }
  }
  restore_terminal();
  close(sfd);
  sigprocmask(SIG_SETMASK, &old, NULL);
  return ret;
}
