import { add, PI } from './math';
import { greet, Greeter } from '@lib/greet';
import * as util from './util';
export { clamp } from './util/index.js';

const g = new Greeter();
console.log(greet("x"), add(1, PI), util.clamp(3, 0, 1), g);
