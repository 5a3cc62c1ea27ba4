/* Every type of the plugin ABI, reachable from one exported function, so
 * that abidw records them all: tests/abi/check.sh compares the ABI of a
 * header set against the committed baselines (1.0 to 1.3). */
#include <berth/logger.h>
#include <berth/network.h>
#include <berth/plugin.h>
#include <berth/registry.h>
#include <berth/storage.h>
#if __has_include(<berth/volume.h>)
#include <berth/volume.h> /* since 1.1 */
#endif

struct berth_abi_all {
  struct berth_plugin *plugin;
  struct berth_host *host;
  struct berth_err *err;
  struct berth_kv *kv;
  struct berth_buf *buf;
  struct berth_reader *reader;
  struct berth_writer *writer;
  struct berth_conf_key *conf_key;
  struct berth_storage_ops *storage_ops;
  struct berth_storage_create_req *storage_create_req;
  struct berth_network_ops *network_ops;
  struct berth_net_create_req *net_create_req;
  struct berth_endpoint_req *endpoint_req;
  struct berth_join_info *join_info;
  struct berth_port_binding *port_binding;
  struct berth_logger_ops *logger_ops;
  struct berth_log_msg *log_msg;
  struct berth_log_info *log_info;
  struct berth_log_read_cfg *log_read_cfg;
  struct berth_registry_ops *registry_ops;
  struct berth_reg_auth *reg_auth;
  struct berth_reg_target *reg_target;
  struct berth_reg_desc *reg_desc;
  enum berth_plugin_kind kind;
  enum berth_errcode code;
  enum berth_conf_type conf_type;
  enum berth_log_level level;
  enum berth_log_stream stream;
};

__attribute__((visibility("default"))) int berth_abi_all(struct berth_abi_all *all);
__attribute__((visibility("default"))) int berth_abi_all(struct berth_abi_all *all) {
  return all != 0;
}

#ifdef BERTH_VOLUME_H
/* since 1.1: the types a minor added, through a function of their own (the
 * carrier struct above is not part of the ABI: growing it would read as a
 * change to the 1.0 types) */
struct berth_abi_1_1 {
  struct berth_volume_ops *volume_ops;
  struct berth_volume_create_req *volume_create_req;
};
__attribute__((visibility("default"))) int berth_abi_1_1(struct berth_abi_1_1 *all);
__attribute__((visibility("default"))) int berth_abi_1_1(struct berth_abi_1_1 *all) {
  return all != 0;
}
#endif

#if BERTH_ABI_MINOR >= 3
/* since 1.3: the id mapping of storage's mount_idmapped */
struct berth_abi_1_3 {
  struct berth_storage_idmap *storage_idmap;
};
__attribute__((visibility("default"))) int berth_abi_1_3(struct berth_abi_1_3 *all);
__attribute__((visibility("default"))) int berth_abi_1_3(struct berth_abi_1_3 *all) {
  return all != 0;
}
#endif
