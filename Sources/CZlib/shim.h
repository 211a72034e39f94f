// zlib (Debian package zlib1g-dev): gzip and raw-deflate streams for IDX .gz files and .npz members.
#include <zlib.h>
