/* sha256 through nettle, which berthd maps anyway (libmicrohttpd's GnuTLS
 * links it) and which uses the CPU's SHA extensions where it has them
 * (1.5 GB/s here, libcrypto 1.7).  libcrypto was 1.6 MiB of an idle
 * berthd's memory for these few calls.  Apart from util.c so that the
 * programs that never hash (berth-shim, the CLI) do not map it.
 *
 * util.h's opaque struct sha256_ctx is nettle's own; nettle's header
 * names its functions through macros (sha256_update -> nettle_...), one
 * of which is ours too: undone here, nettle's called by their own names. */
#include "util.h"

#include <nettle/sha2.h>
#undef sha256_update

static void to_hex(struct sha256_ctx *c, char out[65]) {
  static const char hex[] = "0123456789abcdef";
  uint8_t md[SHA256_DIGEST_SIZE];
  nettle_sha256_digest(c, sizeof md, md);
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[64] = 0;
}

struct sha256_ctx *sha256_new(void) {
  struct sha256_ctx *c = xmalloc(sizeof *c);
  nettle_sha256_init(c);
  return c;
}
void sha256_update(struct sha256_ctx *c, const void *data, size_t len) {
  nettle_sha256_update(c, len, data);
}
void sha256_final_hex(struct sha256_ctx *c, char out[65]) {
  to_hex(c, out);
  sha256_free(c);
}
void sha256_free(struct sha256_ctx *c) {
  free(c);
}
void sha256_hex(const void *data, size_t len, char out[65]) {
  struct sha256_ctx c;
  nettle_sha256_init(&c);
  nettle_sha256_update(&c, len, data);
  to_hex(&c, out);
}
