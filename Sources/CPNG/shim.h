// libpng (Debian package libpng-dev), used through its simplified API only
// (png_image_begin_read_from_memory / png_image_finish_read / png_image_write_to_memory), which
// reports errors in png_image.message and a return value instead of longjmp.
#include <png.h>
