// Scroll through a `trajkit report` page in real Chromium and open every history still to draw, then
// print how many rows and token ids are on screen and how many inert elements are left (none should be).
// The page draws rows with an IntersectionObserver, which headless --dump-dom never triggers, so
// this drives the browser through playwright-core (npm; the system Chromium, no download):
//
//   npm install --prefix /tmp/pw playwright-core@1
//   NODE_PATH=/tmp/pw/node_modules node scripts/report_scroll.js report.html
const { chromium } = require('playwright-core');

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 2600 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto('file://' + require('path').resolve(process.argv[2]));
  const started = Date.now();
  // Scroll a window at a time, as a reader would, until the end of the page stays the end (rows
  // drawn above the window make the page taller while it scrolls).
  for (let stuck = 0; stuck < 100; ) {
    const [atEnd, waiting] = await page.evaluate(() => {
      scrollBy(0, innerHeight);
      return [scrollY + innerHeight >= document.body.scrollHeight - 1, !!document.querySelector('.lz')];
    });
    await page.waitForTimeout(20);
    if (atEnd && !waiting) break;
    stuck = atEnd ? stuck + 1 : 0; // at the end with rows still waiting: give them 2 s, then report them
  }
  // Histories still to draw (the first rows'; a row drawn later carries its history in its HTML):
  // open them, as a reader clicking each.
  await page.evaluate(() => document.querySelectorAll('details.hist[data-h]').forEach((d) => (d.open = true)));
  // Each opened history is decompressed and drawn: wait until none is left empty.
  await page
    .waitForFunction(() => ![...document.querySelectorAll('details.hist > .tk')].some((d) => !d.firstChild), null, {
      timeout: 30000,
    })
    .catch(() => {});
  const seen = await page.evaluate(() => ({
    rows: document.querySelectorAll('.row').length,
    waiting: document.querySelectorAll('.lz').length,
    inert_left: document.querySelectorAll('script[type="text/x-row-gz"]').length,
    empty_histories: [...document.querySelectorAll('details.hist > .tk')].filter((d) => !d.firstChild).length,
    // Every token is one element or shares one with the other bytes of its character: ids in titles.
    token_ids: [...document.querySelectorAll('.row .tk i, .row .tk b, .row .tk u')].reduce((n, e) => n + e.title.split(' ').length, 0),
  }));
  console.log(JSON.stringify({ ...seen, scroll_s: (Date.now() - started) / 1000, errors }));
  await browser.close();
  process.exit(seen.waiting || seen.inert_left || seen.empty_histories || errors.length ? 1 : 0);
})();
