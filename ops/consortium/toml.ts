/** The two TOML value forms the node files use. */

export function tomlString(s: string): string {
  return JSON.stringify(s); // TOML basic strings use the same escapes as JSON for the characters we emit
}

export function tomlArray(items: readonly string[]): string {
  return `[${items.map(tomlString).join(",")}]`;
}
