import { render } from './app';

export default function View() {
  return <div>{render(1)}</div>;
}
