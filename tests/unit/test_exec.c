/* The exec table (core/container/exec.c): lookups, references, the 409s,
 * trimming of finished records, freeing on container removal, and
 * creates racing lookups from many threads (exec_get used to read the
 * array unlocked while exec_create reallocated it). */
#include <pthread.h>

#include "../../core/container/container.h"
#include "../../core/container/exec.h"
#include "tap.h"

static struct container *fake_container(enum ctr_status st) {
  struct container *c = xcalloc(1, sizeof *c);
  random_hex(c->id, 32);
  c->name = xstrdup("/fake");
  c->status = st;
  c->refs = 1;
  return c;
}

static struct exec_opts opts(json_t *cmd) {
  return (struct exec_opts){.cmd = cmd, .user = "nobody", .attach_stdout = true};
}

static void test_refusals(json_t *cmd) {
  struct exec_opts o = opts(cmd);
  char id[65];
  struct berth_err err = {0};
  struct container *c = fake_container(CTR_EXITED);
  ok(exec_create(c, &o, id, &err) == -BERTH_ECONFLICT, "a stopped container: 409");
  contains(err.msg, "is not running", "docker's message: %s", err.msg);
  ok(c->refs == 1, "a refused exec keeps no reference");
  c->status = CTR_PAUSED;
  ok(exec_create(c, &o, id, &err) == -BERTH_ECONFLICT, "a paused container: 409");
  contains(err.msg, "is paused, unpause the container before exec", "docker's message: %s",
           err.msg);
  c->removed = true;
  ctr_put(c);
}

static void test_lookup(json_t *cmd) {
  struct container *c = fake_container(CTR_RUNNING);
  struct exec_opts o = opts(cmd);
  char id[65];
  struct berth_err err = {0};
  ok(exec_create(c, &o, id, &err) == 0 && strlen(id) == 64, "created: %s", id);
  ok(c->refs == 2, "the exec holds a reference to its container");
  struct exec_proc *e = exec_get(id);
  ok(e && !strcmp(e->id, id), "found by full id");
  char prefix[13];
  memcpy(prefix, id, 12);
  prefix[12] = 0;
  struct exec_proc *p = exec_get(prefix);
  ok(p == e, "found by a 12-character prefix");
  prefix[5] = 0;
  ok(!exec_get(prefix), "a 5-character prefix is not enough");
  ok(!exec_get("nosuchexec"), "an unknown id: NULL (404)");
  json_t *j = exec_inspect_json(e);
  ok(json_is_null(json_object_get(j, "ExitCode")), "inspect before start: ExitCode null");
  ok(json_is_false(json_object_get(j, "Running")), "inspect: not running");
  is_str(json_string_value(json_object_get(json_object_get(j, "ProcessConfig"), "entrypoint")),
         "echo", "inspect: entrypoint");
  is_str(json_string_value(json_object_get(j, "ContainerID")), c->id, "inspect: ContainerID");
  json_decref(j);
  exec_put(p);
  exec_forget_container(c);
  ok(exec_count() == 0, "removing the container takes its execs out of the table");
  ok(c->refs == 2, "a record still referenced (by a session) keeps its container");
  exec_put(e);
  ok(c->refs == 1, "the last put frees the record and its container reference");
  c->removed = true;
  ctr_put(c);
}

static void test_trim(json_t *cmd) {
  struct container *c = fake_container(CTR_RUNNING);
  struct exec_opts o = opts(cmd);
  char id[65];
  struct berth_err err = {0};
  for (int i = 0; i < EXEC_KEEP_DONE + 20; i++) {
    exec_create(c, &o, id, &err);
    struct exec_proc *e = exec_get(id);
    e->state = EXEC_DONE; /* as exec_finish leaves it */
    exec_put(e);
  }
  exec_create(c, &o, id, &err); /* a create trims */
  ok(exec_count() == EXEC_KEEP_DONE + 1,
     "at most %d finished execs are kept per container, besides unfinished ones (%zu)",
     EXEC_KEEP_DONE, exec_count());
  ok(c->refs == 2 + EXEC_KEEP_DONE, "trimmed records gave their container reference back");
  struct exec_proc *last = exec_get(id);
  ok(last && last->state == EXEC_CREATED, "the unfinished one is kept");
  exec_put(last);
  exec_forget_container(c);
  ok(exec_count() == 0 && c->refs == 1, "all gone with the container");
  c->removed = true;
  ctr_put(c);
}

struct racer {
  struct container *c;
  json_t *cmd;
  int found;
};

static void *race(void *p) {
  struct racer *r = p;
  struct exec_opts o = opts(r->cmd);
  char id[65];
  struct berth_err err = {0};
  for (int i = 0; i < 300; i++) {
    if (exec_create(r->c, &o, id, &err) < 0) continue;
    struct exec_proc *e = exec_get(id);
    if (e && !strcmp(e->id, id)) r->found++;
    exec_put(e);
  }
  return NULL;
}

static void test_race(json_t *cmd) {
  struct container *c = fake_container(CTR_RUNNING);
  struct racer r[6];
  pthread_t t[6];
  for (int i = 0; i < 6; i++) {
    r[i] = (struct racer){c, cmd, 0};
    pthread_create(&t[i], NULL, race, &r[i]);
  }
  int found = 0;
  for (int i = 0; i < 6; i++) {
    pthread_join(t[i], NULL);
    found += r[i].found;
  }
  ok(found == 1800, "6 threads x 300 creates: every exec found by its id (%d)", found);
  ok(exec_count() == 1800 && c->refs == 1801, "the table holds all of them");
  exec_forget_container(c);
  ok(exec_count() == 0 && c->refs == 1, "and frees all of them");
  c->removed = true;
  ctr_put(c);
}

int main(void) {
  json_t *cmd = json_pack("[s,s]", "echo", "hi");
  test_refusals(cmd);
  test_lookup(cmd);
  test_trim(cmd);
  test_race(cmd);
  json_decref(cmd);
  return done();
}
