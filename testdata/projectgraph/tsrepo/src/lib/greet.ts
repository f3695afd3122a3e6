export class Greeter {
  greet(name: string): string {
    return `hello ${name}`;
  }
}

export function greet(name: string): string {
  return new Greeter().greet(name);
}
