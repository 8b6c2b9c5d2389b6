// Minimal typing of js-yaml (present through mocha, which depends on it) for the tests that parse generated YAML.
// If @types/js-yaml is added as a devDependency, delete this file.
declare module "js-yaml" {
  export function load(text: string): unknown;
  const jsYaml: { load: typeof load };
  export default jsYaml;
}
