#include "fault.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

__thread struct fault_mark fault_cur;
static const char *fault_who = "berth";

static void put(const char *s) {
  if (s && write(2, s, strlen(s)) < 0) {
  }
}

static void fault_handler(int sig) {
  char num[4] = {(char)('0' + sig / 10 % 10), (char)('0' + sig % 10), 0, 0};
  put(fault_who);
  put(": fatal signal ");
  put(sig >= 10 ? num : num + 1);
  if (fault_cur.driver) {
    put(" in the ");
    put(fault_cur.kind);
    put(" driver '");
    put(fault_cur.driver);
    put("', op ");
    put(fault_cur.op);
    put(": the driver crashed ");
    put(fault_who);
  } else {
    put(" (not inside a driver op)");
  }
  put("\n");
  raise(sig);
}

void fault_install(const char *who) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  (void)who;
  (void)fault_handler;
#else
  fault_who = who;
  struct sigaction sa = {.sa_handler = fault_handler, .sa_flags = SA_RESETHAND | SA_NODEFER};
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction(sigs[i], &sa, NULL);
#endif
}
