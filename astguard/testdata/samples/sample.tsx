import React from "react";

interface Props {
  items: string[];
  title?: string;
}

// List renders items.
export function List({ items, title }: Props): JSX.Element {
  const count: number = items.length;
  return (
    <div className="list">
      <h1>{title ?? `Items (${count})`}</h1>
      <ul>
        {items.map((item, i) => (
          <li key={i}>{item}</li>
        ))}
      </ul>
    </div>
  );
}

export default List;
