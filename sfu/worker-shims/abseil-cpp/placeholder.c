/* Object for the placeholder static library that mediasoup link_whole()s into a target it never builds. */
int trupp_shim_placeholder_abseil_cpp;
