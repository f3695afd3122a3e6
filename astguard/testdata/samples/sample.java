package sample;

import java.util.ArrayList;
import java.util.List;

/** Shapes with areas. */
public class Sample {
    interface Shape {
        double area();
    }

    static final class Rect implements Shape {
        private final double w, h;

        Rect(double w, double h) {
            this.w = w;
            this.h = h;
        }

        @Override
        public double area() {
            return w * h;
        }
    }

    static String describe(List<Shape> shapes) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) {
            Shape s = shapes.get(i);
            if (s.area() > 10) {
                out.add(i + ": big " + s + '!');
            } else {
                out.add("small \"quoted\"");
            }
        }
        return String.join("\n", out);
    }
}
