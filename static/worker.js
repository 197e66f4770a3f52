// The pool: the dashboard page's one Web Worker. It keeps the page's
// thread free: it gets the exported weights once (the most compact variant the server
// has: int8, else fp16, else fp32), keeps them in the browser's Origin
// Private File System (OPFS) named by run and export, so that a reload does
// not download them again, and classifies the photos the page posts on a
// pool of classifier workers (static/infer.js, each running worker.wasm:
// Go, shared/classify), several photos at once.
//
// A classifier worker reads a cached file straight into its Go memory
// (a synchronous OPFS read into the buffer Go allocated), so a reload
// copies the weights once. Downloaded weights are written to the OPFS
// (to NAME.part, then renamed, so a half-written file is never read) and
// passed from one pool worker to the next by transfer, without copies.
// The page (index.html) starts this worker at once when the OPFS holds
// weights, and the worker preloads them, so that a returning user's
// first photo need not wait.
//
// The pool has navigator.hardwareConcurrency − 1 workers (at least 1),
// fewer when their memory would pass a quarter of navigator.deviceMemory:
// each holds its own copy of the weights file (an int8 file's weights stay
// int8 in the worker) plus the transformed conv weights and buffers, about
// the file's size + 1.3 bytes per parameter + 32 MB (≈ 165 MB for the full
// AlexNet in int8, 340 MB in fp32; measured: a Go heap of 126 MB after the
// first photo with the int8 file, 300 MB with fp32). Go's wasm cannot
// share memory between instances, so the copies are not shared. The page
// may set the size with ?workers=N on its own URL (passed on in this
// script's URL). Each photo runs on one worker: a photo's layers are not
// split across workers. A worker's load defers the Winograd transforms of
// conv3–5 (alexnet.LoadDeferred: 50 MB for the full model), so that the
// first photo after a load does not wait for them; its first photos run
// conv3–5 on the slower im2col path, and it builds them (prepare) once no
// photo waits (see dispatch).
//
// Page → worker:
//   {type: "module", module} | {type: "module", error}  with ?module=page
//       on this script's URL: worker.wasm, compiled by the page (or why
//       it could not be)
//   {type: "hello", batch}                   the page listens now: say the
//       worker's and the weights' state again (the page may have created
//       this worker before its code ran); with batch, send the messages
//       from now on in batches (see post)
//   {type: "classify", id, file, tta, version, run, weights}  file: a File
//       or Blob; version: the export the page knows of (reload the weights
//       when newer; 0 = any); run: the run's id ("" = unknown; with the
//       version it names the cached weights; another run reloads them);
//       weights: their URL, relative to this script (default "weights",
//       the server's default run; e.g. api/runs/NAME/weights).
//   {type: "classify", jobs: [{id, file, tta}], thumbs, version, run, weights}
//       several photos at once; with thumbs, the worker makes their object
//       URLs (which cost the page's thread a few ms each) and replies
//       "queued" (the page revokes them)
// Worker → page:
//   {type: "ready", ms}                     the classifier can start
//   {type: "fatal", message}                it could not start
//   {type: "weights", state: "loading", loaded, total}
//   {type: "weights", state: "ready", info, version, downloadMs}
//       info.variant: fp32, fp16 or int8; info.cached: read from the
//       OPFS; info.readMs: the download or read; info.ms: Go's load;
//       info.workers: the pool workers that hold the weights (sent
//       again as each further worker of the pool loads them);
//       info.warm: the classifier's code has been warmed up (see warm;
//       sent again once it is)
//   {type: "weights", state: "error", message}
//   {type: "queued", urls}                  urls: by job id, its file's object URL
//   {type: "start", id}
//   {type: "result", id, probs, best, label, classes, ms, heat, heatW, heatH, camSide}
//       heat: per class, its Grad-CAM heatmap, a PNG of heatW×heatH (the
//       photo's aspect) as a Uint8Array; heatError instead when it could
//       not be drawn
//   {type: "result", id, error}
//       classes: the head's (the taught one's, when it answered: taught)
// For benchmarks, once a photo was classified:
//   page → {type: "bench", id, n};  worker → {type: "bench", id, forwardMs, camMs}
//
// The messages' Go types, which the page (wasm/app) and the classifiers
// (wasm/worker) use, are in wasm/protocol; its tests check this file and
// taught.js against them. Teaching (the Teach panel's messages, the taught
// head and its IndexedDB store) is in taught.js, loaded at the end.
"use strict";

// script is the URL of one of the pool's scripts: the versioned one the
// page gave (index.html: taught, infer, exec), else its plain name.
const SCRIPTS = new URL(self.location.href).searchParams;
function script(key, name) {
  return SCRIPTS.get(key) || name;
}

// The variants asked for, most wanted first (see GET /weights?variant=).
const VARIANTS = "int8,fp16,fp32";
// Cached weights are the OPFS file PREFIX + run + "~" + version + "~" +
// VARIANTS (run URI-encoded); it holds one export at a time.
const PREFIX = "weights~";

// post sends a message to the page (a result's heatmaps transferred).
// Once the page asked for batches (its hello says batch), the messages
// posted in one task (a photo's result and the next one's start, the
// first photos' starts) go as one:
//   {type: "batch", json, heat}  json: the messages, as a JSON array
//       (without their heatmaps); heat: [id, heatmaps, id, heatmaps, …]
// so that the page's thread handles one event and parses one string.
let batched = false;
let outbox = null;
function post(msg) {
  if (!batched) {
    self.postMessage(msg, heatBuffers(msg));
    return;
  }
  if (!outbox) {
    outbox = [];
    queueMicrotask(flush);
  }
  outbox.push(msg);
}

function flush() {
  const msgs = outbox;
  outbox = null;
  const heat = [];
  const transfer = [];
  for (const m of msgs) {
    if (!m.heat) continue;
    heat.push(m.id, m.heat);
    transfer.push(...heatBuffers(m));
  }
  const json = JSON.stringify(msgs, (key, value) => key === "heat" ? undefined : value);
  self.postMessage({ type: "batch", json, heat }, transfer);
}

// heatBuffers are the buffers of a result's heatmaps, to transfer.
function heatBuffers(msg) {
  return msg.heat ? msg.heat.map((png) => png.buffer) : [];
}

// worker.wasm, compiled once and instantiated by every pool worker; the
// first worker starts right away (its script loads while the module
// compiles), the others once the model is known. With ?module=page the
// page compiles it and sends it (see the "module" message); else this
// worker does.
let gotModule = null;
const module = new URL(self.location.href).searchParams.get("module") === "page"
  ? new Promise((resolve, reject) => { gotModule = { resolve, reject }; })
  : WebAssembly.compileStreaming(fetch("worker.wasm"));
const first = spawn();
first.then(() => post({ type: "ready", ms: performance.now() }))
  .catch((e) => {
    fatal = "could not start the classifier: " + (e && e.message || e);
    post({ type: "fatal", message: fatal });
  });

let loaded = null;   // {run, url, version, info, classes}
let loading = null;  // {version, promise} of the load under way
let growing = Promise.resolve(); // the pool workers still loading
const pool = [];     // {worker, version, busy, job, waiting, prepared, quiet}
// Work waiting for a worker: photos to classify {id, file, tta}, and
// teaching's jobs {kind: "features", id, file}, {kind: "teach", …} and
// {kind: "export"}.
const jobs = [];
let fatal = "";

// A reload finds the weights of the last export in the OPFS: load them
// now, while the page starts (looking while worker.wasm compiles), so that
// its first photo need not wait. The page's first message says whether
// they are still the current ones.
const preload = (async () => {
  const f = await cachedFile();
  if (!f || loading || loaded) return;
  const m = /^weights~([^~]*)~(\d+)~/.exec(f.name);
  if (m) await ensureLoaded(Number(m[2]), decodeURIComponent(m[1]), "weights", true);
})().catch(() => {});

self.onmessage = (e) => {
  const msg = e.data;
  if (msg && msg.type === "module") {
    if (gotModule) msg.module ? gotModule.resolve(msg.module) : gotModule.reject(new Error(msg.error));
    return;
  }
  if (msg && msg.type === "hello") {
    if (msg.batch) batched = true;
    first.then(() => post({ type: "ready", ms: performance.now() }), () => {});
    if (fatal) post({ type: "fatal", message: fatal });
    if (loaded) post({ type: "weights", state: "ready", info: loaded.info, version: loaded.version, downloadMs: loaded.downloadMs });
    else if (loading) post({ type: "weights", state: "loading", loaded: 0, total: 0 });
    restored.then(() => {
      post(teachState());
      if (teach.status) post(JSON.parse(teach.status));
    });
    return;
  }
  if (msg && TEACH_MESSAGES.has(msg.type)) {
    restored.then(() => onTeachMessage(msg));
    return;
  }
  if (msg && msg.type === "bench") {
    // Once the pool is idle (a worker may be preparing after its photo).
    idle().then(() => {
      const p = pool.find((p) => loaded && p.version === loaded.version && !p.busy);
      if (!p) post({ type: "bench", id: msg.id, error: "no idle classifier holds weights: classify a photo first" });
      else p.worker.postMessage({ type: "bench", id: msg.id, n: msg.n });
    });
    return;
  }
  if (!msg || msg.type !== "classify") return;
  const urls = {};
  for (const j of msg.jobs || [msg]) {
    jobs.push({ id: j.id, file: j.file, tta: !!j.tta });
    if (msg.thumbs) urls[j.id] = URL.createObjectURL(j.file);
  }
  if (msg.thumbs) post({ type: "queued", urls });
  withWeights(msg, dispatch);
};

// withWeights loads the weights msg names (its version, run and weights,
// see classify), then calls then; failing, every job waiting fails with
// the same error.
function withWeights(msg, then) {
  preload.then(() => ensureLoaded(msg.version || 0, msg.run || "", msg.weights || "weights")).then(then, (err) => {
    const message = String(err && err.message || err);
    for (const j of jobs.splice(0)) jobError(j, "weights: " + message);
  });
}

// jobError tells the page that a job (a photo to classify, a photo's
// features, a fit or an export) failed.
function jobError(job, message) {
  switch (job.kind) {
    case "features":
      post({ type: "teachPhoto", id: job.id, error: message });
      return;
    case "teach":
      post({ type: "taught", error: message });
      return;
    case "export":
      self.postMessage({ type: "teachExport", error: message });
      return;
  }
  post({ type: "result", id: job.id, error: message });
}

// ensureLoaded loads the weights of export version (or newer) of run, at
// url, into the pool, once: concurrent callers wait for the same load.
// Version 0 accepts whatever is loaded; a run "" (the page does not know it
// yet) is told apart by its URL. With cacheOnly (the preload, which knows
// no URL) it loads only cached weights.
function ensureLoaded(version, run, url, cacheOnly) {
  const same = (have) => !(version > have.version) &&
    (run && have.run ? run === have.run : url === have.url);
  if (loaded && same(loaded)) return Promise.resolve();
  if (loading && same(loading)) return loading.promise;
  const promise = (loading ? loading.promise : Promise.resolve()).catch(() => {}).then(() => load(version, run, url, cacheOnly));
  loading = { run, url, version, promise };
  promise.then(() => {
    if (loading && loading.promise === promise) loading = null;
    dispatch(); // an idle worker prepares
  },
    (err) => {
      if (loading && loading.promise === promise) loading = null;
      post({ type: "weights", state: "error", message: String(err && err.message || err) });
    });
  return promise;
}

// load gets the weights, loads them into the first pool worker, which then
// classifies, and into the rest of the pool in the background. Cached
// weights that do not load (a damaged file) are deleted and, unless
// cacheOnly, downloaded again.
async function load(version, run, url, cacheOnly) {
  if (fatal) throw new Error(fatal);
  await restored; // the kept features are checked against the weights
  const t0 = performance.now();
  post({ type: "weights", state: "loading", loaded: 0, total: 0 });
  let src = await weights(version, run, url);
  const downloadMs = performance.now() - t0;
  await growing;
  await idle();
  for (const p of pool) p.version = -1;
  const head = pool.length > 0 ? pool[0] : await first;
  if (pool.length === 0) pool.push(head);
  let info;
  try {
    info = await loadInto(head, src);
  } catch (err) {
    if (!src.cached || fatal) throw err;
    console.warn("pawnet: the cached weights did not load (" + (err && err.message || err) + "); deleted");
    await forget();
    if (cacheOnly) throw err;
    src = await weights(version, run, url);
    info = await loadInto(head, src);
  }
  head.version = version;
  const size = poolSize(info.params, info.bytes);
  while (pool.length > size) pool.pop().worker.terminate();
  info.cached = src.cached;
  info.workers = 1;
  info.warm = warmDone;
  loaded = { run, url, version, info, classes: info.classes, downloadMs };
  post({ type: "weights", state: "ready", info, version, downloadMs });
  forgetStale(info.dense);
  sendHead(head);
  // Warm up now (after a cached load: a download warmed up meanwhile),
  // unless a photo is waiting: it warms the code up itself.
  if (jobs.length === 0) warm(head);
  growing = grow(version, src, size).catch((err) => console.warn("pawnet: pool worker: " + err));
}

// grow loads the weights into pool workers 1..size-1, starting the
// missing ones, and lets each take photos as soon as it is ready.
async function grow(version, src, size) {
  for (let i = 1; i < size; i++) {
    if (!loaded || loaded.version !== version) return;
    if (i >= pool.length) pool.push(await spawn());
    await loadInto(pool[i], src);
    pool[i].version = version;
    sendHead(pool[i]);
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

// warm has pool worker p run a photo's code once (infer.js's warmup: on
// its weights, or on a small made-up model before it has any), so that
// the browser has optimized that code before the first photo needs it.
// The pool's workers share the compiled module, so this is done once.
// p counts as busy meanwhile; when done, the weights' info says warm.
let warmed = false; // a warm-up was started
let warmDone = false; // and finished
function warm(p) {
  if (warmed || p.busy || fatal) return;
  warmed = true;
  p.busy = true;
  p.worker.postMessage({ type: "warmup" });
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
  const url = new URL(script("infer", "infer.js"), self.location.href);
  url.searchParams.set("exec", script("exec", "wasm_exec.js"));
  const worker = new Worker(url);
  // quiet: "head" replies to ignore (an export's own setHead and useHead)
  const p = { worker, version: -1, busy: false, job: null, waiting: null, prepared: false, quiet: 0 };
  worker.onmessage = (e) => onWorkerMessage(p, e.data);
  worker.onerror = (e) => onWorkerMessage(p, { type: "fatal", message: "the classifier failed: " + e.message });
  const ready = new Promise((resolve, reject) => { p.waiting = { resolve, reject }; });
  try {
    worker.postMessage({ type: "init", module: await module });
    await ready;
  } catch (err) {
    worker.terminate();
    throw err;
  }
  return p;
}

// loadInto loads the weights src (see weights) into a pool worker and
// resolves to the load's info. A cached file the worker reads itself;
// bytes are transferred there and back, so the next worker gets them
// without a copy.
async function loadInto(p, src) {
  p.prepared = false;
  const done = new Promise((resolve, reject) => { p.waiting = { resolve, reject }; });
  if (src.cached) p.worker.postMessage({ type: "loadFile", name: src.name });
  else p.worker.postMessage({ type: "load", bytes: src.bytes }, [src.bytes.buffer]);
  const msg = await done;
  if (msg.bytes) src.bytes = msg.bytes;
  return msg.info;
}

function onWorkerMessage(p, msg) {
  switch (msg.type) {
    case "ready":
      if (p.waiting) p.waiting.resolve();
      return;
    case "bench":
      self.postMessage(msg); // to a benchmark, never batched
      return;
    case "warm":
      p.busy = false;
      if (msg.error) console.warn("pawnet: warm-up: " + msg.error);
      else warmDone = true;
      if (msg.prepared) p.prepared = true;
      if (warmDone && loaded && !loaded.info.warm) {
        loaded.info.warm = true;
        post({ type: "weights", state: "ready", info: loaded.info, version: loaded.version, downloadMs: loaded.downloadMs });
      }
      dispatch();
      return;
    case "prepared":
      p.busy = false;
      // Failing, the worker goes on with the slower conv path.
      if (msg.error) console.warn("pawnet: prepare: " + msg.error);
      p.prepared = true;
      dispatch();
      return;
    case "loaded":
      if (p.waiting) msg.error ? p.waiting.reject(new Error(msg.error)) : p.waiting.resolve(msg);
      return;
    case "fatal":
      fatal = msg.message;
      if (p.waiting) p.waiting.reject(new Error(msg.message));
      if (p.job) jobError(p.job, msg.message);
      post({ type: "fatal", message: msg.message });
      return;
    case "features":
    case "teachProgress":
    case "taught":
    case "head":
    case "exported":
      onTeachReply(p, msg);
      return;
    case "result": {
      p.busy = false;
      p.job = null;
      // A wasm/protocol Result, passed on whole (the page reads it).
      const r = msg.error ? { type: "result", id: msg.id, error: msg.error }
        : { ...msg, classes: msg.classes || loaded.classes, taught: !!msg.taught };
      post(r);
      dispatch();
      return;
    }
  }
}

// dispatch hands waiting photos to idle workers that hold the current
// weights, in the order the photos came. When no photo waits, an idle
// worker that has not yet built the conv transforms its load deferred
// builds them now (prepare: about 0.3 s for the full model), so that a
// first photo after a load need not wait for them, and the next ones run
// at full speed.
function dispatch() {
  if (!loaded || loading) return;
  for (const p of pool) {
    if (p.busy || p.version !== loaded.version) continue;
    if (jobs.length === 0) {
      if (!p.prepared) {
        p.busy = true;
        p.worker.postMessage({ type: "prepare" });
      }
      continue;
    }
    const job = jobs.shift();
    p.busy = true;
    p.job = job;
    switch (job.kind) {
      case "features":
        p.worker.postMessage({ type: "features", id: job.id, file: job.file });
        break;
      case "teach":
        p.worker.postMessage({
          type: "teach", id: job.id, features: job.features, n: job.n, labels: job.labels, classes: job.classes, seed: job.seed,
        }, [job.features.buffer]);
        break;
      case "export":
        exportOn(p, job);
        break;
      default:
        post({ type: "start", id: job.id });
        p.worker.postMessage({ type: "classify", id: job.id, file: job.file, tta: job.tta });
    }
  }
}

// weights returns the weights of export version of run: {cached: true,
// name} when the OPFS holds them (the pool workers read the file), else
// {cached: false, bytes} downloaded, which it saves to the OPFS, replacing
// any other export, when run and version are known and the OPFS is there
// (it needs a secure context, e.g. http://127.0.0.1).
async function weights(version, run, url) {
  const name = run && version > 0 ? PREFIX + encodeURIComponent(run) + "~" + version + "~" + VARIANTS : "";
  if (name) {
    const f = await cachedFile();
    if (f && f.name === name) {
      post({ type: "weights", state: "loading", loaded: f.size, total: f.size });
      return { cached: true, name };
    }
  }
  const bytes = await download(url);
  if (name) await save(name, bytes);
  return { cached: false, bytes };
}

// opfs resolves to the OPFS root folder, or null where there is none.
async function opfs() {
  try {
    return self.navigator.storage && navigator.storage.getDirectory ? await navigator.storage.getDirectory() : null;
  } catch (err) {
    return null; // not a secure context, or storage refused
  }
}

// cachedFile resolves to {name, size} of the cached weights, or null.
async function cachedFile() {
  const root = await opfs();
  if (!root) return null;
  try {
    for await (const [name, h] of root.entries()) {
      if (h.kind === "file" && name.startsWith(PREFIX) && !name.endsWith(".part")) {
        return { name, size: (await h.getFile()).size };
      }
    }
  } catch (err) {
    // unreadable: as if empty
  }
  return null;
}

// forget deletes every cached weights file (and any half-written one).
async function forget() {
  const root = await opfs();
  if (!root) return;
  const names = [];
  for await (const [name] of root.entries()) if (name.startsWith(PREFIX)) names.push(name);
  for (const name of names) await root.removeEntry(name).catch(() => {});
}

// save writes bytes to the OPFS file name, through name.part and a rename,
// after deleting the other exports' files. Failing (quota, no OPFS) only
// means the next load downloads again.
async function save(name, bytes) {
  const root = await opfs();
  if (!root) return;
  let fh = null;
  try {
    await forget();
    fh = await root.getFileHandle(name + ".part", { create: true });
    const h = await fh.createSyncAccessHandle();
    try {
      h.truncate(0);
      const n = h.write(bytes, { at: 0 });
      if (n !== bytes.length) throw new Error("wrote " + n + " of " + bytes.length + " bytes");
      h.flush();
    } finally {
      h.close();
    }
    await fh.move(name);
  } catch (err) {
    console.warn("pawnet: weights not cached: " + (err && err.message || err));
    if (fh) await root.removeEntry(name + ".part").catch(() => {});
  }
}

// download streams GET url?variant=… (relative to this script, e.g.
// weights or api/runs/NAME/weights), reporting progress against
// Content-Length at most every 100 ms.
async function download(url) {
  // The first pool worker warms up meanwhile.
  first.then((p) => { if (pool.length === 0 || pool[0] === p) warm(p); }, () => {});
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

// Teaching: the Teach panel's messages and the taught head's store.
importScripts(script("taught", "taught.js"));
