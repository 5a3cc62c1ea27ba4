/* The network contract (include/berth/network.h): a network, an endpoint,
 * a join into a network namespace made here, published ports, and every
 * undo, each of them idempotent; what a join says to move exists on the
 * host and is gone after the endpoint is deleted. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define OPS(t) ((const struct berth_network_ops *)(t)->ops)

/* a process in a new network namespace, to join endpoints into */
static pid_t netns_holder(char *path, size_t len) {
  int ready[2];
  if (pipe(ready) < 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char ok = 'n';
  if (pid < 0 || read(ready[0], &ok, 1) != 1 || ok != 'y') {
    if (pid > 0) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
    pid = -1;
  }
  close(ready[0]);
  snprintf(path, len, "/proc/%d/ns/net", (int)pid);
  return pid;
}

static struct berth_net_create_req net_req(const char *id, int n) {
  struct berth_net_create_req r = {sizeof r, id, "berth-check", "", "", 0, 0, NULL, 0};
  snprintf(r.subnet, sizeof r.subnet, "10.%d.77.0/24", 200 + n);
  snprintf(r.gateway, sizeof r.gateway, "10.%d.77.1", 200 + n);
  return r;
}

static void test_join(struct target *t, const char *net, const char *ep, struct berth_err *e) {
  char ns[64];
  pid_t holder = netns_holder(ns, sizeof ns);
  chk_ok(holder > 0, "a network namespace to join (%s)", ns);
  if (holder <= 0) return;
  struct berth_join_info ji = {sizeof ji, "", "", "", 0};
  if (OPS(t)->join) {
    chk_ok(OP(t, "join", OPS(t)->join(t->drv, net, ep, ns, &ji, e)) == 0, "join (%s)", e->msg);
    if (ji.src_ifname[0])
      chk_ok(if_nametoindex(ji.src_ifname) > 0, "the interface it names, %s, is on the host",
             ji.src_ifname);
    chk_ok(OP(t, "join", OPS(t)->join(t->drv, net, ep, ns, &ji, e)) == 0, "join again is success");
  }
  if (OPS(t)->endpoint_info) {
    struct berth_buf b = {sizeof b, NULL, 0, 0};
    int r = OP(t, "endpoint_info", OPS(t)->endpoint_info(t->drv, net, ep, &b, e));
    char *s = chk_buf_str(&b);
    chk_ok(r == 0 && (!b.len || (strchr(s, '\t') && s[b.len - 1] == '\n')),
           "endpoint_info: \"key\\tvalue\\n\" rows");
    free(s);
    chk_buf_free(&b);
  }
  if (OPS(t)->publish) {
    struct berth_port_binding pb = {sizeof pb, 6, "127.0.0.1", 18080, 80, "10.200.77.2"};
    const struct berth_port_binding *ports[] = {&pb};
    chk_ok(OP(t, "publish", OPS(t)->publish(t->drv, net, ep, ports, 1, e)) == 0,
           "publish a port (%s)", e->msg);
    chk_ok(OP(t, "publish", OPS(t)->publish(t->drv, net, ep, ports, 1, e)) == 0,
           "the same ports again is success");
    chk_ok(OP(t, "publish", OPS(t)->publish(t->drv, net, ep, NULL, 0, e)) == 0, "unpublish");
  }
  if (OPS(t)->leave) {
    chk_ok(OP(t, "leave", OPS(t)->leave(t->drv, net, ep, e)) == 0, "leave (%s)", e->msg);
    chk_ok(OP(t, "leave", OPS(t)->leave(t->drv, net, ep, e)) == 0, "leave again is success");
  }
  kill(holder, SIGKILL);
  waitpid(holder, NULL, 0);
  if (OPS(t)->delete_endpoint) {
    chk_ok(OP(t, "delete_endpoint", OPS(t)->delete_endpoint(t->drv, net, ep, e)) == 0,
           "delete the endpoint (%s)", e->msg);
    chk_ok(OP(t, "delete_endpoint", OPS(t)->delete_endpoint(t->drv, net, ep, e)) == 0,
           "delete it again is success");
  }
  if (ji.src_ifname[0])
    chk_ok(if_nametoindex(ji.src_ifname) == 0, "%s is gone from the host", ji.src_ifname);
}

struct nworker {
  struct target *t;
  int n, failures;
};

static void *net_worker(void *arg) {
  struct nworker *w = arg;
  for (int i = 0; i < 5; i++) {
    char id[65];
    snprintf(id, sizeof id, "%064x", 0xbee000 + w->n * 10 + i);
    struct berth_net_create_req r = net_req(id, 10 + w->n);
    struct berth_err e = {0};
    if (OP(w->t, "create_network", OPS(w->t)->create_network(w->t->drv, &r, &e)) < 0 ||
        OP(w->t, "delete_network", OPS(w->t)->delete_network(w->t->drv, id, &e)) < 0)
      w->failures++;
  }
  return NULL;
}

int suite_network(struct target *t) {
  struct berth_err e = {0};
  const char *net = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
  const char *ep = "e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9e9";
  struct berth_net_create_req r = net_req(net, 0);
  chk_ok(OP(t, "create_network", OPS(t)->create_network(t->drv, &r, &e)) == 0,
         "create a network (%s)", e.msg);
  chk_ok(OP(t, "create_network", OPS(t)->create_network(t->drv, &r, &e)) == 0,
         "create it again is success");
  if (OPS(t)->create_endpoint) {
    struct berth_endpoint_req er = {sizeof er,           net,  ep, "10.200.77.2/24",
                                    "02:42:0a:c8:4d:02", NULL, 0};
    chk_ok(OP(t, "create_endpoint", OPS(t)->create_endpoint(t->drv, &er, &e)) == 0,
           "create an endpoint (%s)", e.msg);
    chk_ok(OP(t, "create_endpoint", OPS(t)->create_endpoint(t->drv, &er, &e)) == 0,
           "create it again is success");
  }
  test_join(t, net, ep, &e);
  if (OPS(t)->delete_endpoint)
    chk_ok(OP(t, "delete_endpoint", OPS(t)->delete_endpoint(t->drv, net, "nosuchendpoint", &e)) ==
               0,
           "deleting an unknown endpoint is success");
  chk_ok(OP(t, "delete_network", OPS(t)->delete_network(t->drv, net, &e)) == 0,
         "delete the network (%s)", e.msg);
  chk_ok(OP(t, "delete_network", OPS(t)->delete_network(t->drv, net, &e)) == 0,
         "delete it again is success");
  chk_ok(OP(t, "delete_network", OPS(t)->delete_network(t->drv, "nosuchnetwork", &e)) == 0,
         "deleting an unknown network is success");
  struct nworker w[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (struct nworker){t, i, 0};
    pthread_create(&th[i], NULL, net_worker, &w[i]);
  }
  int failures = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    failures += w[i].failures;
  }
  chk_ok(failures == 0, "4 threads creating and deleting networks at once: %d failed", failures);
  return 0;
}
