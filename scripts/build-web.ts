/** `npm run build:web`: bundles every page (web/<page>/) into dist/web/<page>/ for installs without esbuild. */
import { WEB_DIST, writePages } from "../services/common/pages.js";

const written = await writePages();
console.log(`built ${written.length === 0 ? "no pages" : written.join(", ")} into ${WEB_DIST}`);
