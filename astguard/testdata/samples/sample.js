import { readFile } from "fs";

// Shape has an area.
class Rect {
  constructor(w, h) {
    this.w = w;
    this.h = h;
  }

  area() {
    return this.w * this.h;
  }
}

/* block comment with { brace */
function describe(shapes) {
  const out = [];
  for (const [i, s] of shapes.entries()) {
    if (s.area() > 10) {
      out.push(`${i}: big ${JSON.stringify({ w: s.w })}`);
    } else {
      out.push('small'.replace(/[(]/g, ""));
    }
  }
  const f = (x) => x * 2;
  return out.join("\n") + f(3);
}

export { Rect, describe, readFile };
