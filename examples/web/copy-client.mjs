// Copies the built client (clients/ts/dist/*.js) to dist/zocket/, where the
// page's import map points `@zocket/client`. Source maps and declarations
// stay behind; dist/ is committed so the chat binary embeds it without Node.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const from = new URL("../../clients/ts/dist/", import.meta.url).pathname;
const to = new URL("./dist/zocket/", import.meta.url).pathname;
rmSync(to, { recursive: true, force: true });
mkdirSync(to, { recursive: true });
for (const file of readdirSync(from).filter((f) => f.endsWith(".js")).sort()) {
  // Without the source map comment: the maps are not copied.
  const code = readFileSync(join(from, file), "utf8").replace(/\n\/\/# sourceMappingURL=.*\n?$/, "\n");
  writeFileSync(join(to, file), code);
}
// The router type is types only: nothing of it exists at run time.
rmSync(new URL("./dist/chat-router.js", import.meta.url).pathname, { force: true });
