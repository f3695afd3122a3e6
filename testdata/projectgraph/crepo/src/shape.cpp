#include "shape.hpp"

namespace geo {

double Square::area() const { return s_ * s_; }

}  // namespace geo
