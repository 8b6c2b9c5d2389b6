/**
 * The pages' small shared floor (browser only): building elements without innerHTML (text from a credential or a
 * server never becomes markup), and Korean-first messages with English beside them.
 */
export type Child = Node | string | null | undefined | false;

/** `h("p", { class: "verdict" }, "text", child)`: attributes are set as attributes, children as text or nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

/** Replaces the children of `parent`. */
export function render(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

export type Language = "ko" | "en";
export type Messages<K extends string> = Record<Language, Record<K, string>>;

/** Korean first; English when the page's `lang` toggle or the browser asks for it. */
export function languageOf(preferred: readonly string[] = navigator.languages): Language {
  const stored = localStorage.getItem("mcid.lang");
  if (stored === "ko" || stored === "en") return stored;
  return preferred[0]?.toLowerCase().startsWith("en") === true ? "en" : "ko";
}

export function translator<K extends string>(messages: Messages<K>, language: Language): (key: K) => string {
  return (key) => messages[language][key];
}
