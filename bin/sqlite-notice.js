// The issuing server, wallet-side and verifier commands keep their state in node:sqlite, which Node 22 flags as
// experimental on every run; that notice is not for the operator. Every other warning still shows. Shared by the
// launcher (bin/mcid.js) and the CLI tests' one-file build of the same entry point (test/ts/helpers/cli.ts).
export function hideSqliteNotice() {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    const type = typeof rest[0] === "string" ? rest[0] : rest[0]?.type;
    if (type === "ExperimentalWarning" && /SQLite/.test(String(warning))) return;
    return emitWarning.call(process, warning, ...rest);
  };
}
