/* The typed container config (core/container/config.c) and the create
 * body's type checks (validate.c): every docker 400 message for bad
 * Config/HostConfig values, and the typed fields read back. */
#include "../../core/container/config.h"
#include "../../core/container/container.h"
#include "tap.h"

/* the create path without a daemon: type checks, then the values */
static struct ctr_opts *parse(const char *text, struct berth_err *err) {
  json_t *body = json_loads(text, 0, NULL);
  if (!body) return NULL;
  struct ctr_opts *o = NULL;
  if (ctr_validate_create(body, err) == 0) {
    json_t *hc = json_object_get(body, "HostConfig");
    o = ctr_opts_parse(body, json_is_object(hc) ? hc : NULL, err);
  }
  json_decref(body);
  return o;
}

struct bad {
  const char *body, *message;
};

static const struct bad bad[] = {
    {"{\"Image\":\"x\",\"WorkingDir\":\"rel/dir\"}",
     "the working directory 'rel/dir' is invalid, it needs to be an absolute path"},
    {"{\"Image\":\"x\",\"Hostname\":"
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
     "longer than 63 characters"},
    {"{\"Image\":\"x\",\"StopSignal\":\"SIGNOPE\"}", "Invalid signal: SIGNOPE"},
    {"{\"Image\":\"x\",\"Tty\":\"yes\"}",
     "json: cannot unmarshal string into Go struct field Config.Tty of type bool"},
    {"{\"Image\":\"x\",\"HostConfig\":[]}",
     "json: cannot unmarshal array into Go struct field .HostConfig of type container.HostConfig"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"Memory\":1024}}", "Minimum memory limit allowed is 6MB"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"Memory\":67108864,\"MemorySwap\":1048576}}",
     "Minimum memoryswap limit should be larger than memory limit, see usage"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"NanoCpus\":999000000000}}",
     "Range of CPUs is from 0.01 to"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"CpuShares\":-1}}",
     "invalid CPU shares: must be a positive number"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"NanoCpus\":1000000000,\"CpuQuota\":50000}}",
     "Conflicting options: Nano CPUs and CPU Quota cannot both be set"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"NanoCpus\":1000000000,\"CpuPeriod\":50000}}",
     "Conflicting options: Nano CPUs and CPU Period cannot both be set"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"sometimes\"}}}",
     "invalid restart policy 'sometimes'"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"on-failure\","
     "\"MaximumRetryCount\":-2}}}",
     "maximum retry count cannot be negative"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"always\","
     "\"MaximumRetryCount\":3}}}",
     "maximum retry count cannot be used with restart policy 'always'"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":7}}}",
     "json: cannot unmarshal number into Go struct field RestartPolicy.Name of type string"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"AutoRemove\":true,\"RestartPolicy\":{\"Name\":\"always\"}}"
     "}",
     "can't create 'AutoRemove' container with restart policy"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"CapAdd\":[\"NET_FLY\"]}}",
     "invalid CapAdd: unknown capability: \"NET_FLY\""},
    {"{\"Image\":\"x\",\"HostConfig\":{\"CapDrop\":[\"CAP_NOPE\"]}}",
     "invalid CapDrop: unknown capability: \"CAP_NOPE\""},
    {"{\"Image\":\"x\",\"HostConfig\":{\"SecurityOpt\":[\"apparmor-maybe\"]}}",
     "invalid --security-opt: apparmor-maybe"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"SecurityOpt\":[\"no-new-privileges-please\"]}}",
     "invalid --security-opt: no-new-privileges-please"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"/src\"]}}",
     "invalid volume specification: '/src'"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"named:data\"]}}",
     "mount path must be absolute"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"named:/data:rox\"]}}", "invalid mode: rox"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"a:/d\",\"b:/d\"]}}",
     "Duplicate mount point: /d"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"Tmpfs\":{\"run\":\"\"}}}",
     "invalid mount path: 'run' mount path must be absolute"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\"}]}}",
     "mount path must be absolute"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"npipe\",\"Target\":\"/x\"}]}}",
     "mount type unknown"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"rel\","
     "\"Target\":\"/x\"}]}}",
     "mount path must be absolute"},
    {"{\"Image\":\"x\",\"HostConfig\":{\"Memory\":\"1g\"}}",
     "json: cannot unmarshal string into Go struct field HostConfig.Memory of type int64"},
};

static void test_bad(void) {
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    struct berth_err err = {0};
    struct ctr_opts *o = parse(bad[i].body, &err);
    ok(!o && (err.code == BERTH_EINVAL || err.code == BERTH_ENOTSUP || err.code == BERTH_ENOTFOUND),
       "refused (%d): %.60s", err.code, bad[i].body);
    contains(err.msg, bad[i].message, "docker's message: %s", err.msg);
    ctr_opts_put(o);
  }
}

static void test_good(void) {
  struct berth_err err = {0};
  struct ctr_opts *o = parse(
      "{\"Image\":\"busybox\",\"Hostname\":\"h1\",\"User\":\"nobody\",\"WorkingDir\":\"/w\","
      "\"Env\":[\"A=1\",\"NOVALUE\",\"B=2\"],\"Cmd\":\"echo hi\",\"Tty\":true,\"OpenStdin\":true,"
      "\"StopSignal\":\"SIGUSR1\",\"StopTimeout\":3,\"Labels\":{\"k\":\"v\"},"
      "\"HostConfig\":{\"NetworkMode\":\"host\",\"RestartPolicy\":{\"Name\":\"on-failure\","
      "\"MaximumRetryCount\":4},\"Binds\":[\"/src:/dst:ro\",\"/a:/b\"],\"Tmpfs\":{\"/run\":"
      "\"size=1m\"},\"CapAdd\":[\"NET_ADMIN\"],\"CapDrop\":[\"ALL\"],\"SecurityOpt\":["
      "\"no-new-privileges:true\",\"seccomp=unconfined\"],\"Memory\":67108864,\"CpuQuota\":"
      "50000,\"CpuPeriod\":100000,\"PidsLimit\":50,\"CpusetCpus\":\"0\",\"LogConfig\":{\"Type\":"
      "\"none\"},\"Init\":true,\"Privileged\":false}}",
      &err);
  ok(o != NULL, "a full valid body parses: %s", err.msg);
  if (!o) return;
  is_str(o->hostname, "h1", "Hostname");
  is_str(o->user, "nobody", "User");
  is_str(o->workdir, "/w", "WorkingDir");
  ok(o->n_env == 2 && !strcmp(o->env[0], "A=1") && !strcmp(o->env[1], "B=2"),
     "Env without the value-less NOVALUE (docker drops it)");
  ok(o->n_cmd == 1 && !strcmp(o->cmd[0], "echo hi"), "a string Cmd is one element (strslice)");
  ok(o->tty && o->open_stdin && !o->stdin_once, "Tty, OpenStdin, StdinOnce");
  ok(o->stop_signal == 10 && o->stop_timeout == 3, "StopSignal SIGUSR1 = 10, StopTimeout 3");
  is_str(json_string_value(json_object_get(o->labels, "k")), "v", "Labels");
  is_str(o->network_mode, "host", "NetworkMode");
  ok(o->restart == RESTART_ON_FAILURE && o->restart_max == 4, "RestartPolicy on-failure:4");
  ok(o->n_binds == 2 && !strcmp(o->binds[0].source, "/src") &&
         !strcmp(o->binds[0].target, "/dst") && o->binds[0].readonly && !o->binds[1].readonly,
     "Binds split, :ro read");
  ok(o->n_tmpfs == 1 && !strcmp(o->tmpfs[0].target, "/run") &&
         !strcmp(o->tmpfs[0].options, "size=1m"),
     "Tmpfs");
  ok(o->n_cap_add == 1 && o->n_cap_drop == 1, "CapAdd, CapDrop");
  ok(o->no_new_privs && !o->seccomp && !o->seccomp_profile,
     "SecurityOpt: no-new-privileges:true and seccomp=unconfined, matched exactly");
  ok(o->res.memory == 67108864 && o->res.cpu_quota == 50000 && o->res.pids_limit == 50 &&
         !strcmp(o->res.cpuset_cpus, "0"),
     "resources");
  is_str(o->log_type, "none", "LogConfig.Type");
  ok(o->init && !o->privileged, "Init, Privileged");
  size_t n;
  char *extra[] = {"B=3", "C=4", "PATH=/custom"};
  char **env = ctr_env(o, extra, 3, "/home/nobody", false, &n);
  ok(n == 6 && !strcmp(env[0], "PATH=/custom") && !strcmp(env[1], "HOSTNAME=h1") &&
         !strcmp(env[2], "A=1") && !strcmp(env[3], "B=3") && !strcmp(env[4], "C=4") &&
         !strcmp(env[5], "HOME=/home/nobody"),
     "an exec's env, in docker's order: PATH (-e's, in its place), HOSTNAME, the container's "
     "with -e over them in place, then HOME");
  ok(!env[6], "no TERM without a tty, NULL-terminated (n=%zu)", n);
  ctr_env_free(env, n);
  ctr_opts_put(o);
}

static void test_defaults(void) {
  struct berth_err err = {0};
  struct ctr_opts *o = parse("{\"Image\":\"x\",\"Cmd\":[\"true\"]}", &err);
  ok(o != NULL, "a minimal body parses");
  if (!o) return;
  ok(o->restart == RESTART_NO && !o->auto_remove && o->seccomp && !o->no_new_privs,
     "defaults: no restart, seccomp on, no no_new_privs (docker sets it only on request)");
  ok(o->stop_signal == 15 && o->stop_timeout == -1, "defaults: SIGTERM, the request's timeout");
  ok(!*o->network_mode && !*o->log_type, "defaults: the daemon's network and log driver");
  size_t n;
  char **env = ctr_env(o, NULL, 0, NULL, true, &n);
  ok(n == 4 && str_has_prefix(env[0], "PATH=/usr/local/sbin") &&
         str_has_prefix(env[1], "HOSTNAME=") && !strcmp(env[2], "TERM=xterm") &&
         !strcmp(env[3], "HOME=/"),
     "a start's env: PATH first, HOSTNAME, TERM=xterm with a tty, HOME last (/ with no passwd "
     "entry: runc's)");
  ctr_env_free(env, n);
  json_t *hc =
      json_pack("{s:I,s:{s:s}}", "Memory", (json_int_t)67108864, "RestartPolicy", "Name", "always");
  json_t *body = json_pack("{s:I,s:s,s:{s:s}}", "Memory", (json_int_t)0, "CpusetCpus", "1",
                           "RestartPolicy", "Name", "no");
  json_t *nhc = ctr_hostconfig_update(hc, body, &err);
  ok(nhc && json_integer_value(json_object_get(nhc, "Memory")) == 67108864,
     "update: a 0 leaves the value as it was");
  is_str(json_string_value(json_object_get(nhc, "CpusetCpus")), "1", "update: CpusetCpus set");
  is_str(json_string_value(json_object_get(json_object_get(nhc, "RestartPolicy"), "Name")), "no",
         "update: RestartPolicy replaced");
  json_decref(nhc);
  json_decref(body);
  body = json_pack("{s:s}", "Memory", "lots");
  ok(!ctr_hostconfig_update(hc, body, &err), "update: a string Memory is refused");
  contains(err.msg, "cannot unmarshal string into Go struct field UpdateConfig.Memory", "%s",
           err.msg);
  json_decref(body);
  json_decref(hc);
  ctr_opts_put(o);
}

int main(void) {
  test_bad();
  test_good();
  test_defaults();
  return done();
}
