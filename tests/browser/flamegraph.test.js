// Browser test of loupe's flame graph SVG: Debian's chromium, headless,
// driven by playwright-core. Generates a graph from a known folded input
// with build/loupe, then checks hover, click-to-zoom, Reset Zoom and the
// search (button and Ctrl-F) with its "Matched:" percentage, and keeps
// screenshots. Prints "PASS ..."/"FAIL ..." lines; exit status 0 on success.
//
//   node tests/browser/flamegraph.test.js [--loupe PATH] [--out DIR]
'use strict';

const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
	const i = args.indexOf(name);
	return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const LOUPE = opt('--loupe', process.env.LOUPE_BIN ||
	path.join(REPO, 'build', 'loupe'));
const OUT = opt('--out', process.env.LOUPE_TEST_OUTPUT ||
	path.join(REPO, 'build', 'test-output'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// 100 samples; the "spin" frames cover 50 + 10 + 10 of them.
const FOLDED = [
	'app;main;outer;inner;spin 50',
	'app;main;outer;other 20',
	'app;main;spin 10',
	'app;main;io;read_[k];spin_wait_[k] 10',
	'app;main 10',
].join('\n') + '\n';
const WIDTH = 1200, FULL = WIDTH - 20;

let failures = 0;
function check(cond, what) {
	if (!cond) {
		console.log('  check failed: ' + what);
		failures++;
	}
}
const near = (a, b) => Math.abs(a - b) < 0.01;

// Attributes of the frame whose title starts with "name (".
async function frame(page, name) {
	return page.evaluate((name) => {
		for (const g of document.querySelectorAll('g.frame')) {
			const t = g.querySelector('title').textContent;
			if (t.slice(0, t.lastIndexOf(' (')) !== name)
				continue;
			const r = g.querySelector('rect');
			return {
				x: +r.getAttribute('x'),
				width: +r.getAttribute('width'),
				fill: r.getAttribute('fill'),
				label: g.querySelector('text').textContent,
				hidden: getComputedStyle(g).display === 'none',
				faded: g.classList.contains('faded'),
			};
		}
		return null;
	}, name);
}

async function text(page, id) {
	return page.evaluate((id) =>
		document.getElementById(id).textContent, id);
}

// Clicks the middle of a frame's rectangle as a user would.
async function clickFrame(page, name) {
	const loc = page.locator('g.frame', {
		has: page.locator('title', { hasText: new RegExp('^' + name + ' \\(') }),
	}).locator('rect');
	await loc.click();
}

async function searchWith(page, term, how) {
	page.once('dialog', (d) => d.accept(term));
	if (how === 'key')
		await page.keyboard.press('Control+f');
	else
		await page.locator('#search').click();
	await page.waitForFunction(() =>
		document.getElementById('matched').textContent.trim() !== '');
	return text(page, 'matched');
}

async function main() {
	fs.mkdirSync(OUT, { recursive: true });
	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-browser-'));
	const folded = path.join(work, 'known.folded');
	const svg = path.join(work, 'known.svg');
	fs.writeFileSync(folded, FOLDED);
	execFileSync(LOUPE, ['flamegraph', '--title', 'Browser test',
			     '-o', svg, folded], { stdio: 'inherit' });

	const ctx = await chromium.launchPersistentContext(
		path.join(work, 'profile'), {
			executablePath: CHROMIUM,
			headless: true,
			args: ['--headless', '--no-sandbox', '--disable-gpu',
			       '--disable-quic', '--no-first-run',
			       '--disable-background-networking',
			       '--disable-component-update', '--disable-sync'],
			viewport: { width: WIDTH + 20, height: 300 },
			timeout: 30000,
		});
	const page = ctx.pages()[0] || await ctx.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(String(e)));
	page.setDefaultTimeout(10000);
	try {
		await page.goto('file://' + svg);

		// Static layout: widths proportional to the counts.
		let outer = await frame(page, 'outer');
		check(outer && near(outer.width, 0.7 * FULL),
		      'outer is 70% wide: ' + JSON.stringify(outer));

		// Hover: the details line shows name, samples, percentage.
		await page.locator('g.frame rect').nth(0).hover();
		await page.locator('g.frame', {
			has: page.locator('title', { hasText: /^outer \(/ }),
		}).locator('rect').hover();
		check(await text(page, 'details') ===
		      'outer (70 samples, 70.00%)',
		      'details on hover: ' + await text(page, 'details'));

		// Zoom into outer: full width, ancestors faded, rest hidden.
		await clickFrame(page, 'outer');
		outer = await frame(page, 'outer');
		const inner = await frame(page, 'inner');
		const app = await frame(page, 'app');
		const io = await frame(page, 'io');
		check(outer && near(outer.x, 10) && near(outer.width, FULL),
		      'zoomed outer spans the width: ' + JSON.stringify(outer));
		check(inner && near(inner.width, FULL * 50 / 70),
		      'inner rescaled to 50/70: ' + JSON.stringify(inner));
		check(app && app.faded && near(app.width, FULL),
		      'ancestor app faded: ' + JSON.stringify(app));
		check(io && io.hidden, 'sibling io hidden: ' + JSON.stringify(io));
		check(await page.locator('#unzoom').isVisible(),
		      'Reset Zoom shown');
		await page.screenshot({ path: path.join(OUT, 'flamegraph-zoom.png') });

		// Reset Zoom brings the original layout back.
		await page.locator('#unzoom').click();
		outer = await frame(page, 'outer');
		check(outer && near(outer.width, 0.7 * FULL) && !outer.faded,
		      'after reset outer is 70% again: ' + JSON.stringify(outer));
		check(!(await page.locator('#unzoom').isVisible()),
		      'Reset Zoom hidden again');
		check(!(await frame(page, 'io')).hidden, 'io visible again');

		// Search with the button: spin + spin + spin_wait = 70%.
		let m = await searchWith(page, 'spin', 'button');
		check(m === 'Matched: 70.0%', 'search spin: ' + m);
		check((await frame(page, 'spin_wait')).fill === 'rgb(230,0,230)',
		      'matched frame highlighted');
		check((await frame(page, 'outer')).fill !== 'rgb(230,0,230)',
		      'unmatched frame keeps its colour');
		check(await text(page, 'search') === 'Reset Search',
		      'search button turns into Reset Search');
		await page.screenshot({ path: path.join(OUT, 'flamegraph.png') });
		await page.locator('#search').click();	/* reset */
		check((await text(page, 'matched')).trim() === '',
		      'reset search clears Matched');

		// Ctrl-F, nested matches: outer (70) holds inner and one spin,
		// plus the spin under main (10): 80%, each sample once.
		m = await searchWith(page, '^(outer|inner|spin)$', 'key');
		check(m === 'Matched: 80.0%', 'nested search: ' + m);
		check(errors.length === 0, 'page errors: ' + errors.join('; '));
	} finally {
		await ctx.close();
		fs.rmSync(work, { recursive: true, force: true });
	}
	console.log('screenshot: ' + path.join(OUT, 'flamegraph.png'));
	console.log('screenshot: ' + path.join(OUT, 'flamegraph-zoom.png'));
	console.log(failures ? 'FAIL flamegraph browser test (' + failures +
		    ' checks)' : 'PASS flamegraph browser test');
	return failures ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
	console.log('FAIL flamegraph browser test: ' + (e && e.stack || e));
	process.exit(1);
});
