// poet classify: ImageNet labels for images, as classify_image.py prints them.
#include "cli/common.h"

namespace poet::cli {

int classify(Args args) { fail("classify: not built yet"); }

}  // namespace poet::cli
