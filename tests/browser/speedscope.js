// speedscope.js - loads a 'fntrace dump --chrome' file into speedscope (a
// real trace viewer, from its npm package) served from localhost, and
// checks that it shows the recorded functions: the title names the
// profile, and the Sandwich view (speedscope's table of functions, in the
// DOM, where the flame chart is drawn on a canvas) lists each expected
// name with report's total time.  Screenshots of both views.
//
//   node speedscope.js SPEEDSCOPE_DIST TRACE.json NAME=NS,NAME=NS,... SHOT.png
//
// NS is the function's total time in report, which speedscope's must
// match to 1%.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const { openBrowser, check, main } = require('./common');

const [dist, trace, names, shot] = process.argv.slice(2);
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
  '.woff2': 'font/woff2', '.ico': 'image/x-icon', '.txt': 'text/plain' };

// A file server on a free port of 127.0.0.1: speedscope's files, and the
// trace as /trace.json.  Nothing else is served.
function serve() {
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split(/[?#]/)[0]);
    const file = url === '/trace.json' ? trace : path.join(dist, path.normalize(url === '/' ? '/index.html' : url));
    if (url !== '/trace.json' && !file.startsWith(path.resolve(dist))) {
      res.writeHead(403).end();
      return;
    }
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
      res.end(data);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

main(async () => {
  const server = await serve();
  const base = `http://127.0.0.1:${server.address().port}`;
  const b = await openBrowser({ width: 1200, height: 700 });
  const { page } = b;
  await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(base + '/trace.json')}&title=fntrace`);
  await page.waitForFunction(() => /fntrace/.test(document.title), null, { timeout: 30000 });
  check(true, `title: "${await page.title()}"`);
  // The flame chart is on a canvas: wait until it is drawn, then keep it.
  await page.waitForSelector('canvas', { timeout: 30000 });
  await page.waitForTimeout(500);
  const body = await page.textContent('body');
  check(!/something went wrong|error/i.test(body), 'speedscope shows no error');
  await page.screenshot({ path: shot });

  await page.getByText(/Sandwich$/).first().click();
  await page.waitForTimeout(500);
  const table = await page.evaluate(() => document.body.innerText);
  const UNIT = { ns: 1, 'µs': 1e3, ms: 1e6, s: 1e9 };
  for (const item of names.split(',')) {
    // A row: the total time and share, the self time and share, the name.
    const [n, ns] = item.split('=');
    const m = new RegExp(`([0-9.]+)(ns|µs|ms|s) \\([0-9.]+%\\)\\s+[0-9.]+(?:ns|µs|ms|s) \\([0-9.]+%\\)\\s+${n}$`, 'm')
      .exec(table);
    check(m, `Sandwich lists ${n}`);
    const got = parseFloat(m[1]) * UNIT[m[2]];
    check(Math.abs(got - +ns) <= 0.01 * +ns + 10, `${n}: total ${m[1]}${m[2]} in speedscope, ${ns} ns in report`);
  }
  await page.screenshot({ path: shot.replace(/\.png$/, '-sandwich.png') });
  check(b.errors.length === 0, 'no script error: ' + b.errors.join('; '));
  await b.close();
  server.close();
});
