/* The route tables, one per resource file of core/api/. */
#ifndef BERTH_API_ROUTES_H
#define BERTH_API_ROUTES_H

#include "api.h"

extern const struct api_route system_routes[];
extern const size_t n_system_routes;
extern const struct api_route registry_routes[];
extern const size_t n_registry_routes;
extern const struct api_route image_routes[];
extern const size_t n_image_routes;
extern const struct api_route container_routes[];
extern const size_t n_container_routes;
extern const struct api_route network_routes[];
extern const size_t n_network_routes;
extern const struct api_route volume_routes[];
extern const size_t n_volume_routes;
extern const struct api_route swarm_routes[];
extern const size_t n_swarm_routes;
extern const struct api_route build_routes[];
extern const size_t n_build_routes;
extern const struct api_route archive_routes[];
extern const size_t n_archive_routes;
extern const struct api_route exec_routes[];
extern const size_t n_exec_routes;
extern const struct api_route event_routes[];
extern const size_t n_event_routes;

#endif
