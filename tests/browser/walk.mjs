// The browser walk of tests/browser.rs: headless Chromium (puppeteer-core)
// opens the news page, follows its links to a topic page, a partner page and
// the older news like a reader would, runs axe-core on every page in the
// light and the dark colour scheme, and takes phone-sized screenshots.
// Prints one JSON report on stdout; the Rust test judges it.
//
// node walk.mjs <base-url> <chromium> <screenshot-dir>
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";

const [base, executablePath, shots] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const report = { pages: [] };
try {
  const page = await browser.newPage();
  // The pages forbid scripts by CSP; axe is the test's, not the site's.
  await page.setBypassCSP(true);
  await page.setJavaScriptEnabled(true);
  await page.setViewport({ width: 412, height: 915, deviceScaleFactor: 1, isMobile: true });

  async function check(name) {
    const result = { name, url: page.url(), schemes: {} };
    result.h1 = await page.$eval("h1", (h) => h.textContent.trim()).catch(() => null);
    result.articles = await page.$$eval("main article", (a) => a.length);
    result.scripts = await page.$$eval("script", (s) => s.length);
    // Inline SVG pictures that the browser really laid out, with bars drawn.
    result.charts = await page.$$eval("svg.chart", (svgs) => svgs.filter((s) => {
      const box = s.getBoundingClientRect();
      return box.width > 0 && box.height > 0 && s.querySelectorAll("rect").length > 0;
    }).length);
    result.horizontalOverflow = await page.evaluate(
      () => document.documentElement.scrollWidth > window.innerWidth + 1);
    for (const scheme of ["light", "dark"]) {
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
      await page.evaluate(axeSource);
      const axe = await page.evaluate(async () =>
        await window.axe.run(document, { resultTypes: ["violations"] }));
      result.schemes[scheme] = {
        background: await page.evaluate(() => getComputedStyle(document.body).backgroundColor),
        violations: axe.violations.map((v) => ({
          id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
        })),
      };
      await page.screenshot({ path: `${shots}/${name}-${scheme}-phone.png`, fullPage: false });
    }
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
    report.pages.push(result);
  }

  // Follows the first link matching `selector` on the current page, as a click.
  async function follow(selector) {
    const link = await page.$(selector);
    if (!link) throw new Error(`no link ${selector} on ${page.url()}`);
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), link.click()]);
  }

  await page.goto(`${base}/`, { waitUntil: "load" });
  await check("index");
  await follow('main article a[href*="/tags/"][href$=".html"]');
  await check("tag");
  await follow('footer a[href*="/sources/"][href$=".html"]');
  await check("source");
  await follow('header a[href$="/"]');
  await follow('nav.pager a[rel="next"]');
  await check("older");
  await follow('nav.pager a[rel="next"]');
  await check("oldest");
  await follow('footer a[href$="/status"]');
  await check("status");
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
