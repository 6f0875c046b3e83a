#ifndef CAMHOST_CGNUTLS_SHIM_H
#define CAMHOST_CGNUTLS_SHIM_H
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>
#include <gnutls/abstract.h>

/* gnutls_free is a macro-backed function pointer that does not import into Swift. */
static inline void cgnutls_free(void *p) { gnutls_free(p); }

/* GNUTLS_CURVE_TO_BITS is a macro. */
static inline unsigned int cgnutls_curve_to_bits(gnutls_ecc_curve_t curve) {
    return GNUTLS_CURVE_TO_BITS(curve);
}
#endif
