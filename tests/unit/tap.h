/* Minimal TAP for berth's C unit tests: ok(cond, name), then done(). */
#ifndef BERTH_TAP_H
#define BERTH_TAP_H
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                                              \
  do {                                                                                             \
    int ok_ = !!(cond);                                                                            \
    tap_n++;                                                                                       \
    if (ok_) {                                                                                     \
      printf("ok %d - ", tap_n);                                                                   \
    } else {                                                                                       \
      tap_failed++;                                                                                \
      printf("not ok %d - ", tap_n);                                                               \
    }                                                                                              \
    printf(__VA_ARGS__);                                                                           \
    printf("\n");                                                                                  \
    if (!ok_) printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                      \
  } while (0)

#define is_str(got, want, ...)                                                                     \
  do {                                                                                             \
    const char *g_ = (got), *w_ = (want);                                                          \
    ok(g_ &&w_ && !strcmp(g_, w_), __VA_ARGS__);                                                   \
    if (!(g_ && w_ && !strcmp(g_, w_)))                                                            \
      printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_);                                 \
  } while (0)

#define contains(got, needle, ...)                                                                 \
  do {                                                                                             \
    const char *g_ = (got);                                                                        \
    ok(g_ &&strstr(g_, needle), __VA_ARGS__);                                                      \
    if (!(g_ && strstr(g_, needle)))                                                               \
      printf("#   '%s' does not contain '%s'\n", g_ ? g_ : "(null)", needle);                      \
  } while (0)

static inline int done(void) {
  printf("1..%d\n", tap_n);
  return tap_failed ? 1 : 0;
}
#endif
