import { readFile } from "fs";

interface Shape {
  area(): number;
}

// Rect has an area.
class Rect implements Shape {
  constructor(private w: number, private h: number) {}

  area(): number {
    return this.w * this.h;
  }
}

type Pair<T> = [T, T];

function describe<T extends Shape>(shapes: T[]): string {
  const out: string[] = [];
  for (const [i, s] of shapes.entries()) {
    if (s.area() > 10) {
      out.push(`${i}: big ${JSON.stringify({ a: s.area() })}`);
    } else {
      out.push("small");
    }
  }
  const p: Pair<number> = [1, 2];
  return out.join("\n") + p[0];
}

export { Rect, describe, readFile };
