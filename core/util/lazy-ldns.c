/* ldns, opened at the first DNS question a container asks berthd's
 * embedded server (core/network/dns.c): the functions it calls, each with
 * its prototype from ldns/ldns.h (lazylib.h says why and how).  With it
 * stays out libcrypto, which ldns links. */
#include <errno.h>
#include <ldns/ldns.h>

#include "lazylib.h"

struct lazylib lazy_libldns = {LDNS_SONAME, "the embedded DNS server", NULL, ""};
#define L lazy_libldns

LAZYLIB_NEW(L, ldns_pkt *, ldns_pkt_new, (void), ())
LAZYLIB_FN(L, ldns_status, ldns_wire2pkt, (ldns_pkt * *p, const uint8_t *data, size_t len),
           (p, data, len))
LAZYLIB_FN(L, ldns_status, ldns_pkt2wire, (uint8_t * *dest, const ldns_pkt *p, size_t *size),
           (dest, p, size))
LAZYLIB_VOID(L, ldns_pkt_free, (ldns_pkt * p), (p))

LAZYLIB_FN(L, uint16_t, ldns_pkt_id, (const ldns_pkt *p), (p))
LAZYLIB_FN(L, bool, ldns_pkt_qr, (const ldns_pkt *p), (p))
LAZYLIB_FN(L, bool, ldns_pkt_rd, (const ldns_pkt *p), (p))
LAZYLIB_FN(L, uint16_t, ldns_pkt_qdcount, (const ldns_pkt *p), (p))
LAZYLIB_FN(L, ldns_pkt_opcode, ldns_pkt_get_opcode, (const ldns_pkt *p), (p))
LAZYLIB_FN(L, ldns_rr_list *, ldns_pkt_question, (const ldns_pkt *p), (p))
LAZYLIB_VOID(L, ldns_pkt_set_id, (ldns_pkt * p, uint16_t id), (p, id))
LAZYLIB_VOID(L, ldns_pkt_set_qr, (ldns_pkt * p, bool b), (p, b))
LAZYLIB_VOID(L, ldns_pkt_set_aa, (ldns_pkt * p, bool b), (p, b))
LAZYLIB_VOID(L, ldns_pkt_set_rd, (ldns_pkt * p, bool b), (p, b))
LAZYLIB_VOID(L, ldns_pkt_set_ra, (ldns_pkt * p, bool b), (p, b))
LAZYLIB_VOID(L, ldns_pkt_set_rcode, (ldns_pkt * p, uint8_t c), (p, c))
LAZYLIB_FN(L, bool, ldns_pkt_push_rr, (ldns_pkt * p, ldns_pkt_section s, ldns_rr *rr), (p, s, rr))

LAZYLIB_FN(L, ldns_rr *, ldns_rr_list_rr, (const ldns_rr_list *l, size_t nr), (l, nr))
LAZYLIB_FN(L, ldns_rr *, ldns_rr_clone, (const ldns_rr *rr), (rr))
LAZYLIB_FN(L, ldns_rdf *, ldns_rr_owner, (const ldns_rr *rr), (rr))
LAZYLIB_FN(L, ldns_rr_class, ldns_rr_get_class, (const ldns_rr *rr), (rr))
LAZYLIB_FN(L, ldns_rr_type, ldns_rr_get_type, (const ldns_rr *rr), (rr))
LAZYLIB_FN(L, char *, ldns_rdf2str, (const ldns_rdf *rdf), (rdf))
LAZYLIB_FN(L, ldns_status, ldns_rr_new_frm_str,
           (ldns_rr * *n, const char *str, uint32_t ttl, const ldns_rdf *origin, ldns_rdf **prev),
           (n, str, ttl, origin, prev))
