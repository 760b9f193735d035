import { chromium } from 'playwright-core';
const [dir, tag, id, width, from, height] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: Number(width), height: 900 } });
await page.goto(`file://${dir}/index.html`);
const box = (await (await page.$(`#${id}`))!.boundingBox())!;
await page.screenshot({ path: `/tmp/labB/${tag}-${id}-${width}-${from}.png`, fullPage: true, clip: { x: 0, y: box.y + Number(from), width: Number(width), height: Number(height) } });
await browser.close();
