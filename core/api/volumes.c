/* /volumes: parse, call core/volume (and the containers for who uses a
 * volume), render. */
#include "../container/container.h"
#include "../util/filters.h"
#include "../volume/volume.h"
#include "routes.h"

static int create(struct api_request *req) {
  json_t *body = api_body_json(req);
  if (!body) return 0;
  struct berth_err err = {0};
  struct vol_create_req r = {api_field(body, "Name"), api_field(body, "Driver"), NULL, NULL};
  int rc = api_string_map(body, "DriverOpts", &r.opts, &err);
  if (rc == 0) rc = api_string_map(body, "Labels", &r.labels, &err);
  bool created = false;
  json_t *v = rc == 0 ? vol_create(req->d, &r, &created, &err) : NULL;
  json_decref(body);
  return v ? api_reply_json(req, 201, v) : api_reply_err(req, &err);
}

static int list(struct api_request *req) {
  struct berth_err err = {0};
  struct filters f;
  json_t *j = filters_parse(api_query(req, "filters"), &f, &err) == 0
                  ? vol_list(req->d, &f, ctr_volume_in_use, &err)
                  : NULL;
  filters_free(&f);
  return j ? api_reply_json(req, 200, j) : api_reply_err(req, &err);
}

static int inspect(struct api_request *req) {
  struct berth_err err = {0};
  json_t *j = vol_inspect(req->d, api_param(req, 0), &err);
  return j ? api_reply_json(req, 200, j) : api_reply_err(req, &err);
}

static int remove_(struct api_request *req) {
  struct berth_err err = {0};
  const char *name = api_param(req, 0);
  json_t *users = ctr_volume_users(name);
  int rc = vol_remove(req->d, name, api_query_bool(req, "force", false), users, &err);
  json_decref(users);
  return rc < 0 ? api_reply_err(req, &err) : api_reply_empty(req, 204);
}

static int prune(struct api_request *req) {
  struct berth_err err = {0};
  struct filters f;
  json_t *j = filters_parse(api_query(req, "filters"), &f, &err) == 0
                  ? vol_prune(req->d, &f, ctr_volume_in_use, &err)
                  : NULL;
  filters_free(&f);
  return j ? api_reply_json(req, 200, j) : api_reply_err(req, &err);
}

const struct api_route volume_routes[] = {
    {"GET", "/volumes", list, BODY_BUFFER, NULL},
    {"POST", "/volumes/create", create, BODY_BUFFER, NULL},
    {"POST", "/volumes/prune", prune, BODY_BUFFER, NULL},
    {"GET", "/volumes/{id}", inspect, BODY_BUFFER, NULL},
    {"DELETE", "/volumes/{id}", remove_, BODY_BUFFER, NULL},
};
const size_t n_volume_routes = ARRAY_SIZE(volume_routes);
