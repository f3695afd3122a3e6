#pragma once

namespace geo {

// Shape is the base of all shapes.
class Shape {
public:
    virtual ~Shape() = default;
    // area returns the surface.
    virtual double area() const = 0;
};

class Square : public Shape {
public:
    explicit Square(double s) : s_(s) {}
    double area() const override;
private:
    double s_;
};

}  // namespace geo
