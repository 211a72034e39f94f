// libjpeg-turbo's TurboJPEG API (Debian package libturbojpeg0-dev): tjDecompressHeader3 /
// tjDecompress2 / tjCompress2, which report errors by return value and tjGetErrorStr2.
#include <turbojpeg.h>
