// icons.mjs: renders the demo's icon (www/icons/icon.svg) into the PNG sizes the web app manifest lists, with headless Chromium.
// Run: node scripts/icons.mjs (only needed after editing icon.svg; the PNGs are committed).
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { CHROMIUM_FLAGS } from "../tests/e2e/harness.mjs";

const svg = readFileSync(new URL("../www/icons/icon.svg", import.meta.url), "utf8");
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_FLAGS });
try {
  for (const size of [192, 512]) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    await page.setContent(`<style>html,body{margin:0;background:transparent}svg{display:block;width:${size}px;height:${size}px}</style>${svg}`);
    const out = new URL(`../www/icons/icon-${size}.png`, import.meta.url);
    await page.screenshot({ path: out.pathname, omitBackground: true });
    console.log(out.pathname);
    await page.close();
  }
} finally {
  await browser.close();
}
