// The dashboard's inference worker. It keeps the page's thread free: it
// gets the exported weights once (the most compact variant the server
// has: int8, else fp16, else fp32), keeps them in the browser's Cache
// Storage keyed by run and export, so that a reload does not download them
// again, and classifies the photos the page posts on a pool of classifier
// workers (static/infer.js, each running worker.wasm: Go, shared/classify),
// several photos at once.
//
// The pool has navigator.hardwareConcurrency − 1 workers (at least 1),
// fewer when their memory would pass a quarter of navigator.deviceMemory:
// each holds its own copy of the weights file (an int8 file's weights stay
// int8 in the worker) plus the transformed conv weights and buffers, about
// the file's size + 1.3 bytes per parameter + 32 MB (≈ 165 MB for the full
// AlexNet in int8, 340 MB in fp32; measured: a Go heap of 126 MB after the
// first photo with the int8 file, 300 MB with fp32). Go's wasm cannot share memory between
// instances, so the copies are not shared. The page may set the size with
// ?workers=N on its own URL (passed on in this script's URL). Each photo
// runs on one worker: a photo's layers are not split across workers.
//
// Page → worker:
//   {type: "classify", id, file, version, run, weights}  file: a File or
//       Blob; version: the export the page knows of (reload the weights
//       when newer; 0 = any); run: the run's id ("" = unknown; with the
//       version it keys the cached weights; another run reloads them);
//       weights: their URL, relative to this script (default "weights",
//       the server's default run; e.g. api/runs/NAME/weights).
// Worker → page:
//   {type: "ready", ms}                     the classifier can start
//   {type: "fatal", message}                it could not start
//   {type: "weights", state: "loading", loaded, total}
//   {type: "weights", state: "ready", info, version, downloadMs}
//       info.variant: fp32, fp16 or int8; info.cached: read from the
//       cache; info.workers: the pool workers that hold the weights (sent
//       again as each further worker of the pool loads them)
//   {type: "weights", state: "error", message}
//   {type: "start", id}
//   {type: "result", id, probs, best, label, classes, ms, heat, heatW, heatH, camSide}
//       heat: per class, its Grad-CAM heatmap as a PNG Blob of heatW×heatH
//       (the photo's aspect); heatError instead when it could not be drawn
//   {type: "result", id, error}
// For benchmarks, once a photo was classified:
//   page → {type: "bench", id, n};  worker → {type: "bench", id, forwardMs, camMs}
"use strict";

// The variants asked for, most wanted first (see GET /weights?variant=).
const VARIANTS = "int8,fp16,fp32";
// The Cache Storage bucket; it holds the weights of one export at a time.
const CACHE = "pawnet-weights";

function post(msg) { self.postMessage(msg); }

// worker.wasm, compiled once and instantiated by every pool worker; the
// first worker starts right away, the others once the model is known.
const module = WebAssembly.compileStreaming(fetch("worker.wasm"));
const first = module.then(spawn);
first.then(() => post({ type: "ready", ms: performance.now() }))
  .catch((e) => post({ type: "fatal", message: "could not start the classifier: " + (e && e.message || e) }));

let loaded = null;   // {run, url, version, info, classes}
let loading = null;  // {version, promise} of the load under way
let growing = Promise.resolve(); // the pool workers still loading
const pool = [];     // {worker, version, busy, job, waiting}
const jobs = [];     // photos waiting for a worker: {id, file}
let fatal = "";

// A reload finds the weights of the last export in the cache: load them
// now, while the page starts, so that its first photo need not wait. The
// page's first message says whether they are still the current ones.
const preload = first.then(async () => {
  if (!self.caches) return;
  const cache = await caches.open(CACHE);
  const keys = await cache.keys();
  if (keys.length !== 1 || loading || loaded) return;
  const m = /weights-cache\/([^/]*)\/(\d+)\//.exec(keys[0].url);
  if (m) await ensureLoaded(Number(m[2]), decodeURIComponent(m[1]), "weights");
}).catch(() => {});

self.onmessage = (e) => {
  const msg = e.data;
  if (msg && msg.type === "bench") {
    const p = pool.find((p) => loaded && p.version === loaded.version && !p.busy);
    if (!p) post({ type: "bench", id: msg.id, error: "no idle classifier holds weights: classify a photo first" });
    else p.worker.postMessage({ type: "bench", id: msg.id, n: msg.n });
    return;
  }
  if (!msg || msg.type !== "classify") return;
  jobs.push({ id: msg.id, file: msg.file, tta: !!msg.tta });
  preload.then(() => ensureLoaded(msg.version || 0, msg.run || "", msg.weights || "weights")).then(dispatch, (err) => {
    const message = String(err && err.message || err);
    // Every photo waiting fails with the same error.
    for (const j of jobs.splice(0)) post({ type: "result", id: j.id, error: "weights: " + message });
  });
};

// ensureLoaded loads the weights of export version (or newer) of run, at
// url, into the pool, once: concurrent callers wait for the same load.
// Version 0 accepts whatever is loaded; a run "" (the page does not know it
// yet) is told apart by its URL.
function ensureLoaded(version, run, url) {
  const same = (have) => !(version > have.version) &&
    (run && have.run ? run === have.run : url === have.url);
  if (loaded && same(loaded)) return Promise.resolve();
  if (loading && same(loading)) return loading.promise;
  const promise = (loading ? loading.promise : Promise.resolve()).catch(() => {}).then(() => load(version, run, url));
  loading = { run, url, version, promise };
  promise.then(() => { if (loading && loading.promise === promise) loading = null; },
    (err) => {
      if (loading && loading.promise === promise) loading = null;
      post({ type: "weights", state: "error", message: String(err && err.message || err) });
    });
  return promise;
}

// load gets the weights, loads them into the first pool worker, which then
// classifies, and into the rest of the pool in the background.
async function load(version, run, url) {
  if (fatal) throw new Error(fatal);
  const t0 = performance.now();
  post({ type: "weights", state: "loading", loaded: 0, total: 0 });
  const w = await weights(version, run, url);
  const downloadMs = performance.now() - t0;
  await growing;
  await idle();
  for (const p of pool) p.version = -1;
  const head = pool.length > 0 ? pool[0] : await first;
  if (pool.length === 0) pool.push(head);
  const info = await loadInto(head, w.bytes.slice());
  head.version = version;
  const size = poolSize(info.params, info.bytes);
  while (pool.length > size) pool.pop().worker.terminate();
  info.cached = w.cached;
  info.workers = 1;
  loaded = { run, url, version, info, classes: info.classes, downloadMs };
  post({ type: "weights", state: "ready", info, version, downloadMs });
  growing = grow(version, w.bytes, size).catch((err) => console.warn("pawnet: pool worker: " + err));
}

// grow loads the weights into pool workers 1..size-1, starting the
// missing ones, and lets each take photos as soon as it is ready.
async function grow(version, bytes, size) {
  for (let i = 1; i < size; i++) {
    if (!loaded || loaded.version !== version) return;
    if (i >= pool.length) pool.push(await spawn());
    await loadInto(pool[i], bytes.slice());
    pool[i].version = version;
    // Say how many workers hold the weights now.
    loaded.info.workers = i + 1;
    post({ type: "weights", state: "ready", info: loaded.info, version, downloadMs: loaded.downloadMs });
    dispatch();
  }
}

// poolSize is the number of workers for a model of params parameters
// whose weights file has bytes bytes.
function poolSize(params, bytes) {
  const asked = Number(new URL(self.location.href).searchParams.get("workers"));
  if (asked >= 1) return Math.min(Math.floor(asked), 16);
  const cores = Math.max(1, (navigator.hardwareConcurrency || 2) - 1);
  const perWorker = bytes + 1.3 * params + 32e6;
  const budget = (navigator.deviceMemory || 4) * 1e9 / 4;
  return Math.max(1, Math.min(cores, Math.floor(budget / perWorker)));
}

// idle resolves when no pool worker is classifying.
function idle() {
  return new Promise((resolve) => {
    const check = () => pool.some((p) => p.busy) ? setTimeout(check, 10) : resolve();
    check();
  });
}

// spawn starts one pool worker and resolves when its Go code runs.
async function spawn() {
  const worker = new Worker("infer.js");
  const p = { worker, version: -1, busy: false, job: null, waiting: null };
  worker.onmessage = (e) => onWorkerMessage(p, e.data);
  worker.onerror = (e) => onWorkerMessage(p, { type: "fatal", message: "the classifier failed: " + e.message });
  const ready = new Promise((resolve, reject) => { p.waiting = { resolve, reject }; });
  worker.postMessage({ type: "init", module: await module });
  await ready;
  return p;
}

// loadInto gives a pool worker the weights (transferred) and resolves to
// the load's info.
function loadInto(p, bytes) {
  const done = new Promise((resolve, reject) => { p.waiting = { resolve, reject }; });
  p.worker.postMessage({ type: "load", bytes }, [bytes.buffer]);
  return done;
}

function onWorkerMessage(p, msg) {
  switch (msg.type) {
    case "ready":
      if (p.waiting) p.waiting.resolve();
      return;
    case "bench":
      post(msg);
      return;
    case "loaded":
      if (p.waiting) msg.error ? p.waiting.reject(new Error(msg.error)) : p.waiting.resolve(msg.info);
      return;
    case "fatal":
      fatal = msg.message;
      if (p.waiting) p.waiting.reject(new Error(msg.message));
      if (p.job) post({ type: "result", id: p.job.id, error: msg.message });
      post({ type: "fatal", message: msg.message });
      return;
    case "result": {
      p.busy = false;
      p.job = null;
      const r = msg.error ? { type: "result", id: msg.id, error: msg.error }
        : {
          type: "result", id: msg.id, probs: msg.probs, best: msg.best, label: msg.label, classes: loaded.classes, ms: msg.ms,
          tta: msg.tta, resample: msg.resample,
          heat: msg.heat, heatW: msg.heatW, heatH: msg.heatH, camSide: msg.camSide, heatError: msg.heatError,
        };
      post(r);
      dispatch();
      return;
    }
  }
}

// dispatch hands waiting photos to idle workers that hold the current
// weights, in the order the photos came.
function dispatch() {
  if (!loaded || loading) return;
  for (const p of pool) {
    if (p.busy || p.version !== loaded.version || jobs.length === 0) continue;
    const job = jobs.shift();
    p.busy = true;
    p.job = job;
    post({ type: "start", id: job.id });
    p.worker.postMessage({ type: "classify", id: job.id, file: job.file, tta: job.tta });
  }
}

// weights returns {bytes, cached}: the weights of export version of run
// from Cache Storage, else downloaded (and then cached, replacing any
// other export, when run and version are known and the cache is there: it
// needs a secure context, e.g. http://127.0.0.1).
async function weights(version, run, url) {
  const key = run && version > 0 && self.caches
    ? new URL("weights-cache/" + encodeURIComponent(run) + "/" + version + "/" + VARIANTS, self.location.href).href
    : "";
  let cache = null;
  if (key) {
    try {
      cache = await caches.open(CACHE);
      const hit = await cache.match(key);
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        post({ type: "weights", state: "loading", loaded: bytes.length, total: bytes.length });
        return { bytes, cached: true };
      }
    } catch (err) {
      cache = null; // storage refused (quota, private mode): download
    }
  }
  const bytes = await download(url);
  if (cache) {
    try {
      for (const old of await cache.keys()) await cache.delete(old);
      await cache.put(key, new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
    } catch (err) {
      // Not cached: the next load downloads again.
    }
  }
  return { bytes, cached: false };
}

// download streams GET url?variant=… (relative to this script, e.g.
// weights or api/runs/NAME/weights), reporting progress against
// Content-Length at most every 100 ms.
async function download(url) {
  const resp = await fetch(url + "?variant=" + VARIANTS, { cache: "no-store" });
  if (resp.status === 404) {
    throw new Error("no exported weights yet; the trainer exports them after its first epoch");
  }
  if (!resp.ok) throw new Error("GET /" + url + ": HTTP " + resp.status);
  const total = Number(resp.headers.get("Content-Length")) || 0;
  let buf = new Uint8Array(total || (1 << 20));
  let n = 0;
  let last = 0;
  const reader = resp.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.length > buf.length) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, n + value.length));
      bigger.set(buf.subarray(0, n));
      buf = bigger;
    }
    buf.set(value, n);
    n += value.length;
    const now = performance.now();
    if (now - last > 100) {
      last = now;
      post({ type: "weights", state: "loading", loaded: n, total });
    }
  }
  if (total && n !== total) throw new Error("download cut short: " + n + " of " + total + " bytes");
  post({ type: "weights", state: "loading", loaded: n, total: total || n });
  return buf.subarray(0, n);
}
