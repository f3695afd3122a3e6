using System;
using System.Collections.Generic;

namespace Sample
{
    // Shape has an area.
    public interface IShape
    {
        double Area();
    }

    public class Rect : IShape
    {
        private readonly double w, h;

        public Rect(double w, double h)
        {
            this.w = w;
            this.h = h;
        }

        public double Area() => w * h;
    }

    public static class Describer
    {
        public static string Describe(List<IShape> shapes)
        {
            var outList = new List<string>();
            for (int i = 0; i < shapes.Count; i++)
            {
                if (shapes[i].Area() > 10)
                {
                    outList.Add($"{i}: big");
                }
                else
                {
                    outList.Add(@"small ""verbatim"" \d" + 'x');
                }
            }
            return string.Join("\n", outList);
        }
    }
}
