/*
 * Interposes OpenSSL's BIO_ctrl() for the mediasoup worker built against Debian's libssl.
 * mediasoup's DTLS BIO answers 1 to every control command, so libssl takes the kTLS
 * queries below as "kTLS is active" and leaves its record write buffer unallocated.
 * Answering 0 for exactly those two commands keeps libssl on the normal path; every other
 * call goes to the real function, looked up once.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/bio.h>
#include <stddef.h>

typedef long (*bio_ctrl_fn)(BIO *, int, long, void *);

long BIO_ctrl(BIO *bio, int cmd, long larg, void *parg) {
  static bio_ctrl_fn real_bio_ctrl = NULL;
#ifdef BIO_CTRL_GET_KTLS_SEND
  if (cmd == BIO_CTRL_GET_KTLS_SEND) return 0;
#endif
#ifdef BIO_CTRL_GET_KTLS_RECV
  if (cmd == BIO_CTRL_GET_KTLS_RECV) return 0;
#endif
  if (real_bio_ctrl == NULL) {
    real_bio_ctrl = (bio_ctrl_fn)dlsym(RTLD_NEXT, "BIO_ctrl");
    if (real_bio_ctrl == NULL) return 0;
  }
  return real_bio_ctrl(bio, cmd, larg, parg);
}
