#include "blobio.h"

#include <fcntl.h>
#include <zlib.h>

#define CHUNK 65536

struct layer_pipe {
  struct berth_reader src;
  struct berth_reader self;
  int blob_fd;
  bool plain; /* the blob is the tar itself (compressed when pushed) */
  bool gz;    /* input is gzip */
  bool detected;
  bool src_eof;
  z_stream in;
  unsigned char inbuf[CHUNK];
  size_t pending_off, pending_len; /* undecoded plain bytes read while detecting */
  z_stream out;
  unsigned char outbuf[CHUNK];
  struct sha256_ctx *diff, *blob;
  uint64_t tar_size, blob_size;
  int error; /* errno-like, 0 when fine */
  char errmsg[200];
};

static void fail(struct layer_pipe *p, int e, const char *what) {
  if (p->error) return;
  p->error = e ? e : EIO;
  snprintf(p->errmsg, sizeof p->errmsg, "%s", what);
}

static ssize_t src_read(struct layer_pipe *p, void *buf, size_t len) {
  if (p->src_eof) return 0;
  ssize_t n = p->src.read(p->src.ctx, buf, len);
  if (n == 0) p->src_eof = true;
  if (n < 0) fail(p, errno, "read layer");
  return n;
}

static int blob_write(struct layer_pipe *p, const void *data, size_t len) {
  const char *c = data;
  if (p->blob_fd < 0) return 0; /* the compressed blob is kept as it came */
  sha256_update(p->blob, data, len);
  p->blob_size += len;
  while (len) {
    ssize_t n = write(p->blob_fd, c, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(p, errno, "write layer blob");
      return -1;
    }
    c += n;
    len -= (size_t)n;
  }
  return 0;
}

static void deflate_feed(struct layer_pipe *p, const void *data, size_t len, int flush) {
  p->out.next_in = (unsigned char *)data;
  p->out.avail_in = (unsigned)len;
  do {
    p->out.next_out = p->outbuf;
    p->out.avail_out = CHUNK;
    deflate(&p->out, flush);
    size_t have = CHUNK - p->out.avail_out;
    if (have && blob_write(p, p->outbuf, have) < 0) return;
  } while (p->out.avail_out == 0);
}

static void detect(struct layer_pipe *p) {
  p->detected = true;
  size_t have = 0;
  while (have < 4) {
    ssize_t n = src_read(p, p->inbuf + have, CHUNK - have);
    if (n <= 0) break;
    have += (size_t)n;
  }
  if (have >= 4 && p->inbuf[0] == 0x28 && p->inbuf[1] == 0xb5 && p->inbuf[2] == 0x2f &&
      p->inbuf[3] == 0xfd) {
    fail(p, ENOTSUP, "zstd-compressed layers are not supported; use gzip or plain tar");
    return;
  }
  if (have >= 2 && p->inbuf[0] == 0x1f && p->inbuf[1] == 0x8b) {
    p->gz = true;
    p->in.next_in = p->inbuf;
    p->in.avail_in = (unsigned)have;
  } else {
    p->pending_off = 0;
    p->pending_len = have;
  }
}

static ssize_t pipe_read(void *ctx, void *buf, size_t len) {
  struct layer_pipe *p = ctx;
  if (!p->detected) detect(p);
  if (p->error) {
    errno = p->error;
    return -1;
  }
  ssize_t n = 0;
  if (!p->gz) {
    if (p->pending_len) {
      n = (ssize_t)(p->pending_len < len ? p->pending_len : len);
      memcpy(buf, p->inbuf + p->pending_off, (size_t)n);
      p->pending_off += (size_t)n;
      p->pending_len -= (size_t)n;
    } else {
      n = src_read(p, buf, len);
    }
  } else {
    p->in.next_out = buf;
    p->in.avail_out = (unsigned)len;
    while (p->in.avail_out == len) {
      if (p->in.avail_in == 0) {
        ssize_t r = src_read(p, p->inbuf, CHUNK);
        if (r < 0) break;
        if (r == 0) break;
        p->in.next_in = p->inbuf;
        p->in.avail_in = (unsigned)r;
      }
      int z = inflate(&p->in, Z_NO_FLUSH);
      if (z == Z_STREAM_END) {
        if (p->in.avail_in == 0 && p->src_eof) break;
        inflateReset(&p->in); /* concatenated gzip members */
      } else if (z != Z_OK && z != Z_BUF_ERROR) {
        fail(p, EINVAL, "corrupt gzip layer");
        break;
      }
    }
    n = (ssize_t)(len - p->in.avail_out);
  }
  if (p->error) {
    errno = p->error;
    return -1;
  }
  if (n > 0) {
    sha256_update(p->diff, buf, (size_t)n);
    p->tar_size += (uint64_t)n;
    if (p->blob_fd >= 0 && !p->plain) deflate_feed(p, buf, (size_t)n, Z_NO_FLUSH);
    if (p->blob_fd >= 0 && p->plain) blob_write(p, buf, (size_t)n);
  }
  return n;
}

struct layer_pipe *layer_pipe_new(struct berth_reader *src, int blob_fd, bool plain) {
  struct layer_pipe *p = xcalloc(1, sizeof *p);
  p->src = *src;
  p->blob_fd = blob_fd;
  p->plain = plain;
  p->self.ctx = p;
  p->self.read = pipe_read;
  if (inflateInit2(&p->in, 15 + 32) != Z_OK) abort();
  /* Level 1: layers are re-compressed at import time; speed matters more. */
  if (deflateInit2(&p->out, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
  p->diff = sha256_new();
  p->blob = sha256_new();
  return p;
}

struct berth_reader *layer_pipe_reader(struct layer_pipe *p) {
  return &p->self;
}

int layer_pipe_finish(struct layer_pipe *p, char diff_id[DIGEST_LEN + 1],
                      char blob_digest[DIGEST_LEN + 1], uint64_t *tar_size, uint64_t *blob_size,
                      struct berth_err *err) {
  char buf[CHUNK];
  while (pipe_read(p, buf, sizeof buf) > 0) {
  }
  if (!p->error && p->blob_fd >= 0 && !p->plain) deflate_feed(p, NULL, 0, Z_FINISH);
  if (!p->error && p->blob_fd >= 0 && fsync(p->blob_fd) < 0) fail(p, errno, "fsync layer blob");
  if (p->error)
    return berth_err_set(err, p->error == ENOTSUP ? BERTH_ENOTSUP : BERTH_EINVAL, p->error,
                         "%s: %s", p->errmsg, strerror(p->error));
  char hex[65];
  sha256_final_hex(p->diff, hex);
  p->diff = NULL;
  snprintf(diff_id, DIGEST_LEN + 1, "sha256:%s", hex);
  sha256_final_hex(p->blob, hex);
  p->blob = NULL;
  snprintf(blob_digest, DIGEST_LEN + 1, "sha256:%s", hex);
  *tar_size = p->tar_size;
  *blob_size = p->blob_size;
  return 0;
}

void layer_pipe_free(struct layer_pipe *p) {
  if (!p) return;
  inflateEnd(&p->in);
  deflateEnd(&p->out);
  sha256_free(p->diff);
  sha256_free(p->blob);
  free(p);
}

static ssize_t gz_read_cb(void *ctx, void *buf, size_t len) {
  int n = gzread((gzFile)ctx, buf, (unsigned)(len > INT32_MAX ? INT32_MAX : len));
  if (n < 0) {
    errno = EIO;
    return -1;
  }
  return n;
}

struct berth_reader *gz_reader_open(const char *path) {
  gzFile f = gzopen(path, "rb");
  if (!f) return NULL;
  gzbuffer(f, CHUNK);
  struct berth_reader *r = xmalloc(sizeof *r);
  r->ctx = f;
  r->read = gz_read_cb;
  return r;
}

void gz_reader_free(struct berth_reader *r) {
  if (!r) return;
  gzclose((gzFile)r->ctx);
  free(r);
}

static ssize_t plain_read(void *ctx, void *buf, size_t len) {
  for (;;) {
    ssize_t n = read(*(int *)ctx, buf, len);
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

int gzip_file(const char *in, int out, char digest[DIGEST_LEN + 1], uint64_t *size,
              struct berth_err *err) {
  int fd = open(in, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err_sys(err, BERTH_EINTERNAL, "open %s", in);
  struct berth_reader src = BERTH_READER(&fd, plain_read);
  struct layer_pipe *p = layer_pipe_new(&src, out, false);
  char diff[DIGEST_LEN + 1];
  uint64_t tar_size;
  int r = layer_pipe_finish(p, diff, digest, &tar_size, size, err);
  layer_pipe_free(p);
  close(fd);
  return r;
}
