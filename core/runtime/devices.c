/* Which device nodes a container may use: docker's default allowlist, as
 * devices.allow lines on cgroup v1 and as an eBPF program
 * (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the container's cgroup on v2,
 * which has no devices files.  One table serves both. */
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "cgroup.h"

#define ANY (-1)
#define ACC_RWM (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

static const struct rt_dev_rule rules[] = {
    {'c', ANY, ANY, BPF_DEVCG_ACC_MKNOD}, /* mknod of any node; using it is another matter */
    {'b', ANY, ANY, BPF_DEVCG_ACC_MKNOD},
    {'c', 1, 3, ACC_RWM},     /* null */
    {'c', 1, 5, ACC_RWM},     /* zero */
    {'c', 1, 7, ACC_RWM},     /* full */
    {'c', 1, 8, ACC_RWM},     /* random */
    {'c', 1, 9, ACC_RWM},     /* urandom */
    {'c', 5, 0, ACC_RWM},     /* tty */
    {'c', 5, 1, ACC_RWM},     /* console */
    {'c', 5, 2, ACC_RWM},     /* ptmx */
    {'c', 136, ANY, ACC_RWM}, /* pts */
    {'c', 10, 200, ACC_RWM},  /* net/tun */
};

const struct rt_dev_rule *rt_default_dev_rules(size_t *n) {
  *n = ARRAY_SIZE(rules);
  return rules;
}

struct rt_dev_rule *rt_dev_rules(json_t *extra, size_t *n) {
  size_t nd;
  const struct rt_dev_rule *def = rt_default_dev_rules(&nd);
  struct rt_dev_rule *all = xcalloc(nd + json_array_size(extra), sizeof *all);
  memcpy(all, def, nd * sizeof *all);
  *n = nd;
  size_t i;
  json_t *r;
  json_array_foreach(extra, i, r) {
    const char *t = json_string_value(json_object_get(r, "type")) ?: "";
    const char *acc = json_string_value(json_object_get(r, "access")) ?: "";
    if (!strchr("abc", *t) || !*t) continue;
    all[*n] = (struct rt_dev_rule){*t, (int)json_integer_value(json_object_get(r, "major")),
                                   (int)json_integer_value(json_object_get(r, "minor")), 0};
    all[*n].access = (strchr(acc, 'r') ? BPF_DEVCG_ACC_READ : 0) |
                     (strchr(acc, 'w') ? BPF_DEVCG_ACC_WRITE : 0) |
                     (strchr(acc, 'm') ? BPF_DEVCG_ACC_MKNOD : 0);
    (*n)++;
  }
  return all;
}

void rt_dev_rule_text(const struct rt_dev_rule *r, char *buf, size_t len) {
  char maj[16] = "*", min[16] = "*";
  if (r->major != ANY) snprintf(maj, sizeof maj, "%d", r->major);
  if (r->minor != ANY) snprintf(min, sizeof min, "%d", r->minor);
  snprintf(buf, len, "%c %s:%s %s%s%s", r->type, maj, min,
           r->access & BPF_DEVCG_ACC_READ ? "r" : "", r->access & BPF_DEVCG_ACC_WRITE ? "w" : "",
           r->access & BPF_DEVCG_ACC_MKNOD ? "m" : "");
}

/* ---- the eBPF program ----
 * r2 = access_type; r3 = device type (low 16 bits); r4 = access (high 16);
 * r5 = major; r6 = minor.  Each rule is a block that jumps to the next one
 * on a mismatch and returns 1 (allow) at its end; after the last, 0. */

#define INSN(c, d, s, o, i)                                                                        \
  ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static size_t rule_len(const struct rt_dev_rule *r) {
  return (r->type != 'a') + 3 + (r->major != ANY) + (r->minor != ANY) + 2;
}

static size_t emit_rule(struct bpf_insn *p, const struct rt_dev_rule *r) {
  size_t n = 0;
  short skip = (short)(rule_len(r) - 1); /* from the first insn, to the next rule */
  int type = r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
  if (r->type != 'a')
    p[n] = INSN(BPF_JMP | BPF_JNE | BPF_K, 3, 0, (short)(skip - (short)n), type), n++;
  /* access asked for must be a subset of the rule's */
  p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, 7, 4, 0, 0);
  p[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, 7, 0, 0, ~(int)r->access & 0xffff);
  p[n] = INSN(BPF_JMP | BPF_JNE | BPF_K, 7, 0, (short)(skip - (short)n), 0), n++;
  if (r->major != ANY)
    p[n] = INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, (short)(skip - (short)n), r->major), n++;
  if (r->minor != ANY)
    p[n] = INSN(BPF_JMP | BPF_JNE | BPF_K, 6, 0, (short)(skip - (short)n), r->minor), n++;
  p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
  p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return n;
}

int rt_devfilter_attach(int cgroup_fd, const struct rt_dev_rule *r, size_t n_rules,
                        struct berth_err *err) {
  size_t n = 7 + 2; /* the loads, then the final deny */
  for (size_t i = 0; i < n_rules; i++)
    n += rule_len(&r[i]);
  cleanup_free struct bpf_insn *prog = xcalloc(n, sizeof *prog);
  size_t k = 0;
  prog[k++] =
      INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
  prog[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0);
  prog[k++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, 3, 0, 0, 0xffff);
  prog[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0);
  prog[k++] = INSN(BPF_ALU64 | BPF_RSH | BPF_K, 4, 0, 0, 16);
  prog[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 5, 1, offsetof(struct bpf_cgroup_dev_ctx, major), 0);
  prog[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, 6, 1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
  for (size_t i = 0; i < n_rules; i++)
    k += emit_rule(&prog[k], &r[i]);
  prog[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
  prog[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  union bpf_attr load = {0};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = (uint64_t)(uintptr_t)prog;
  load.insn_cnt = (uint32_t)k;
  load.license = (uint64_t)(uintptr_t) "GPL";
  int pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
  if (pfd < 0 && errno != EPERM) {
    /* again with the verifier's log, for the message */
    int e = errno;
    cleanup_free char *log = xcalloc(1, 65536);
    load.log_buf = (uint64_t)(uintptr_t)log;
    load.log_size = 65536;
    load.log_level = 1;
    pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
    if (pfd < 0) {
      size_t l = strlen(log);
      return err_sys_(err, BERTH_EINTERNAL, e, "load the device filter (eBPF): %.300s",
                      l > 300 ? log + l - 300 : log);
    }
  }
  if (pfd < 0) return err_sys(err, BERTH_EINTERNAL, "load the device filter (eBPF)");
  union bpf_attr att = {0};
  att.target_fd = (uint32_t)cgroup_fd;
  att.attach_bpf_fd = (uint32_t)pfd;
  att.attach_type = BPF_CGROUP_DEVICE;
  int r2 = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &att, sizeof att);
  int e = errno;
  close(pfd); /* the attachment keeps the program */
  if (r2 < 0) return err_sys_(err, BERTH_EINTERNAL, e, "attach the device filter (eBPF)");
  return 0;
}
