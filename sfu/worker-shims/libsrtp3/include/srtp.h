/*
 * libsrtp 3.0 API on top of Debian's libsrtp 2.5, for the calls mediasoup 3.19 makes.
 * libsrtp 3 takes separate input/output buffers with size_t lengths; libsrtp 2 works in
 * place with int lengths. Each adapter copies the input to the output buffer (when they
 * differ), checks the bounds libsrtp 3 would check, and calls the in-place function.
 */
#ifndef TRUPP_LIBSRTP3_ADAPTER_H
#define TRUPP_LIBSRTP3_ADAPTER_H

#include <srtp2/srtp.h>

#ifdef __cplusplus
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>

/* Status codes that only exist in libsrtp 3; libsrtp 2 never returns them. */
constexpr srtp_err_status_t srtp_err_status_buffer_small = static_cast<srtp_err_status_t>(200);
constexpr srtp_err_status_t srtp_err_status_cryptex_err = static_cast<srtp_err_status_t>(201);

namespace trupp_srtp_adapter {
using InPlace = srtp_err_status_t (*)(srtp_t, void *, int *);

inline srtp_err_status_t run(InPlace fn, srtp_t ctx, const uint8_t *in, size_t inLen,
                             uint8_t *out, size_t *outLen, size_t trailer) {
  if (inLen > static_cast<size_t>(INT_MAX) - trailer || *outLen < inLen + trailer)
    return srtp_err_status_buffer_small;
  if (out != in) std::memmove(out, in, inLen);
  int len = static_cast<int>(inLen);
  const srtp_err_status_t err = fn(ctx, out, &len);
  if (err == srtp_err_status_ok) *outLen = static_cast<size_t>(len);
  return err;
}
} // namespace trupp_srtp_adapter

inline srtp_err_status_t srtp_protect(srtp_t ctx, const uint8_t *rtp, size_t rtpLen,
                                      uint8_t *srtp, size_t *srtpLen, size_t mkiIndex) {
  if (mkiIndex != 0) return srtp_err_status_bad_param;
  return trupp_srtp_adapter::run(srtp_protect, ctx, rtp, rtpLen, srtp, srtpLen,
                                 SRTP_MAX_TRAILER_LEN);
}

inline srtp_err_status_t srtp_protect_rtcp(srtp_t ctx, const uint8_t *rtcp, size_t rtcpLen,
                                           uint8_t *srtcp, size_t *srtcpLen, size_t mkiIndex) {
  if (mkiIndex != 0) return srtp_err_status_bad_param;
  return trupp_srtp_adapter::run(srtp_protect_rtcp, ctx, rtcp, rtcpLen, srtcp, srtcpLen,
                                 SRTP_MAX_TRAILER_LEN);
}

inline srtp_err_status_t srtp_unprotect(srtp_t ctx, const uint8_t *srtp, size_t srtpLen,
                                        uint8_t *rtp, size_t *rtpLen) {
  return trupp_srtp_adapter::run(srtp_unprotect, ctx, srtp, srtpLen, rtp, rtpLen, 0);
}

inline srtp_err_status_t srtp_unprotect_rtcp(srtp_t ctx, const uint8_t *srtcp, size_t srtcpLen,
                                             uint8_t *rtcp, size_t *rtcpLen) {
  return trupp_srtp_adapter::run(srtp_unprotect_rtcp, ctx, srtcp, srtcpLen, rtcp, rtcpLen, 0);
}

inline srtp_err_status_t srtp_stream_remove(srtp_t ctx, uint32_t ssrc) {
  return srtp_remove_stream(ctx, ssrc);
}
#endif /* __cplusplus */

#endif /* TRUPP_LIBSRTP3_ADAPTER_H */
