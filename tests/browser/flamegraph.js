// flamegraph.js - opens a 'fntrace flamegraph' SVG in headless chromium
// and uses it as a person would: hover a frame, click it to zoom, search
// a name, then go back.  Each step checks what the page then shows.
//
//   node flamegraph.js FILE.svg CLICK SEARCH SHOT.png
//
// CLICK is the function whose widest frame is clicked (it must have a
// parent frame other than the root); SEARCH a function to search for.
'use strict';
const path = require('path');
const { openBrowser, check, main } = require('./common');

const [svg, clickName, searchName, shot] = process.argv.slice(2);
const FULL = 1200 - 2 * 10;	// the frames' full width (flame_svg.c)

// Every frame as the page has it now.
function frames(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('g.f')).map((g) => {
    const r = g.querySelector('rect');
    return {
      name: g.querySelector('title').textContent.split('\n')[0],
      root: g.id === 'all', x: +r.getAttribute('x'), w: +r.getAttribute('width'),
      y: +r.getAttribute('y'), fill: r.getAttribute('fill'),
      hidden: getComputedStyle(g).display === 'none', box: (() => {
        const b = r.getBoundingClientRect();
        return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
      })(),
    };
  }));
}

main(async () => {
  const b = await openBrowser({ width: 1200, height: 600 });
  const { page } = b;
  await page.goto('file://' + path.resolve(svg));
  const before = await frames(page);
  check(before.length > 2, `${before.length} frames drawn`);
  const target = before.filter((f) => f.name === clickName).sort((p, q) => q.w - p.w)[0];
  check(target && target.w < FULL - 1, `${clickName} has a frame narrower than the view (${target && target.w})`);

  // Hover: the details line names the function, its time, share and calls.
  await page.mouse.move(target.box.x, target.box.y);
  const details = await page.textContent('#details');
  check(details.startsWith(clickName + ' | ') && /calls?$/.test(details) && /%/.test(details) &&
        /[0-9] [um ]?s total/.test(details), `hover details: "${details}"`);

  // Click: the frame now spans the view, what is not in it is hidden.
  await page.mouse.click(target.box.x, target.box.y);
  const zoomed = await frames(page);
  const z = zoomed.find((f) => f.name === clickName && Math.abs(f.y - target.y) < 0.5 &&
                        Math.abs(f.w - FULL) < 0.5 && Math.abs(f.x - 10) < 0.5);
  check(z, `after the click ${clickName} spans the full width`);
  const hidden = zoomed.filter((f) => f.hidden).length;
  check(hidden > 0, `${hidden} frames outside ${clickName} are hidden`);
  check(await page.isVisible('#unzoom'), '"Reset Zoom" is shown');
  const zshot = shot.replace(/\.png$/, '-zoomed.png');
  await page.screenshot({ path: zshot });

  // Search: the matching frames turn magenta and their share is shown.
  page.once('dialog', (d) => d.accept(searchName));
  await page.click('#search');
  const searched = await frames(page);
  const hits = searched.filter((f) => f.name === searchName);
  check(hits.length > 0 && hits.every((f) => f.fill === 'rgb(230,0,230)'),
        `${hits.length} frames of ${searchName} highlighted`);
  check(searched.filter((f) => f.name !== searchName && !f.root).every((f) => f.fill !== 'rgb(230,0,230)'),
        'no other frame highlighted');
  const matched = await page.textContent('#matched');
  check(/^Matched: [0-9.]+% \([0-9]+ frames\)$/.test(matched) && parseFloat(matched.slice(9)) > 0,
        `share of the matches: "${matched}"`);
  await page.screenshot({ path: shot });

  // Back: a click on the root frame restores every frame's width.
  const root = searched.find((f) => f.root);
  await page.mouse.click(root.box.x, root.box.y);
  const back = await frames(page);
  check(back.every((f, i) => !f.hidden && Math.abs(f.w - before[i].w) < 0.01),
        'a click on the root restores the full view');
  check(!(await page.isVisible('#unzoom')), '"Reset Zoom" is gone');
  check(b.errors.length === 0, 'no script error: ' + b.errors.join('; '));
  await b.close();
});
