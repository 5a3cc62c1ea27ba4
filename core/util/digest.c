/* sha256 through libcrypto.  Apart from util.c so that the programs that
 * never hash (berth-shim, the CLI) do not map libcrypto: in an idle shim
 * it was most of the private memory. */
#include <openssl/evp.h>

#include "util.h"

struct sha256_ctx {
  EVP_MD_CTX *md;
};

struct sha256_ctx *sha256_new(void) {
  struct sha256_ctx *c = xmalloc(sizeof *c);
  c->md = EVP_MD_CTX_new();
  if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) abort();
  return c;
}
void sha256_update(struct sha256_ctx *c, const void *data, size_t len) {
  EVP_DigestUpdate(c->md, data, len);
}
void sha256_final_hex(struct sha256_ctx *c, char out[65]) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(c->md, md, &n);
  for (int i = 0; i < 32; i++)
    sprintf(out + 2 * i, "%02x", md[i]);
  out[64] = 0;
  sha256_free(c);
}
void sha256_free(struct sha256_ctx *c) {
  if (!c) return;
  EVP_MD_CTX_free(c->md);
  free(c);
}
void sha256_hex(const void *data, size_t len, char out[65]) {
  struct sha256_ctx *c = sha256_new();
  sha256_update(c, data, len);
  sha256_final_hex(c, out);
}
