// The dashboard: pages drawn from the coordinator's JSON API (/api/..., the
// UserService responses in the protobuf JSON mapping: docs/api.md), chosen by
// the URL's hash: #/ (sweeps), #/sweeps/ID (its runs), #/sweeps/ID/scaling,
// #/runs/ID. Read-only. The client token is asked for once and kept in
// sessionStorage; every API call sends it as a Bearer token.
"use strict";

const TOKEN_KEY = "flopwise-client-token";
const REFRESH_MS = 2000;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
                "#e377c2"];

let generation = 0;  // bumped on every navigation; a stale page's timer stops
let timer = null;

class AuthError extends Error {}

async function api(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new AuthError("");
  const response = await fetch(path, {headers: {Authorization: `Bearer ${token}`}});
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = {message: `the coordinator answered ${response.status} without JSON`};
  }
  if (response.status === 401 || response.status === 403) {
    throw new AuthError(`The coordinator refused this token (${response.status}): ${body.message}`);
  }
  if (!response.ok) throw new Error(`${path}: ${response.status} ${body.code}: ${body.message}`);
  return body;
}

function el(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "class") element.className = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      element.append(child instanceof Node ? child : String(child));
    }
  }
  return element;
}

const shortName = (value, prefix) => String(value || "").replace(prefix, "").toLowerCase();
const stateName = (state) => shortName(state, "RUN_STATE_");
const archName = (arch) => shortName(arch, "ARCHITECTURE_");

function formatNumber(value, digits = 3) {
  const v = Number(value);
  if (!Number.isFinite(v)) return "—";
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function progressBar(fraction) {
  const percent = Math.max(0, Math.min(1, Number(fraction) || 0)) * 100;
  return el("div", {class: "progress", title: `${percent.toFixed(1)}%`},
            el("div", {class: "bar", style: `width: ${percent.toFixed(1)}%`}),
            el("span", {}, `${percent.toFixed(0)}%`));
}

function setCrumbs(...links) {
  const nav = document.getElementById("crumbs");
  nav.replaceChildren(...links.map(([text, href]) => (href ? el("a", {href}, text) : el("span", {}, text))));
}

function showError(page, error) {
  page.append(el("p", {class: "error", role: "alert"}, error.message));
}

// Calls `draw` now and every REFRESH_MS while the page is shown and `draw`
// returns true (it returns false once nothing can change any more). An error
// other than a refused token is shown above the page, which keeps refreshing
// (the coordinator may be restarting).
function refreshEvery(draw) {
  const mine = generation;
  const tick = async () => {
    if (mine !== generation) return;
    let again = true;
    let problem = "";
    try {
      again = await draw();
    } catch (error) {
      if (error instanceof AuthError) return handleError(error);
      problem = `${error.message} (retrying every ${REFRESH_MS / 1000} s)`;
    }
    if (mine !== generation) return;
    document.getElementById("refresh-error").textContent = problem;
    if (again) timer = setTimeout(tick, REFRESH_MS);
  };
  tick();
}

function handleError(error) {
  if (error instanceof AuthError) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(error.message);
  } else {
    showError(document.getElementById("page"), error);
  }
}

// --- #/ : every sweep ---------------------------------------------------------

async function sweepsPage(page) {
  setCrumbs(["sweeps", null]);
  const table = el("table", {id: "sweeps"});
  page.replaceChildren(el("h1", {}, "Sweeps"), table);
  refreshEvery(async () => {
    const {sweeps} = await api("/api/sweeps");
    table.replaceChildren(
        el("tr", {}, ["id", "name", "state", "runs", "finished", "progress", "submitted"].map(
            (h) => el("th", {}, h))),
        ...sweeps.map((s) => el("tr", {"data-sweep": s.sweep_id},
            el("td", {}, el("a", {href: `#/sweeps/${s.sweep_id}`}, s.sweep_id)),
            el("td", {}, el("a", {href: `#/sweeps/${s.sweep_id}`}, s.name)),
            el("td", {class: "state"}, shortName(s.state, "SWEEP_STATE_")),
            el("td", {}, s.runs_total), el("td", {}, s.runs_finished),
            el("td", {}, progressBar(s.progress_fraction)),
            el("td", {}, new Date(Number(s.created_ms)).toLocaleString()))));
    if (sweeps.length === 0) table.append(el("tr", {}, el("td", {colspan: 7}, "no sweeps yet")));
    return true;
  });
}

// --- #/sweeps/ID : its runs ---------------------------------------------------

async function sweepPage(page, sweepId) {
  setCrumbs(["sweeps", "#/"], [`sweep ${sweepId}`, null]);
  const summary = el("p", {id: "sweep-summary"});
  const table = el("table", {id: "runs"});
  page.replaceChildren(el("h1", {id: "sweep-title"}, `Sweep ${sweepId}`), summary,
                       el("p", {}, el("a", {href: `#/sweeps/${sweepId}/scaling`},
                                      "scaling view: loss against compute, fitted laws, compute-optimal N and D")),
                       table);
  const seen = new Map();  // run id -> {tokens, at}: the rate behind the ETA
  refreshEvery(async () => {
    const [{sweep}, {runs}] = await Promise.all([api(`/api/sweeps/${sweepId}`),
                                                 api(`/api/sweeps/${sweepId}/runs`)]);
    document.getElementById("sweep-title").textContent = `Sweep ${sweepId}: ${sweep.name}`;
    summary.replaceChildren(`${shortName(sweep.state, "SWEEP_STATE_")} · ${sweep.runs_finished} of `,
                            `${sweep.runs_total} runs finished · `, progressBar(sweep.progress_fraction));
    const now = Date.now();
    table.replaceChildren(
        el("tr", {}, ["run", "arch", "N", "state", "progress", "ETA", "worker", "step", "loss",
                      "validation loss"].map((h) => el("th", {}, h))),
        ...runs.map((run) => {
          const tokens = Number(run.tokens);
          const total = Number(run.config.total_tokens);
          const before = seen.get(run.run_id);
          let eta = "—";
          if (run.state === "RUN_STATE_RUNNING" && before && tokens > before.tokens) {
            const rate = (tokens - before.tokens) / ((now - before.at) / 1000);
            eta = formatDuration((total - tokens) / rate);
          }
          if (!before || tokens !== before.tokens) seen.set(run.run_id, {tokens, at: now});
          return el("tr", {"data-run": run.run_id, "data-state": stateName(run.state)},
                    el("td", {}, el("a", {href: `#/runs/${run.run_id}`}, run.name)),
                    el("td", {}, archName(run.config.model && run.config.model.arch)),
                    el("td", {}, formatNumber(run.params_non_embedding)),
                    el("td", {class: `state ${stateName(run.state)}`}, stateName(run.state),
                       run.pending_reason ? el("div", {class: "reason"}, run.pending_reason) : null),
                    el("td", {}, progressBar(run.progress_fraction)),
                    el("td", {class: "eta"}, run.state === "RUN_STATE_RUNNING" ? eta : "—"),
                    el("td", {}, run.worker_id || "—"),
                    el("td", {}, run.step),
                    el("td", {}, Number(run.step) > 0 ? formatNumber(run.loss, 4) : "—"),
                    el("td", {}, run.validation_loss !== undefined
                                     ? formatNumber(run.validation_loss, 4) : "—"));
        }));
    return true;
  });
}

// --- #/runs/ID : one run's loss curve ----------------------------------------

async function runPage(page, runId) {
  const info = el("p", {id: "run-info"});
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.id = "loss-chart";
  page.replaceChildren(el("h1", {id: "run-title"}, `Run ${runId}`), info, svg,
                       el("h2", {}, "Evaluations"), el("table", {id: "evals"}));
  const train = [];  // [step, loss]
  let afterStep = 0;
  let finalFetch = false;
  refreshEvery(async () => {
    const [{run}, metrics, {checkpoints}] = await Promise.all([
        api(`/api/runs/${runId}`), api(`/api/runs/${runId}/metrics?after_step=${afterStep}`),
        api(`/api/runs/${runId}/checkpoints`)]);
    setCrumbs(["sweeps", "#/"], [`sweep ${run.sweep_id}`, `#/sweeps/${run.sweep_id}`],
              [run.name, null]);
    document.getElementById("run-title").textContent = `Run ${runId}: ${run.name}`;
    for (const row of metrics.rows) {
      train.push([Number(row.point.step), row.point.loss]);
      afterStep = Math.max(afterStep, Number(row.point.step));
    }
    const validation = checkpoints.filter((c) => Number(c.checkpoint.validation_tokens) > 0)
                           .map((c) => [Number(c.checkpoint.step), c.checkpoint.validation_loss]);
    info.replaceChildren(`${stateName(run.state)} · step ${run.step} · `,
                         `${formatNumber(run.tokens)} of ${formatNumber(run.config.total_tokens)} tokens · `,
                         `worker ${run.worker_id || "—"} · attempt ${run.attempts} · `,
                         progressBar(run.progress_fraction));
    svg.setAttribute("data-train-points", train.length);
    svg.setAttribute("data-validation-points", validation.length);
    drawChart(svg, {xLabel: "step", yLabel: "loss (nats)", series: [
        {name: "training loss", color: COLORS[0], points: train, style: "line"},
        {name: "validation loss", color: COLORS[1], points: validation, style: "dashed"}]});
    const {rows: evals} = await api(`/api/runs/${runId}/evals`);
    document.getElementById("evals").replaceChildren(
        el("tr", {}, ["step", "task", "metric", "value"].map((h) => el("th", {}, h))),
        ...evals.map((e) => el("tr", {}, el("td", {}, e.checkpoint_step), el("td", {}, e.task),
                               el("td", {}, e.metric), el("td", {}, formatNumber(e.value, 4)))));
    const terminal = !["RUN_STATE_PENDING", "RUN_STATE_RUNNING"].includes(run.state);
    if (terminal && finalFetch) return false;
    finalFetch = terminal;  // one more round picks up the last rows
    return true;
  });
}

// --- #/sweeps/ID/scaling : loss against compute, laws, compute-optimal N/D -----

async function scalingPage(page, sweepId) {
  setCrumbs(["sweeps", "#/"], [`sweep ${sweepId}`, `#/sweeps/${sweepId}`], ["scaling", null]);
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.id = "scaling-chart";
  const laws = el("div", {id: "laws"});
  const budget = el("input", {id: "budget", value: "1e15", size: 12, "aria-label": "budget in FLOPs"});
  const optimal = el("div", {id: "optimal"});
  const form = el("form", {id: "budget-form"}, "Budget (FLOPs) ", budget, " ",
                  el("button", {type: "submit"}, "Compute-optimal N and D"));
  page.replaceChildren(el("h1", {}, `Sweep ${sweepId}: scaling`), svg, laws,
                       el("h2", {}, "Compute-optimal model for a budget"), form, optimal);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    showOptimal(sweepId, budget.value.trim(), optimal).catch(handleError);
  });
  const [{checkpoints}, fit] = await Promise.all([
      api(`/api/sweeps/${sweepId}/checkpoints`),
      api(`/api/sweeps/${sweepId}/fit`).catch((error) => {
        if (error instanceof AuthError) throw error;
        return {error: error.message};
      })]);
  const {runs} = await api(`/api/sweeps/${sweepId}/runs`);
  const runNames = new Map(runs.map((r) => [r.run_id, r.name]));
  const validation = fit.metric === "validation";
  // Every run's checkpoints, and per architecture the envelope: the lowest
  // loss reached at or below each compute (the fit's default, "pareto").
  const byRun = new Map();
  const byArch = new Map();
  for (const row of checkpoints) {
    const loss = validation ? row.checkpoint.validation_loss : row.checkpoint.loss;
    const point = [row.checkpoint.flops, loss];
    if (!(point[0] > 0 && loss > 0)) continue;
    if (!byRun.has(row.run_id)) byRun.set(row.run_id, {arch: row.arch, points: []});
    byRun.get(row.run_id).points.push(point);
    if (!byArch.has(row.arch)) byArch.set(row.arch, []);
    byArch.get(row.arch).push(point);
  }
  const archs = [...byArch.keys()].sort();
  const color = (arch) => COLORS[archs.indexOf(arch) % COLORS.length];
  const series = [];
  for (const [runId, run] of byRun) {
    series.push({name: "", color: color(run.arch) + "66", style: "line",
                 points: run.points.sort((a, b) => a[0] - b[0]), run: runNames.get(runId)});
  }
  for (const arch of archs) {
    const envelope = [];
    for (const p of byArch.get(arch).sort((a, b) => a[0] - b[0])) {
      if (envelope.length === 0 || p[1] < envelope[envelope.length - 1][1]) envelope.push(p);
    }
    series.push({name: `${archName(arch)} envelope`, color: color(arch), style: "dots",
                 points: envelope});
    const archFit = (fit.fits || []).find((f) => f.arch === arch);
    const law = archFit && archFit.laws.find((l) => l.law === "loss_vs_compute" && l.method === "paper");
    if (law) {
      const coefficient = (name) => law.coefficients.find((c) => c.name === name).value;
      const [beta, alpha] = [coefficient("beta"), coefficient("alpha")];
      const lo = Math.log10(archFit.compute_min), hi = Math.log10(archFit.compute_max);
      const curve = [];
      for (let i = 0; i <= 40; i++) {
        const c = Math.pow(10, lo + ((hi - lo) * i) / 40);
        curve.push([c, beta * Math.pow(c, alpha)]);
      }
      series.push({name: `${archName(arch)} fit`, color: color(arch), style: "dashed", points: curve});
    }
  }
  svg.setAttribute("data-runs", byRun.size);
  drawChart(svg, {xLabel: "compute C (FLOPs)", yLabel: `${validation ? "validation" : "training"} loss (nats)`,
                  logX: true, logY: true, series});
  if (fit.error) {
    laws.replaceChildren(el("p", {class: "error"}, `No fit yet: ${fit.error}`));
    return;
  }
  laws.replaceChildren(el("table", {id: "laws-table"},
      el("tr", {}, ["arch", "group", "law", "R²", "points", "C range (FLOPs)"].map((h) => el("th", {}, h))),
      ...fit.fits.flatMap((f) => f.laws.map((l) => el("tr", {},
          el("td", {}, archName(f.arch)), el("td", {}, f.group || "—"), el("td", {}, l.formula),
          el("td", {}, formatNumber(l.r_squared, 3)), el("td", {}, l.points),
          el("td", {}, `${formatNumber(f.compute_min)} – ${formatNumber(f.compute_max)}`))))));
}

async function showOptimal(sweepId, budget, container) {
  container.replaceChildren(el("p", {}, "fitting…"));
  let answer;
  try {
    answer = await api(`/api/sweeps/${sweepId}/optimal?budget=${encodeURIComponent(budget)}`);
  } catch (error) {
    if (error instanceof AuthError) throw error;
    container.replaceChildren(el("p", {class: "error", role: "alert"}, error.message));
    return;
  }
  container.replaceChildren(
      el("table", {id: "optimal-table"},
         el("tr", {}, ["method", "arch", "group", "N_opt", "D_opt", "predicted loss", "nearest shape",
                       "warnings"].map((h) => el("th", {}, h))),
         ...answer.recommendations.map((r) => el("tr", {},
             el("td", {}, r.method), el("td", {}, archName(r.arch)), el("td", {}, r.group || "—"),
             el("td", {}, formatNumber(r.n_opt_params)), el("td", {}, formatNumber(r.d_opt_tokens)),
             el("td", {}, formatNumber(r.predicted_loss, 4)),
             el("td", {}, r.nearest_shape ? `${r.nearest_shape.name} (${formatNumber(r.nearest_shape_tokens)} tokens)` : "—"),
             el("td", {}, r.warnings.join("; "))))),
      el("p", {}, `Budget ${formatNumber(answer.budget_flops)} FLOPs; best: ${archName(answer.best_arch)}.`));
}

// --- routing -----------------------------------------------------------------

function showLogin(message) {
  document.getElementById("login").hidden = false;
  document.getElementById("page").replaceChildren();
  document.getElementById("refresh-error").textContent = "";
  document.getElementById("sign-out").hidden = true;
  document.getElementById("auth-error").textContent = message || "";
  document.getElementById("token").focus();
}

function route() {
  generation++;
  clearTimeout(timer);
  if (!sessionStorage.getItem(TOKEN_KEY)) return showLogin("");
  document.getElementById("login").hidden = true;
  document.getElementById("refresh-error").textContent = "";
  document.getElementById("sign-out").hidden = false;
  const page = document.getElementById("page");
  page.replaceChildren();
  const hash = location.hash.replace(/^#/, "") || "/";
  let match;
  let shown;
  if ((match = hash.match(/^\/sweeps\/(\d+)\/scaling$/))) shown = scalingPage(page, match[1]);
  else if ((match = hash.match(/^\/sweeps\/(\d+)$/))) shown = sweepPage(page, match[1]);
  else if ((match = hash.match(/^\/runs\/(\d+)$/))) shown = runPage(page, match[1]);
  else shown = sweepsPage(page);
  shown.catch(handleError);
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  document.getElementById("token").value = "";
  route();
});
document.getElementById("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  route();
});
window.addEventListener("hashchange", route);
route();
