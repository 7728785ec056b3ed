// Drives the dashboard in headless Chromium for dashboard_browser_test.cc
// (which starts the coordinator, the dashboard and a worker, and sets the
// environment below). Prints one line per check and the screenshots' paths;
// exits 1 at the first check that fails, naming it.
"use strict";

const path = require("path");
const {chromium} = require(process.env.PLAYWRIGHT_CORE);

const url = process.env.DASHBOARD_URL;
const token = process.env.CLIENT_TOKEN;
const liveSweep = process.env.LIVE_SWEEP;
const fittedSweep = process.env.FITTED_SWEEP;
const outputDir = process.env.OUTPUT_DIR;

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

async function screenshot(page, name) {
  const file = path.join(outputDir, name);
  await page.screenshot({path: file, fullPage: true});
  console.log(`screenshot: ${file}`);
}

let page = null;  // the open page, for a screenshot of a failed check

async function main() {
  const browser = await chromium.launch({executablePath: process.env.CHROMIUM,
                                         args: ["--no-sandbox", "--disable-gpu"]});
  try {
    page = await browser.newPage({viewport: {width: 1280, height: 900}});
    page.setDefaultTimeout(60000);
    page.on("pageerror", (error) => console.log(`page error: ${error.message}`));

    // A wrong token is refused with a clear message, and no data is shown.
    await page.goto(`${url}/dashboard/#/`);
    await page.fill("#token", "not-the-client-token");
    await page.click("#token-form button");
    await page.waitForFunction(() => document.getElementById("auth-error").textContent !== "");
    const refusal = await page.textContent("#auth-error");
    check(refusal.includes("refused this token (401)"), `a wrong token is refused: "${refusal}"`);
    check(await page.isVisible("#login"), "the token form is shown again");
    check((await page.$$("#sweeps tr[data-sweep]")).length === 0, "no sweep is shown");
    await screenshot(page, "wrong-token.png");

    // The right token: every sweep.
    await page.fill("#token", token);
    await page.click("#token-form button");
    await page.waitForSelector(`#sweeps tr[data-sweep="${liveSweep}"]`);
    const names = await page.$$eval("#sweeps tr[data-sweep] td:nth-child(2)",
                                    (cells) => cells.map((c) => c.textContent));
    check(names.includes("live") && names.includes("scaling"), `the sweeps are listed: ${names}`);
    await screenshot(page, "sweeps.png");

    // The live sweep: its two runs with state, progress and worker; one runs.
    await page.click(`#sweeps tr[data-sweep="${liveSweep}"] td:nth-child(2) a`);
    await page.waitForSelector('#runs tr[data-state="running"]');
    const runs = await page.$$eval("#runs tr[data-run]", (rows) => rows.map((r) => ({
      id: r.dataset.run, state: r.dataset.state, worker: r.children[6].textContent,
      progress: r.querySelector(".progress") !== null})));
    check(runs.length === 2, `the live sweep shows its 2 runs (${runs.length})`);
    const running = runs.find((r) => r.state === "running");
    check(running.worker !== "—" && running.worker !== "", `a running run shows its worker ${running.worker}`);
    check(runs.every((r) => r.progress), "every run has a progress bar");
    // The ETA needs two polls that saw the tokens move.
    await page.waitForFunction(() => [...document.querySelectorAll('#runs tr[data-state="running"] td.eta')]
                                         .some((td) => /\d/.test(td.textContent)));
    check(true, "a running run shows an ETA");
    await screenshot(page, "sweep.png");

    // The running run's curve gains points while it trains.
    await page.goto(`${url}/dashboard/#/runs/${running.id}`);
    await page.waitForFunction(() => Number(document.getElementById("loss-chart")
                                                .getAttribute("data-train-points")) > 0);
    const first = Number(await page.getAttribute("#loss-chart", "data-train-points"));
    await page.waitForFunction(
        (n) => Number(document.getElementById("loss-chart").getAttribute("data-train-points")) > n,
        first);
    const later = Number(await page.getAttribute("#loss-chart", "data-train-points"));
    check(later > first, `the curve grew from ${first} to ${later} points while the run trained`);
    check((await page.$$("#loss-chart path")).length >= 1, "the curve is drawn");
    await screenshot(page, "run.png");

    // The scaling view of the finished sweep: every run, laws, and a budget's table.
    await page.goto(`${url}/dashboard/#/sweeps/${fittedSweep}/scaling`);
    await page.waitForSelector("#laws-table");
    const plotted = Number(await page.getAttribute("#scaling-chart", "data-runs"));
    check(plotted === 10, `the scaling view plots the sweep's 10 runs (${plotted})`);
    const laws = await page.$$eval("#laws-table tr", (rows) => rows.length - 1);
    check(laws >= 2, `the fitted laws are listed (${laws} rows)`);
    check((await page.$$('#scaling-chart g[data-series$=" fit"] path')).length === 2,
          "each architecture's fitted law is drawn");
    await page.fill("#budget", "1e18");
    await page.click("#budget-form button");
    await page.waitForSelector("#optimal-table");
    const recommendations = await page.$$eval("#optimal-table tr", (rows) => rows.length - 1);
    check(recommendations === 2, `the compute-optimal table has a row per architecture (${recommendations})`);
    await screenshot(page, "scaling.png");
  } catch (error) {
    console.log(error.message);
    if (page) await screenshot(page, "failed.png");
    throw error;
  } finally {
    await browser.close();
  }
}

main().catch(() => process.exit(1));
