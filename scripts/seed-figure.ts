// `node --import tsx scripts/seed-figure.ts <run-dir> <out.png>`: the seed's figure (training-batch
// forget / retain accuracy per step, the oracle's forget accuracy as the target line) from a run's
// report.html, as a PNG for the README, rendered by Debian's Chromium through playwright-core.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from '../test/chromium-helpers.js';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node --import tsx scripts/seed-figure.ts <run-dir> <out.png>');
  process.exit(2);
}
const browser = await launchChromium({ viewport: { width: 1100, height: 900 } });
try {
  const page = await browser.newPage();
  await page.goto(pathToFileURL(resolve(dir, 'report.html')).href);
  const chart = page.locator('#chart-steps').locator('xpath=..');
  await chart.waitFor();
  await page.waitForTimeout(500); // chart.js animation
  await chart.screenshot({ path: out });
  console.log(`seed-figure: ${out}`);
} finally {
  await browser.close();
}
