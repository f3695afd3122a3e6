#include <iostream>
#include <string>
#include <vector>

namespace sample {

// Shape has an area.
class Shape {
 public:
  virtual ~Shape() = default;
  virtual double Area() const = 0;
};

class Rect : public Shape {
 public:
  Rect(double w, double h) : w_(w), h_(h) {}
  double Area() const override { return w_ * h_; }

 private:
  double w_, h_;
};

template <typename T>
std::string Describe(const std::vector<T*>& shapes) {
  std::string out;
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (shapes[i]->Area() > 10) {
      out += std::to_string(i) + ": big\n";
    } else {
      out += R"(small "raw" (x))";
    }
  }
  auto twice = [](int x) { return x * 2; };
  return out + std::to_string(twice(1'000));
}

}  // namespace sample
