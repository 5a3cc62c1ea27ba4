#include "fault.h"

#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

__thread struct fault_mark fault_cur;
static __thread int in_handler;
static const char *fault_who = "berth";

static void put(const char *s) {
  if (s && write(2, s, strlen(s)) < 0) {
  }
}

static uintptr_t fault_pc(void *uc_) {
  const ucontext_t *uc = uc_;
#if defined(__x86_64__)
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
  return (uintptr_t)uc->uc_mcontext.pc;
#else
  (void)uc;
  return 0; /* unknown: never contained */
#endif
}

static void die_of(int sig) {
  signal(sig, SIG_DFL);
  raise(sig);
}

static void fault_handler(int sig, siginfo_t *si, void *uc) {
  (void)si;
  struct fault_mark m = fault_cur;
  if (in_handler++) die_of(sig);
  char num[4] = {(char)('0' + sig / 10 % 10), (char)('0' + sig % 10), 0, 0};
  put(fault_who);
  put(": fatal signal ");
  put(sig >= 10 ? num : num + 1);
  if (!m.p) {
    put(" (not inside a driver op)\n");
    die_of(sig);
  }
  put(" in the ");
  put(m.kind);
  put(" driver '");
  put(m.driver);
  put("', op ");
  put(m.op);
  uintptr_t pc = fault_pc(uc);
  if (!m.jb || !pc || pc < m.p->text_lo || pc >= m.p->text_hi) {
    put(": the driver crashed ");
    put(fault_who);
    put(" (the fault is outside the driver's own code)\n");
    die_of(sig);
  }
  put(": the driver is disabled, ");
  put(fault_who);
  put(" goes on\n");
  __atomic_store_n(&m.p->faulted, 1, __ATOMIC_RELEASE);
  m.p->fault_op = m.op;
  m.p->fault_sig = sig;
  in_handler = 0;
  siglongjmp(*m.jb, 1);
}

void fault_install(const char *who) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  (void)who;
  (void)fault_handler;
#else
  fault_who = who;
  struct sigaction sa = {.sa_sigaction = fault_handler, .sa_flags = SA_SIGINFO | SA_NODEFER};
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction(sigs[i], &sa, NULL);
#endif
}

struct text_search {
  const char *file;
  uintptr_t lo, hi;
};

static int find_text(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  struct text_search *s = arg;
  if (!info->dlpi_name || strcmp(info->dlpi_name, s->file)) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (!s->lo || lo < s->lo) s->lo = lo;
    if (hi > s->hi) s->hi = hi;
  }
  return 1;
}

void fault_note_text(struct loaded_plugin *p, const void *entry) {
  Dl_info di;
  if (!dladdr(entry, &di) || !di.dli_fname) return;
  struct text_search s = {di.dli_fname, 0, 0};
  dl_iterate_phdr(find_text, &s);
  p->text_lo = s.lo;
  p->text_hi = s.hi;
}

int fault_refuse(struct loaded_plugin *p, struct berth_err *err) {
  return berth_err_set(err, BERTH_EUNAVAILABLE, 0,
                       "%s: the %s driver is disabled: it crashed (signal %d) in op %s; see the "
                       "log, and restart to use it again",
                       p->name, plugin_kind_name((int)p->desc.kind), p->fault_sig,
                       p->fault_op ? p->fault_op : "?");
}
