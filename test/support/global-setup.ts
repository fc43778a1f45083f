// @ts-expect-error — a plain ESM script shared with `npm start`, without type declarations.
import { ensureBasemapBuilt, ensureWebappBuilt } from '../../scripts/build-if-needed.mjs';

/** The browser tests need the built web app and basemap that the server serves. */
export default function setup(): void {
  (ensureWebappBuilt as () => boolean)();
  (ensureBasemapBuilt as () => boolean)();
}
